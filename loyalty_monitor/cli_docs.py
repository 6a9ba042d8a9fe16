"""docs/cli.md is generated from the commands' own help, so the reference never drifts from the code.

python -m loyalty_monitor.cli_docs > docs/cli.md
"""

from __future__ import annotations

import click

from loyalty_monitor.cli import main

__all__ = ["render_cli_docs"]


def _walk(cmd: click.Command, path: list[str], out: list[str], parent: click.Context | None = None) -> None:
    ctx = click.Context(
        cmd,
        info_name=path[-1],
        parent=parent,
        terminal_width=100,
        max_content_width=100,
        **cmd.context_settings,
    )
    out.append(f"## `{' '.join(path)}`\n")
    out.append("```text")
    out.append(cmd.get_help(ctx).rstrip())
    out.append("```\n")
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, name)
            if sub is not None:
                _walk(sub, [*path, name], out, ctx)


def render_cli_docs() -> str:
    """The whole CLI reference as Markdown."""
    out = ["# CLI reference", "", "Generated from `loyalty-monitor --help`; do not edit by hand.", ""]
    _walk(main, ["loyalty-monitor"], out)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    click.echo(render_cli_docs(), nl=False)
