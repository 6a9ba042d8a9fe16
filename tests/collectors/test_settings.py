"""A source that changes a common key's default keeps the bounds :class:`SourceSettings` checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from collectors.registry import COLLECTORS
from collectors.settings import SourceSettings


@pytest.mark.parametrize("name", sorted(COLLECTORS))
def test_common_keys_keep_their_bounds(name: str) -> None:
    model = COLLECTORS[name].settings_model
    for key, common in SourceSettings.model_fields.items():
        assert model.model_fields[key].metadata == common.metadata, f"{name}.{key} lost its bounds"


@pytest.mark.parametrize("name", sorted(COLLECTORS))
@pytest.mark.parametrize(
    ("key", "value"), [("requests_per_s", 0), ("rate_period_s", 0), ("max_pages", 0), ("overlap_s", -1)]
)
def test_out_of_bounds_values_are_rejected(name: str, key: str, value: float) -> None:
    with pytest.raises(ValidationError):
        COLLECTORS[name].settings_model.model_validate({key: value})
