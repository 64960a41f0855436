"""The frontend's error: a layer that cannot be lowered onto a config."""
from __future__ import annotations


class LoweringError(ValueError):
    """A layer cannot be lowered onto a config; the message says why and what to change."""
