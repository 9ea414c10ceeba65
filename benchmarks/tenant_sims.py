"""The tenants of the benchmark: one PowerOffice Go company and one Chargebee site each,
simulated in this process, and the request counts of their simulators."""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connectors.chargebee.sim import server as cb_sim
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.poweroffice.sim import server as po_sim
from connectors.poweroffice.sim.store import PowerOfficeStore
from connectors.simkit import RunningSimulator, start_simulator
from connectors.simkit.limits import SlidingWindowLimiter

APPLICATION_KEY, SUBSCRIPTION_KEY = "bench-application-key", "bench-subscription-key"
PO_WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass
class Tenant:
    """One connection: its PowerOffice Go company and its Chargebee site."""

    connection: str
    client_key: str
    cb_key: str
    po_store: PowerOfficeStore
    cb_store: ChargebeeStore
    po: RunningSimulator
    cb: RunningSimulator
    employee_ids: list[int] = field(default_factory=list)

    @property
    def site(self) -> str:
        return f"{self.connection}-bench"

    @property
    def env_prefix(self) -> str:
        return self.connection.upper()

    def toml(self) -> str:
        return (
            "[[connection]]\n"
            f'id = "{self.connection}"\n'
            f'poweroffice_client_key_env = "{self.env_prefix}_POWEROFFICE_CLIENT_KEY"\n'
            f'poweroffice_base_url = "{self.po.root_url}/v2"\n'
            f'poweroffice_token_url = "{self.po.root_url}/OAuth/Token"\n'
            f'chargebee_site = "{self.site}"\n'
            f'chargebee_api_key_env = "{self.env_prefix}_CHARGEBEE_API_KEY"\n'
            f'chargebee_base_url = "{self.cb.root_url}/api/v2"\n'
        )

    def secrets(self) -> dict[str, str]:
        return {
            f"{self.env_prefix}_POWEROFFICE_CLIENT_KEY": self.client_key,
            f"{self.env_prefix}_CHARGEBEE_API_KEY": self.cb_key,
        }


async def start_tenants(
    n: int, *, employees: int, po_limiter: SlidingWindowLimiter, cb_per_minute: int
) -> list[Tenant]:
    tenants = []
    for i in range(1, n + 1):
        connection = f"t{i:02d}"
        client_key, cb_key = f"{connection}-client-{uuid.uuid4().hex[:6]}", f"{connection}_key"
        po_store, cb_store = PowerOfficeStore(), ChargebeeStore()
        po_app = po_sim.build_app(
            application_key=APPLICATION_KEY,
            client_key=client_key,
            subscription_key=SUBSCRIPTION_KEY,
            store=po_store,
        )
        # One integration: every company's requests count against one window, as on the
        # real gateway (10 requests/s per subscription key).
        po_app[po_sim.LIMITER_KEY] = po_limiter
        cb_app = cb_sim.build_app(
            site=f"{connection}-bench",
            api_key=cb_key,
            rate_limit_per_minute=cb_per_minute,
            store=cb_store,
        )
        tenant = Tenant(
            connection=connection,
            client_key=client_key,
            cb_key=cb_key,
            po_store=po_store,
            cb_store=cb_store,
            po=await start_simulator(po_app),
            cb=await start_simulator(cb_app),
        )
        tenant.employee_ids = [int(r["Id"]) for r in po_store.seed_employees(employees)]
        tenants.append(tenant)
    return tenants


async def stop_tenants(tenants: Iterable[Tenant]) -> None:
    for tenant in tenants:
        await tenant.po.stop()
        await tenant.cb.stop()


def worker_env(
    args: argparse.Namespace, bootstrap: str, scenario: Path, tenants: Sequence[Tenant]
) -> dict[str, str]:
    """The workers' environment for ``tenants``: their connections file (written into
    ``scenario``), their secrets, a fresh topic prefix and the budgets of ``args``."""
    conns = scenario / "connections.toml"
    head = (
        "[poweroffice]\n"
        f'base_url = "{tenants[0].po.root_url}/v2"\n'
        f'token_url = "{tenants[0].po.root_url}/OAuth/Token"\n'
    )
    conns.write_text("\n".join([head, *(t.toml() for t in tenants)]))
    return {
        **os.environ,
        **{k: v for t in tenants for k, v in t.secrets().items()},
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LEDGERLINK_TOPIC_PREFIX": f"bench-{uuid.uuid4().hex[:8]}.",
        "LEDGERLINK_CONNECTIONS_FILE": str(conns),
        "LEDGERLINK_POLL_INTERVAL": str(args.poll_interval),
        "LEDGERLINK_PARTITIONS": str(args.partitions),
        "POWEROFFICE_APPLICATION_KEY": APPLICATION_KEY,
        "POWEROFFICE_SUBSCRIPTION_KEY": SUBSCRIPTION_KEY,
        "POWEROFFICE_REQUESTS_PER_SECOND": str(args.po_budget),
        "CHARGEBEE_REQUESTS_PER_MINUTE": str(args.cb_rate_per_minute),
    }


def roots(tenants: Iterable[Tenant]) -> list[str]:
    return [url for t in tenants for url in (t.po.root_url, t.cb.root_url)]


async def post_all(http: httpx.AsyncClient, urls: Iterable[str], path: str, body: Any) -> None:
    await asyncio.gather(*(http.post(url + path, json=body) for url in urls))


async def stats(http: httpx.AsyncClient, root: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await http.get(root + "/_sim/stats")).json()["requests"]
    return rows


@dataclass
class Calls:
    """Request counts of all simulators since their last reset."""

    po_listings: int = 0
    cb_listings: int = 0
    po_writes: int = 0
    cb_writes: int = 0
    api_calls: int = 0
    throttled: int = 0
    po_list_routes: set[str] = field(default_factory=set)


async def count_calls(http: httpx.AsyncClient, tenants: Sequence[Tenant]) -> Calls:
    calls = Calls()
    for tenant in tenants:
        po_rows, cb_rows = await asyncio.gather(
            stats(http, tenant.po.root_url), stats(http, tenant.cb.root_url)
        )
        for system, rows in (("poweroffice", po_rows), ("chargebee", cb_rows)):
            for row in rows:
                route, method, status, n = (
                    str(row["route"]),
                    str(row["method"]),
                    int(row["status"]),
                    int(row["count"]),
                )
                if route.startswith("/_sim"):
                    continue
                calls.api_calls += n
                calls.throttled += n if status == 429 else 0
                ok = 200 <= status < 300
                if system == "poweroffice" and route.startswith("/v2/"):
                    if method == "GET":
                        calls.po_listings += n
                        calls.po_list_routes.add(route)
                    elif method in PO_WRITES and ok:
                        calls.po_writes += n
                elif system == "chargebee" and route.startswith("/api/v2/"):
                    if method == "GET":
                        calls.cb_listings += n
                    elif method == "POST" and ok:
                        calls.cb_writes += n
    return calls


async def reset_stats(http: httpx.AsyncClient, tenants: Sequence[Tenant]) -> None:
    await post_all(http, roots(tenants), "/_sim/stats/reset", {})
