"""Matching business entities by name: `Fjordkraft  AS` and `fjordkraft as` are one name."""

from __future__ import annotations

import unicodedata

__all__ = ["normalise_name"]


def normalise_name(name: str) -> str:
    """Unicode-normalised, case-folded, with runs of white space made one space."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
