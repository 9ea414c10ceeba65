"""The one page loop of PowerOffice Go lists, and the rules that keep it finite.

The API pages with `PageNumber` (from 1) and `PageSize` (default 5000, at most 20000). An
`X-Pagination` header is unverified, so `iter_pages` relies on nothing but the bodies: it
stops at a 204 (an empty list) or at a page shorter than `PageSize`. Which page to ask for
after a full one is the caller's answer to "next?": `next_page_number` counts pages, the
change poller restarts from the last timestamp instead. Whatever the answer, a listing
ends: a page equal to the one before it under the same filter means the server ignores
`PageNumber`, and a listing longer than ``max_pages`` pages means it never stops; both
raise `EndlessListingError` rather than loop for ever.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from connectors.exceptions import PermanentApiError
from connectors.poweroffice.resources import Resource

__all__ = [
    "DEFAULT_MAX_PAGES",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "EndlessListingError",
    "NextPage",
    "PageLister",
    "PageRequest",
    "iter_pages",
    "next_page_number",
]

DEFAULT_PAGE_SIZE = 5000
MAX_PAGE_SIZE = 20000
#: Far beyond any real company (100,000 pages of even 1,000 records), yet finite.
DEFAULT_MAX_PAGES = 100_000

Record = Mapping[str, Any]


class PageLister(Protocol):
    """The part of `PowerOfficeClient` a listing needs: one page of one resource."""

    async def list_page(
        self,
        resource: Resource,
        *,
        changed_after: int | None = None,
        page_number: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        order_by: str | None = None,
        contact_ids: Sequence[int] | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page to ask for: the change filter (exclusive, in ticks) and the `PageNumber`."""

    changed_after: int | None = None
    page_number: int = 1


#: Given the request that answered a full page and that page, the request for the next one.
NextPage = Callable[[PageRequest, Sequence[Record]], PageRequest]


def next_page_number(request: PageRequest, records: Sequence[Record]) -> PageRequest:
    """The following `PageNumber` under the same filter."""
    return dataclasses.replace(request, page_number=request.page_number + 1)


class EndlessListingError(PermanentApiError):
    """A PowerOffice Go listing would never end (a page repeated, or far too many pages).

    Report it with the resource named in the message; raise ``max_pages`` only if the
    listing really is that long.
    """


def _fingerprint(records: Sequence[Record]) -> object:
    ids = tuple(r.get("Id") for r in records)
    if all(isinstance(i, int) for i in ids):
        return ids
    return orjson.dumps(list(records), option=orjson.OPT_SORT_KEYS)


async def iter_pages(
    lister: PageLister,
    resource: Resource,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    changed_after: int | None = None,
    order_by: str | None = None,
    fields: Sequence[str] | None = None,
    next_page: NextPage = next_page_number,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every non-empty page of ``resource`` (changed after ``changed_after``), in order.

    Raises `ValueError` for a ``page_size`` the API refuses, and `EndlessListingError`
    when a page repeats the one before it or the listing passes ``max_pages`` pages.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    request = PageRequest(changed_after)
    previous: object = None  # the page before, when this request only stepped PageNumber
    pages = 0
    while True:
        records = await lister.list_page(
            resource,
            changed_after=request.changed_after,
            page_number=request.page_number,
            page_size=page_size,
            order_by=order_by,
            fields=fields,
        )
        pages += 1
        if not records:
            return
        fingerprint = _fingerprint(records)
        if fingerprint == previous:
            raise EndlessListingError(
                f"{resource.value}: page {request.page_number} repeated page "
                f"{request.page_number - 1}; the server seems to ignore PageNumber, so the "
                "listing stops instead of looping",
                system="poweroffice",
            )
        yield records
        if len(records) < page_size:
            return
        if pages >= max_pages:
            raise EndlessListingError(
                f"{resource.value}: listing exceeded {max_pages} pages of {page_size} "
                "records; stopping instead of looping",
                system="poweroffice",
            )
        following = next_page(request, records)
        stepped = (following.changed_after, following.page_number) == (
            request.changed_after,
            request.page_number + 1,
        )
        previous = fingerprint if stepped else None
        request = following
