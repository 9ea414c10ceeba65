"""The operator's command line, `ledgerlink` (design §6)."""

from __future__ import annotations

from streams.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
