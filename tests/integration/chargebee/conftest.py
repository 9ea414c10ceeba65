"""The Chargebee simulator in-process on a real socket, our client, and the official SDK."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from connectors.chargebee.client import ChargebeeClient
from connectors.chargebee.sim.server import build_app
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.secrets import Secret
from connectors.simkit import RunningSimulator, start_simulator
from connectors.transport import RetryPolicy

API_KEY = "test_sim_api_key"

#: Retries as in production, only with short delays so the suite stays fast.
FAST_RETRY = RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.1)


@pytest.fixture
def site() -> str:
    # A fresh site per test: token buckets are shared per site across the process.
    return f"site-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store() -> ChargebeeStore:
    return ChargebeeStore()


@pytest.fixture
async def simulator(site: str, store: ChargebeeStore) -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(build_app(site=site, api_key=API_KEY, store=store))
    yield running
    await running.stop()


@pytest.fixture
async def admin(simulator: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the simulator's root, for /_sim/ calls."""
    async with httpx.AsyncClient(base_url=simulator.root_url) as http:
        yield http


@pytest.fixture
async def make_client(site: str) -> AsyncIterator[Callable[..., ChargebeeClient]]:
    """Builds clients for a running simulator; closes them all at the end."""
    built: list[ChargebeeClient] = []

    def make(running: RunningSimulator, **options: Any) -> ChargebeeClient:
        options.setdefault("requests_per_minute", 60_000)
        options.setdefault("retry", FAST_RETRY)
        client = ChargebeeClient(
            site=options.pop("site", site),
            api_key=Secret(options.pop("api_key", API_KEY)),
            base_url=f"{running.root_url}/api/v2",
            **options,
        )
        built.append(client)
        return client

    yield make
    for built_client in built:
        await built_client.aclose()


@pytest.fixture
async def client(
    simulator: RunningSimulator, make_client: Callable[..., ChargebeeClient]
) -> AsyncIterator[ChargebeeClient]:
    async with make_client(simulator) as chargebee_client:
        yield chargebee_client


@pytest.fixture
def sdk(simulator: RunningSimulator) -> Iterator[Any]:
    """The official SDK, unchanged, pointed at the simulator (see the reference file)."""
    import chargebee

    previous = chargebee.Chargebee.verify_ca_certs
    chargebee.Chargebee.verify_ca_certs = False
    yield chargebee.Chargebee(
        api_key=API_KEY,
        site="127",
        chargebee_domain=f"0.0.1:{simulator.port}",
        protocol="http",
    )
    chargebee.Chargebee.verify_ca_certs = previous
