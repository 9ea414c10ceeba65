"""A string that never shows itself: keys and tokens travel in `Secret` so reprs, logs and
exceptions print a mask instead of the value."""

from __future__ import annotations

__all__ = ["Secret", "mask_email"]


class Secret:
    """Holds a secret value; `reveal()` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


def mask_email(address: str | None) -> str:
    """`kari.nordmann@example.no` → `k***@example.no`, for logs."""
    if not address:
        return ""
    local, sep, domain = address.partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"
