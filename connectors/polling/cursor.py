"""Cursor arithmetic for incremental reads, as pure functions.

Both APIs filter changes with a *strictly greater than* bound on a timestamp
(PowerOffice Go's `lastChangedDateTimeOffsetGreaterThan`, Chargebee's `updated_at[after]`).
Records that share the bound's timestamp — at a page boundary, or when a poller dies
between two pages — are the classic way to lose changes. So a cursor keeps:

- ``high_water``: the highest position (timestamp) among records already published and
  acknowledged;
- ``seen``: the (id, version) marks of published records whose position lies inside the
  overlap window ``(high_water - overlap, high_water]``.

The next read asks for everything after ``high_water - overlap`` (`window_start`), drops
what is in ``seen`` (`select_unseen`), and after the broker acknowledged the rest, moves
the cursor with `advance`, which also forgets marks that fell out of the window and so can
never come back. Positions are integers in the API's own unit (100-ns ticks, or seconds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Cursor", "RecordMark", "advance", "select_unseen", "window_start"]


@dataclass(frozen=True, slots=True)
class RecordMark:
    """One record version as the cursor sees it."""

    id: str
    version: int
    position: int

    @property
    def token(self) -> str:
        return f"{self.id}@{self.version}"


@dataclass(frozen=True, slots=True)
class Cursor:
    high_water: int | None = None
    seen: Mapping[str, int] = field(default_factory=dict)  # token → position

    def to_json(self) -> dict[str, Any]:
        return {"high_water": self.high_water, "seen": dict(self.seen)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cursor:
        high = data.get("high_water")
        seen = data.get("seen") or {}
        if high is not None and not isinstance(high, int):
            raise ValueError("high_water must be an integer or null")
        if not isinstance(seen, dict) or not all(isinstance(v, int) for v in seen.values()):
            raise ValueError("seen must map tokens to integer positions")
        return cls(high_water=high, seen=dict(seen))


def window_start(cursor: Cursor, overlap: int) -> int | None:
    """The exclusive lower bound of the next read: None reads everything."""
    if overlap < 0:
        raise ValueError("overlap must not be negative")
    if cursor.high_water is None:
        return None
    return cursor.high_water - overlap


def select_unseen(cursor: Cursor, marks: Iterable[RecordMark]) -> list[RecordMark]:
    """The marks not published before, each once, in the order given."""
    fresh: list[RecordMark] = []
    tokens: set[str] = set()
    for mark in marks:
        if mark.token in cursor.seen or mark.token in tokens:
            continue
        tokens.add(mark.token)
        fresh.append(mark)
    return fresh


def advance(cursor: Cursor, published: Iterable[RecordMark], overlap: int) -> Cursor:
    """The cursor after ``published`` were acknowledged by the broker.

    The high-water mark never moves backwards. Marks at or below the new window start are
    dropped: the next read cannot return them, so remembering them would only grow the cursor.
    """
    published = list(published)
    high = cursor.high_water
    for mark in published:
        if high is None or mark.position > high:
            high = mark.position
    if high is None:
        return cursor
    floor = high - overlap
    seen = {token: pos for token, pos in cursor.seen.items() if pos > floor}
    for mark in published:
        if mark.position > floor:
            seen[mark.token] = mark.position
    return Cursor(high_water=high, seen=seen)
