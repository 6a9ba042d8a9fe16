"""Docs that tests guard: the CLI reference is generated from the commands' help and must be current."""

from __future__ import annotations

from pathlib import Path

from loyalty_monitor.cli_docs import render_cli_docs

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == render_cli_docs(), "regenerate: python -m loyalty_monitor.cli_docs > docs/cli.md"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "make demo" in first_block and "make test" in first_block
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").count("make test") == 1
