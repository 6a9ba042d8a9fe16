"""The ``loyalty-monitor`` command line: one group, with each package contributing its own commands."""

from __future__ import annotations

import click

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Brand loyalty monitor for Russian-speaking social media."""


def _register() -> None:
    from sentiment.cli import sentiment

    main.add_command(sentiment)


_register()
