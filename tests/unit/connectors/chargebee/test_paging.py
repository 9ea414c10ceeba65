"""The paginator answers "more? next offset?" and refuses a repeated offset."""

from __future__ import annotations

import pytest

from connectors.chargebee.paging import OffsetPaginator, RepeatedOffsetError, next_offset_of
from connectors.exceptions import PermanentApiError


def test_an_answer_without_next_offset_is_the_last_page():
    assert next_offset_of({"list": []}) is None


def test_next_offset_is_read_from_the_answer():
    assert next_offset_of({"list": [], "next_offset": '["1","2"]'}) == '["1","2"]'


def test_paginator_follows_each_new_offset():
    paginator = OffsetPaginator()
    assert paginator.advance("a") == "a"
    assert paginator.advance("b") == "b"
    assert not paginator.finished


def test_paginator_stops_when_no_offset_comes_back():
    paginator = OffsetPaginator()
    assert paginator.advance(None) is None
    assert paginator.finished


def test_paginator_refuses_a_repeated_offset():
    paginator = OffsetPaginator()
    paginator.advance("a")
    paginator.advance("b")
    with pytest.raises(RepeatedOffsetError):
        paginator.advance("a")


def test_a_repeated_offset_is_a_permanent_error():
    assert issubclass(RepeatedOffsetError, PermanentApiError)
