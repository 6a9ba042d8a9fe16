"""Brand and label columns of an import file, checked against the config and turned into tagging hints.

The importer only knows the label words; whether ``brand`` names one of *our* configured brands (by name or
alias) is known here, where the config is. An unknown brand is a line error like any other bad field, and
the row is left out rather than linked to a brand nobody watches.
"""

from __future__ import annotations

from collections.abc import Sequence

from collectors.importer import ImportRowError, LabelledMention
from core.mention import Mention
from loyalty_monitor.tagging import Hint, Tagger

__all__ = ["hint_for", "label_source"]


def label_source(path_name: str) -> str:
    """The ``model_version`` recorded for labels kept from the file ``path_name``."""
    return f"import:{path_name}"[:64]


def hint_for(
    line_no: int, mention: Mention, tagger: Tagger, source: str
) -> tuple[Sequence[Hint], ImportRowError | None]:
    """The hints a row carries (none for a plain mention), or the line error of a brand not configured."""
    if not isinstance(mention, LabelledMention):
        return (), None
    brand: str | None = None
    if mention.brand is not None:
        brand = tagger.resolve_brand(mention.brand)
        if brand is None:
            known = ", ".join(sorted(set(tagger.brand_names())))
            return (), ImportRowError(
                line_no, "brand", f"{mention.brand[:40]!r} is not a configured brand or alias ({known})"
            )
    return (Hint(brand, mention.label, source),), None
