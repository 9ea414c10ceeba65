"""Metrics (issue 8): the worker's `GET /metrics` parses as Prometheus text, holds the
families of design §6, and its values move as the worker works; `ledgerlink lag` reads
it and exits 0 on a converged worker."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import Harness
from .seeding import seed_world

pytestmark = pytest.mark.integration

EMPLOYEES = 20


async def scrape(harness: Harness) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = await harness.http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    got: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            got.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return got


def total(samples: list[tuple[dict[str, str], float]], **labels: str) -> float:
    return sum(v for ls, v in samples if all(ls.get(k) == w for k, w in labels.items()))


async def test_metrics_move_as_the_worker_works_and_lag_reads_them(harness: Harness):
    seed_world(
        harness.po_store,
        harness.cb_store,
        companies=0,
        departments=0,
        persons=0,
        employees=EMPLOYEES,
        contacts_per_company=0,
    )
    await harness.start_worker()
    await harness.wait_converged(within=60)
    got = await scrape(harness)

    for family in (
        "ledgerlink_sync_lag_seconds",
        "ledgerlink_poll_age_seconds",
        "ledgerlink_consumer_lag_messages",
        "ledgerlink_sync_latency_seconds_count",
        "ledgerlink_writes_total",
        "ledgerlink_api_requests_total",
        "ledgerlink_parked_commands",
        "ledgerlink_dead_letters",
    ):
        assert family in got, f"{family} missing from /metrics"
    assert got["ledgerlink_sync_lag_seconds"] == [({"connection": "default"}, 0.0)]
    written = total(got["ledgerlink_writes_total"], system="chargebee", outcome="written")
    assert written == EMPLOYEES
    assert total(got["ledgerlink_sync_latency_seconds_count"], system="chargebee") == EMPLOYEES
    ages = [v for _, v in got["ledgerlink_poll_age_seconds"]]
    assert ages
    assert max(ages) < 10
    assert total(got["ledgerlink_api_requests_total"], system="chargebee", status="200") > 0
    assert total(got["ledgerlink_api_requests_total"], system="poweroffice", status="200") > 0
    topics = {ls["topic"] for ls, _ in got["ledgerlink_consumer_lag_messages"]}
    assert harness.topic("changes") in topics
    assert sum(v for _, v in got["ledgerlink_consumer_lag_messages"]) == 0

    code, out, err = await harness.lag(max_seconds=20)
    assert code == 0, (out, err)
    assert "default" in out
