"""Chargebee's offset paging: answers "more? next offset?" and nothing else.

A list answer carries ``next_offset`` only when another page exists; the offset is opaque.
The paginator refuses an offset it has already followed, so a misbehaving server cannot
loop a listing forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.exceptions import PermanentApiError

__all__ = ["OffsetPaginator", "Page", "RepeatedOffsetError", "follow_offsets", "next_offset_of"]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: the unwrapped records and the offset of the next page, if any."""

    items: list[dict[str, Any]]
    next_offset: str | None


class RepeatedOffsetError(PermanentApiError):
    """Chargebee handed out an offset twice; the listing would never end. Report it."""


def next_offset_of(body: Mapping[str, Any]) -> str | None:
    """The ``next_offset`` of a list answer, or None on the last page."""
    value = body.get("next_offset")
    if value is None or value == "":
        return None
    return str(value)


@dataclass(slots=True)
class OffsetPaginator:
    """Follows ``next_offset`` from page to page, refusing to follow one offset twice."""

    _seen: set[str] = field(default_factory=set)
    finished: bool = False

    def advance(self, next_offset: str | None) -> str | None:
        """Record the offset a page answered; return the offset to ask for next, or None."""
        if next_offset is None:
            self.finished = True
            return None
        if next_offset in self._seen:
            self.finished = True
            raise RepeatedOffsetError(
                "the API returned an offset it had already returned; stopping the listing",
                system="chargebee",
            )
        self._seen.add(next_offset)
        return next_offset


async def follow_offsets(fetch: Callable[[str | None], Awaitable[Page]]) -> AsyncIterator[Page]:
    """Every page of a list, following `next_offset` from ``fetch(None)`` on."""
    paginator = OffsetPaginator()
    offset: str | None = None
    while True:
        page = await fetch(offset)
        yield page
        offset = paginator.advance(page.next_offset)
        if offset is None:
            return
