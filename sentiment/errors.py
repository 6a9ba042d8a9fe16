"""Typed errors of the sentiment package."""

from __future__ import annotations

__all__ = ["ModelLoadError"]


class ModelLoadError(RuntimeError):
    """A sentiment model could not be loaded; the message names the model and how to obtain it.

    Raised at start-up instead of falling back to another model, so stored labels never come from a model
    other than the one configured.
    """
