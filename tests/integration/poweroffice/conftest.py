"""Fixtures: a PowerOffice Go simulator on a loopback port, and clients talking to it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiohttp import web

from connectors.poweroffice.client import PowerOfficeClient
from connectors.poweroffice.sim.server import (
    LIMITER_KEY,
    STORE_KEY,
    TOKENS_KEY,
    build_app,
)
from connectors.poweroffice.sim.store import PowerOfficeStore
from connectors.secrets import Secret
from connectors.simkit import RunningSimulator, SlidingWindowLimiter, start_simulator
from connectors.simkit.app import STATE_KEY
from connectors.transport import RetryPolicy

APPLICATION_KEY = "test-application-key"
CLIENT_KEY = "test-client-key"

#: Quick retries, so the fault tests do not sleep for seconds.
FAST_RETRY = RetryPolicy(max_attempts=15, base_delay=0.01, max_delay=0.05)


@dataclass
class Simulator:
    """A running simulator and its in-process parts."""

    running: RunningSimulator
    app: web.Application
    subscription_key: str

    @property
    def root(self) -> str:
        return self.running.root_url

    @property
    def base_url(self) -> str:
        return f"{self.root}/v2"

    @property
    def token_url(self) -> str:
        return f"{self.root}/OAuth/Token"

    @property
    def store(self) -> PowerOfficeStore:
        return self.app[STORE_KEY]

    @property
    def limiter(self) -> SlidingWindowLimiter:
        return self.app[LIMITER_KEY]

    def count(
        self, method: str | None = None, route: str | None = None, status: int | None = None
    ) -> int:
        """Requests the simulator counted, as `/_sim/stats` reports them."""
        return self.app[STATE_KEY].stats.count(method, route, status)

    async def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request with a valid token and key, bypassing the client (for status checks)."""
        headers = {
            "Authorization": f"Bearer {self.app[TOKENS_KEY].issue()}",
            "Ocp-Apim-Subscription-Key": self.subscription_key,
            **kwargs.pop("headers", {}),
        }
        async with httpx.AsyncClient() as http:
            return await http.request(method, self.base_url + path, headers=headers, **kwargs)


SimulatorFactory = Callable[..., Any]


@pytest.fixture
async def start_sim() -> AsyncIterator[SimulatorFactory]:
    """Start simulators with a fresh subscription key each (so token buckets are fresh)."""
    started: list[RunningSimulator] = []

    async def start(*, rate_limit: int = 0, **kwargs: Any) -> Simulator:
        subscription_key = f"test-subscription-{uuid.uuid4().hex}"
        app = build_app(
            application_key=APPLICATION_KEY,
            client_key=CLIENT_KEY,
            subscription_key=subscription_key,
            rate_limit=rate_limit,
            **kwargs,
        )
        running = await start_simulator(app, port=0)
        started.append(running)
        return Simulator(running=running, app=app, subscription_key=subscription_key)

    yield start
    for running in started:
        await running.stop()


@pytest.fixture
async def sim(start_sim: SimulatorFactory) -> Simulator:
    simulator: Simulator = await start_sim()
    return simulator


ClientFactory = Callable[..., PowerOfficeClient]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    clients: list[PowerOfficeClient] = []

    def make(
        simulator: Simulator,
        *,
        application_key: str = APPLICATION_KEY,
        client_key: str = CLIENT_KEY,
        subscription_key: str | None = None,
        requests_per_second: float = 1000.0,
        retry: RetryPolicy = FAST_RETRY,
        **kwargs: Any,
    ) -> PowerOfficeClient:
        client = PowerOfficeClient(
            base_url=simulator.base_url,
            token_url=simulator.token_url,
            application_key=Secret(application_key),
            client_key=Secret(client_key),
            subscription_key=Secret(subscription_key or simulator.subscription_key),
            requests_per_second=requests_per_second,
            retry=retry,
            **kwargs,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(sim: Simulator, make_client: ClientFactory) -> PowerOfficeClient:
    return make_client(sim)
