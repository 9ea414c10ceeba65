"""The paginator's stop rules: 204, a short page, and never looping for ever."""

from __future__ import annotations

import pytest

from connectors.exceptions import PermanentApiError
from connectors.poweroffice.paging import PageNumberPaginator


def _page(first_id: int, n: int) -> list[dict[str, int]]:
    return [{"Id": first_id + i} for i in range(n)]


def test_a_full_page_asks_for_the_next_page_number() -> None:
    paginator = PageNumberPaginator(3)
    assert paginator.advance(_page(1, 3)) == 2
    assert paginator.advance(_page(4, 3)) == 3


def test_a_short_page_ends_the_listing() -> None:
    assert PageNumberPaginator(3).advance(_page(1, 2)) is None


def test_an_empty_page_as_for_204_ends_the_listing() -> None:
    paginator = PageNumberPaginator(3)
    paginator.advance(_page(1, 3))
    assert paginator.advance([]) is None


def test_a_page_repeating_the_previous_one_is_refused() -> None:
    paginator = PageNumberPaginator(2)
    paginator.advance(_page(1, 2))
    with pytest.raises(PermanentApiError, match="repeated"):
        paginator.advance(_page(1, 2))


def test_a_repeated_page_without_ids_is_refused_too() -> None:
    paginator = PageNumberPaginator(1)
    paginator.advance([{"Name": "a"}])
    with pytest.raises(PermanentApiError, match="repeated"):
        paginator.advance([{"Name": "a"}])


def test_the_page_cap_stops_an_endless_listing() -> None:
    paginator = PageNumberPaginator(1, max_pages=3)
    paginator.advance(_page(1, 1))
    paginator.advance(_page(2, 1))
    with pytest.raises(PermanentApiError, match="exceeded 3 pages"):
        paginator.advance(_page(3, 1))


@pytest.mark.parametrize("size", [0, 20001])
def test_page_size_outside_the_api_limits_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="page_size"):
        PageNumberPaginator(size)
