"""Where the public sentiment data sets are (``../shared/datasets``); tests that need one skip without it.

A module of its own, so tests share the path without importing a conftest."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATASETS"]

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
