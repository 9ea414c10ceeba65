"""Page-number paging for PowerOffice Go lists: it only answers "more? which page next?".

The API pages with `PageNumber` (from 1) and `PageSize` (default 5000, at most 20000). An
`X-Pagination` header is unverified, so the stop rules rely on nothing but the bodies:
stop at a 204 (an empty list) or at a page shorter than `PageSize`. A server that ignores
`PageNumber` would send the same full page for ever; the paginator refuses a page equal
to the one before and caps the number of pages, so a listing always ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from connectors.exceptions import PermanentApiError

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "PageNumberPaginator"]

DEFAULT_PAGE_SIZE = 5000
MAX_PAGE_SIZE = 20000


def _fingerprint(records: Sequence[Mapping[str, Any]]) -> object:
    ids = tuple(r.get("Id") for r in records)
    if all(isinstance(i, int) for i in ids):
        return ids
    return orjson.dumps(list(records), option=orjson.OPT_SORT_KEYS)


class PageNumberPaginator:
    """Decides the next `PageNumber` after each page, or that the listing is complete."""

    def __init__(self, page_size: int = DEFAULT_PAGE_SIZE, *, max_pages: int = 100_000) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self.page_size = page_size
        self.max_pages = max_pages
        self.page_number = 1
        self._previous: object = None

    def advance(self, records: Sequence[Mapping[str, Any]]) -> int | None:
        """Given the records of the current page (empty for a 204), return the next page
        number, or None when the listing is complete."""
        if len(records) < self.page_size:
            return None
        fingerprint = _fingerprint(records)
        if fingerprint == self._previous:
            raise PermanentApiError(
                f"page {self.page_number} repeated page {self.page_number - 1}: "
                "the server seems to ignore PageNumber; stopping instead of looping",
                system="poweroffice",
            )
        if self.page_number >= self.max_pages:
            raise PermanentApiError(
                f"listing exceeded {self.max_pages} pages of {self.page_size}; stopping",
                system="poweroffice",
            )
        self._previous = fingerprint
        self.page_number += 1
        return self.page_number
