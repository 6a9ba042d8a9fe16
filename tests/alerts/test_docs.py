"""docs/alerts.md keeps up with the settings: every key of every rule is in the settings table."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from alerts.settings import AlertsSettings, DestinationSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _keys(ann, f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    cells = set(re.findall(r"`([a-z_.]+)`", text))
    documented = set(cells)
    # a row may name sibling keys after the first: `a.b`, `c`, `d`
    for line in text.splitlines():
        m = re.match(r"\| `([a-z_]+)\.([a-z_]+)`((?:, `[a-z_]+`)*)", line)
        if m:
            documented |= {f"{m.group(1)}.{k}" for k in re.findall(r"`([a-z_]+)`", m.group(3))}
    missing = [k for k in _keys(AlertsSettings) if k not in documented]
    assert not missing, f"docs/alerts.md does not document: {missing}"
    dest_missing = [k for k in DestinationSettings.model_fields if f"`{k}`" not in text]
    assert not dest_missing, f"docs/alerts.md does not document destination keys: {dest_missing}"
