"""How `ledgerlink … --help` shows an option's default.

argparse's `ArgumentDefaultsHelpFormatter` appends ``(default: X)`` to every option,
``None`` and ``False`` included; this one leaves out defaults that say nothing (a flag
that is off, an option that is unset) and options whose help already states its default.
"""

from __future__ import annotations

import argparse

__all__ = ["DefaultsHelpFormatter"]


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` where X is worth reading."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            action.default is None
            or action.default is False
            or action.default is argparse.SUPPRESS
            or "default" in text
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)".lstrip()
