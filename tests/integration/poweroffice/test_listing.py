"""Listing: the exclusive change filter, paging, 204, order and the query rules."""

from __future__ import annotations

import pytest

from connectors.exceptions import InvalidRequestError
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.timestamps import parse_timestamp

pytestmark = pytest.mark.integration

T1 = parse_timestamp("2024-03-01T08:00:00.1234567Z")
T2 = T1 + 1  # one tick later


async def test_change_filter_excludes_records_changed_exactly_at_the_cursor(sim, client) -> None:
    sim.store.seed_employees(3, last_changed=T1)
    later = sim.store.seed_employees(2, last_changed=T2)
    records = await client.list_page(Resource.EMPLOYEES, changed_after=T1)
    assert sorted(r["Id"] for r in records) == sorted(r["Id"] for r in later)


async def test_change_filter_includes_records_one_tick_after_the_cursor(sim, client) -> None:
    sim.store.seed_employees(3, last_changed=T1)
    assert len(await client.list_page(Resource.EMPLOYEES, changed_after=T1 - 1)) == 3


async def test_timestamps_come_back_with_seven_digits(sim, client) -> None:
    sim.store.seed_departments(1, last_changed=T1)
    (department,) = await client.list_page(Resource.DEPARTMENTS)
    assert department["LastChangedDateTimeOffset"] == "2024-03-01T08:00:00.1234567Z"


async def test_an_empty_list_is_204_with_an_empty_body(sim, client) -> None:
    response = await sim.raw("GET", "/Employees")
    assert (response.status_code, response.content) == (204, b"")
    assert await client.list_page(Resource.EMPLOYEES) == []


async def test_pages_split_the_list_by_page_size(sim, client) -> None:
    sim.store.seed_employees(25)
    sizes = [
        len(await client.list_page(Resource.EMPLOYEES, page_number=n, page_size=10))
        for n in (1, 2, 3, 4)
    ]
    assert sizes == [10, 10, 5, 0]


async def test_iter_records_reads_every_page(sim, client) -> None:
    seeded = sim.store.seed_employees(25)
    records = [r async for r in client.iter_records(Resource.EMPLOYEES, page_size=10)]
    assert [r["Id"] for r in records] == [r["Id"] for r in seeded]
    assert sim.count("GET", "/v2/Employees") == 3


async def test_iter_records_stops_after_a_full_last_page_at_the_204(sim, client) -> None:
    sim.store.seed_employees(20)
    records = [r async for r in client.iter_records(Resource.EMPLOYEES, page_size=10)]
    assert len(records) == 20
    assert sim.count("GET", "/v2/Employees", 204) == 1


async def test_records_sharing_one_timestamp_are_paged_without_loss(sim, client) -> None:
    seeded = sim.store.seed_employees(30, last_changed=T1)
    records = [r async for r in client.iter_records(Resource.EMPLOYEES, page_size=7)]
    assert sorted(r["Id"] for r in records) == sorted(r["Id"] for r in seeded)


async def test_order_by_id_descending(sim, client) -> None:
    seeded = sim.store.seed_employees(5)
    records = await client.list_page(Resource.EMPLOYEES, order_by="Id desc")
    assert [r["Id"] for r in records] == sorted((r["Id"] for r in seeded), reverse=True)


async def test_contact_ids_filters_contact_persons(sim, client) -> None:
    first = sim.store.add_customer(Name="A AS")
    second = sim.store.add_customer(Name="B AS")
    sim.store.seed_contact_persons(first["Id"], 2)
    wanted = sim.store.seed_contact_persons(second["Id"], 3)
    records = await client.list_page(Resource.CONTACT_PERSONS, contact_ids=[second["Id"]])
    assert sorted(r["Id"] for r in records) == sorted(r["Id"] for r in wanted)


async def test_fields_selects_the_returned_fields(sim) -> None:
    sim.store.seed_employees(1)
    response = await sim.raw("GET", "/Employees", params={"Fields": "id,emailAddress"})
    assert list(response.json()[0]) == ["Id", "EmailAddress"]


async def test_page_size_above_twenty_thousand_is_an_invalid_request(sim, client) -> None:
    with pytest.raises(InvalidRequestError):
        await client.list_page(Resource.EMPLOYEES, page_size=20001)


@pytest.mark.parametrize("option", ["$top", "$skip"])
async def test_odata_paging_options_are_400(sim, option) -> None:
    response = await sim.raw("GET", "/Employees", params={option: "10"})
    assert response.status_code == 400


async def test_over_the_rate_limit_the_answer_is_429_with_retry_after(start_sim) -> None:
    limited = await start_sim(rate_limit=1)
    await limited.raw("GET", "/Employees")
    response = await limited.raw("GET", "/Employees")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {
        "statusCode": 429,
        "message": "Rate limit is exceeded. Try again in 1 seconds.",
    }
