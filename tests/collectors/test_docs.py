"""docs/sources.md keeps up with the registry: a section per source naming its settings, with an example."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from collectors.registry import COLLECTORS
from collectors.settings import SourceSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "sources.md"


def _sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


@pytest.mark.parametrize("name", sorted(COLLECTORS))
def test_every_source_has_a_section(name: str) -> None:
    sections = _sections()
    assert name in sections, f"docs/sources.md has no '## {name}' section"
    body = sections[name]
    for word in ("Credentials", "Limits"):
        assert word in body, f"section {name} does not say its {word.lower()}"
    model = COLLECTORS[name].settings_model
    own = set(model.model_fields) - set(SourceSettings.model_fields)
    missing = sorted(f for f in own if f"`{f}`" not in body)
    assert not missing, f"section {name} does not mention settings {missing}"
    examples = re.findall(r"```toml\n(.*?)```", body, flags=re.S)
    assert examples, f"section {name} has no TOML example"
    table = tomllib.loads(examples[0])["sources"][name]
    model.model_validate(table)  # the example is a valid config


def test_common_settings_are_documented() -> None:
    body = _sections()["Common settings"]
    missing = sorted(f for f in SourceSettings.model_fields if f"`{f}`" not in body)
    assert not missing


def test_vcru_section_says_its_parser_is_inferred() -> None:
    """Until a real vc.ru response is recorded, users are told the parser is built on inference."""
    body = _sections()["vcru"]
    assert "inferred" in body and "recording" in body and "collectors/vcru/parsing.py" in body


def test_cleaning_and_not_a_mention_rules_are_documented() -> None:
    body = _sections()["Text cleaning"]
    assert "clean_text" in body and "zero width" in body and "entities" in body
    rules = body.split("### Not a mention", 1)[1]
    rows = [line for line in rules.splitlines() if line.startswith("|")]
    named = {n.strip() for line in rows for n in line.split("|")[1].split(",")}
    missing = sorted(set(COLLECTORS) - named)
    assert not missing, f"the not-a-mention table has no row for {missing}"
