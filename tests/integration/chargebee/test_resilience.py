"""Rate limits, injected 503s and dropped connections: the client absorbs them all.

Faults are drawn from seeded random generators, so each run sees the same faults.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from aiohttp.typedefs import Middleware

from connectors.chargebee.sim.server import build_app
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.simkit import FaultSettings, RunningSimulator, SlidingWindowLimiter, start_simulator
from connectors.simkit.app import STATE_KEY
from connectors.simkit.stats import DROPPED

from .conftest import API_KEY

pytestmark = pytest.mark.integration


def count(app: web.Application, status: int) -> int:
    return app[STATE_KEY].stats.count(status=status)


@pytest.fixture
async def limited(site: str) -> AsyncIterator[tuple[web.Application, RunningSimulator]]:
    """A simulator allowing 10 requests per 1-second window (a minute, shrunk for speed)."""
    app = build_app(site=site, api_key=API_KEY, limiter=SlidingWindowLimiter(10, 1.0))
    running = await start_simulator(app)
    yield app, running
    await running.stop()


async def test_concurrent_calls_over_the_limit_wait_out_retry_after_and_all_succeed(
    limited, make_client
):
    app, running = limited
    async with make_client(running, requests_per_minute=6_000) as client:
        started = time.monotonic()
        pages = await asyncio.gather(*(client.list_customers_page(limit=1) for _ in range(25)))
        elapsed = time.monotonic() - started
    assert len(pages) == 25
    assert count(app, 429) > 0, "the test must actually hit the limit"
    assert elapsed >= 1.0, "Retry-After (1 s) was not waited out"


async def test_a_budget_below_the_limit_never_meets_a_429(limited, make_client):
    app, running = limited
    # 8 requests per second against a limit of 10 per second.
    async with make_client(running, requests_per_minute=480) as client:
        await asyncio.gather(*(client.list_customers_page(limit=1) for _ in range(12)))
    assert count(app, 429) == 0
    assert count(app, 200) == 12


@pytest.fixture
async def faulty(
    site: str, store: ChargebeeStore
) -> AsyncIterator[tuple[web.Application, RunningSimulator]]:
    """20% injected 503s and 10% dropped connections, from a seeded generator."""
    app = build_app(site=site, api_key=API_KEY, store=store)
    app[STATE_KEY].faults = FaultSettings(
        error_rate=0.2, status=503, drop_rate=0.1, rng=random.Random(20240605)
    )
    running = await start_simulator(app)
    yield app, running
    await running.stop()


async def test_a_full_listing_under_503s_and_drops_returns_exactly_the_records(
    faulty, make_client, store: ChargebeeStore
):
    app, running = faulty
    store.seed_customers(1000)
    async with make_client(running) as client:
        ids = [c["id"] async for c in client.iter_customers(limit=100)]
    assert len(ids) == 1000
    assert set(ids) == {f"cus_seed_{i:05d}" for i in range(1000)}
    assert count(app, 503) + count(app, DROPPED) > 0, "the test must actually meet faults"


async def test_creates_under_503s_and_drops_create_no_duplicates(
    faulty, make_client, store: ChargebeeStore
):
    app, running = faulty
    async with make_client(running) as client:
        created = await asyncio.gather(
            *(client.create_customer({"first_name": f"P{i}"}) for i in range(40))
        )
    assert len({c["id"] for c in created}) == 40
    assert store.customer_count() == 40
    assert count(app, 503) + count(app, DROPPED) > 0


def lose_answers_after_handling(rng: random.Random, lost: list[str]) -> Middleware:
    """Commit the request, then cut the connection before the answer leaves."""

    @web.middleware
    async def lose(request: web.Request, handler):
        response = await handler(request)
        if request.method == "POST" and rng.random() < 0.4 and request.transport is not None:
            lost.append(request.path)
            request.transport.abort()
        return response

    return lose


@pytest.fixture
async def forgetful(site: str, store: ChargebeeStore):
    lost: list[str] = []
    app = build_app(site=site, api_key=API_KEY, store=store)
    app.middlewares.append(lose_answers_after_handling(random.Random(7), lost))
    running = await start_simulator(app)
    yield running, lost
    await running.stop()


async def test_creates_whose_answers_are_lost_are_replayed_not_repeated(
    forgetful, make_client, store: ChargebeeStore
):
    running, lost = forgetful
    async with make_client(running) as client:
        created = [await client.create_customer({"first_name": f"P{i}"}) for i in range(20)]
    assert lost, "the test must actually lose answers"
    assert store.customer_count() == 20
    assert len({c["id"] for c in created}) == 20


async def test_without_an_idempotency_key_a_lost_answer_would_duplicate(forgetful, store):
    """The control for the test above: the fault really does cause duplicates."""
    running, lost = forgetful
    async with httpx.AsyncClient(base_url=f"{running.root_url}/api/v2", auth=(API_KEY, "")) as http:
        for i in range(10):
            while True:
                try:
                    await http.post("/customers", data={"first_name": f"P{i}"})
                    break
                except httpx.TransportError:
                    continue
    assert store.customer_count() == 10 + len(lost)
    assert lost
