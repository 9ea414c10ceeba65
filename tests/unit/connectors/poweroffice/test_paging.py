"""The one page loop's stop rules: 204, a short page, and never looping for ever."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from connectors.exceptions import PermanentApiError
from connectors.poweroffice.paging import (
    EndlessListingError,
    NextPage,
    PageRequest,
    iter_pages,
    next_page_number,
)
from connectors.poweroffice.resources import Resource

Pages = Callable[[PageRequest], list[dict[str, Any]]]


def _page(first_id: int, n: int) -> list[dict[str, Any]]:
    return [{"Id": first_id + i} for i in range(n)]


class Lister:
    """Answers each request with ``pages(request)`` and remembers what was asked."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.requests: list[PageRequest] = []
        self.sizes: list[int] = []
        self.fields: list[Sequence[str] | None] = []

    async def list_page(
        self,
        resource: Resource,
        *,
        changed_after: int | None = None,
        page_number: int = 1,
        page_size: int = 5000,
        order_by: str | None = None,
        contact_ids: Sequence[int] | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        request = PageRequest(changed_after, page_number)
        self.requests.append(request)
        self.sizes.append(page_size)
        self.fields.append(fields)
        return self.pages(request)


def numbered(total: int, size: int) -> Pages:
    """A well-behaved server holding ids 1..total."""

    def pages(request: PageRequest) -> list[dict[str, Any]]:
        start = 1 + (request.page_number - 1) * size
        return _page(start, max(0, min(size, total - start + 1)))

    return pages


async def _read(
    lister: Lister,
    page_size: int,
    *,
    next_page: NextPage = next_page_number,
    max_pages: int = 100,
    fields: Sequence[str] | None = None,
) -> list[list[dict[str, Any]]]:
    return [
        page
        async for page in iter_pages(
            lister,
            Resource.EMPLOYEES,
            page_size=page_size,
            next_page=next_page,
            max_pages=max_pages,
            fields=fields,
        )
    ]


async def test_a_full_page_asks_for_the_next_page_number() -> None:
    lister = Lister(numbered(7, 3))
    pages = await _read(lister, 3)
    assert [p.page_number for p in lister.requests] == [1, 2, 3]
    assert [len(p) for p in pages] == [3, 3, 1]


async def test_a_short_page_ends_the_listing() -> None:
    lister = Lister(numbered(2, 3))
    assert await _read(lister, 3) == [_page(1, 2)]
    assert len(lister.requests) == 1


async def test_an_empty_page_as_for_204_ends_the_listing() -> None:
    lister = Lister(numbered(3, 3))
    assert await _read(lister, 3) == [_page(1, 3)]
    assert [p.page_number for p in lister.requests] == [1, 2]


async def test_every_request_carries_the_page_size_and_fields() -> None:
    lister = Lister(numbered(5, 3))
    await _read(lister, 3, fields=["Id"])
    assert lister.sizes == [3, 3]
    assert lister.fields == [["Id"], ["Id"]]


async def test_a_page_repeating_the_previous_one_is_refused() -> None:
    lister = Lister(lambda r: _page(1, 2))
    with pytest.raises(PermanentApiError, match="repeated"):
        await _read(lister, 2)
    assert len(lister.requests) == 2


async def test_a_repeated_page_without_ids_is_refused_too() -> None:
    lister = Lister(lambda r: [{"Name": "a"}])
    with pytest.raises(EndlessListingError, match="repeated"):
        await _read(lister, 1)


async def test_the_same_page_under_a_new_filter_is_not_a_repeat() -> None:
    # A keyset restart reads the last page's records again from just below their timestamp.
    def restart_once(request: PageRequest, records: Sequence[Any]) -> PageRequest:
        if request.changed_after is None:
            return PageRequest(changed_after=5)
        return next_page_number(request, records)

    lister = Lister(lambda r: _page(1, 2) if r.page_number == 1 else [])
    pages = await _read(lister, 2, next_page=restart_once)
    assert pages == [_page(1, 2), _page(1, 2)]
    assert lister.requests == [PageRequest(None, 1), PageRequest(5, 1), PageRequest(5, 2)]


async def test_the_page_cap_stops_an_endless_listing() -> None:
    lister = Lister(lambda r: _page(r.page_number, 1))
    with pytest.raises(PermanentApiError, match="exceeded 3 pages"):
        await _read(lister, 1, max_pages=3)
    assert len(lister.requests) == 3


async def test_the_page_cap_stops_a_listing_whose_filter_never_settles() -> None:
    lister = Lister(lambda r: _page(r.changed_after or 0, 1))

    def restart(request: PageRequest, records: Sequence[Any]) -> PageRequest:
        return PageRequest(changed_after=(request.changed_after or 0) + 1)

    with pytest.raises(EndlessListingError, match="exceeded 4 pages"):
        await _read(lister, 1, next_page=restart, max_pages=4)


async def test_pages_before_the_cap_are_still_delivered() -> None:
    lister = Lister(lambda r: _page(r.page_number, 1))
    seen: list[list[dict[str, Any]]] = []

    async def collect() -> None:
        async for page in iter_pages(lister, Resource.EMPLOYEES, page_size=1, max_pages=2):
            seen.append(page)

    with pytest.raises(EndlessListingError):
        await collect()
    assert seen == [_page(1, 1), _page(2, 1)]


@pytest.mark.parametrize("size", [0, 20001])
async def test_page_size_outside_the_api_limits_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="page_size"):
        await _read(Lister(numbered(1, 1)), size)


async def test_a_page_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_pages"):
        await _read(Lister(numbered(1, 1)), 1, max_pages=0)
