"""The `webhooks` phase of `benchmarks/tenants.py`: Chargebee → PowerOffice Go through
Chargebee webhooks, edit by edit.

K connections (``--webhook-connections``) on one worker subprocess with
LEDGERLINK_WEBHOOK_URL pointing at its own web port and polling at 30 s
(``--webhook-poll-interval``; the Chargebee safety-net poll runs at
LEDGERLINK_WEBHOOK_SAFETY_POLL, 300 s by default), so polling cannot explain a fast
arrival. After the initial load (every employee linked) and the registration of each
connection's endpoint, E edits (``--webhook-edits``, ``--edit-spacing`` apart, round-robin
over the connections, each on another employee) of a Chargebee customer's last name, as a
person in Chargebee's web app makes them; the simulator delivers each event to the
endpoint with its Basic credentials. Each edit's arrival is the moment the PowerOffice Go
simulator's store (in this process) shows the new value, checked every ``--watch-every``
seconds for all pending edits at once.

Printed: count, p50 / p95 / max of edit → PowerOffice Go, and the split of that time at
the successful delivery (edit → webhook answered 200, i.e. the worker published the change
and Kafka acknowledged it; then → PowerOffice Go: join, command, sink), failed deliveries,
poll cycles during the edits, writes per edit to PowerOffice Go (1.00), echo writes back
to Chargebee (0), the servers' 429s, and the PowerOffice Go requests during the edits
with the median arrival of the first and the last third of them. Each edit costs two
PowerOffice Go requests (the sink reads the record before it patches it), and writes go
before polls on the integration's budget, so only edits coming faster than
budget * (1 - LEDGERLINK_POLL_MIN_SHARE) / 2 per second queue (3.6/s at 8 requests/s): the
last third then arrives later than the first.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import (
    Worker,
    check_alive,
    free_port,
    start_worker,
    status_of,
    stop_workers,
    wait_for,
)
from benchmarks.tenant_sims import (
    Tenant,
    count_calls,
    post_all,
    reset_stats,
    roots,
    start_tenants,
    stop_tenants,
    worker_env,
)
from connectors.poweroffice.resources import Resource
from connectors.simkit.limits import SlidingWindowLimiter
from streams.sync.ids import chargebee_customer_id
from streams.webhooks import endpoint_url

SECRET = "bench-webhook-secret"


@dataclass
class Edit:
    """One Chargebee-side edit and what became of it."""

    tenant: Tenant
    employee_id: int
    value: str
    at: float = 0.0  # wall clock (time.time), comparable with the deliveries' `at`
    event_id: str = ""
    arrived: float | None = None
    delivered: float | None = None

    @property
    def customer_id(self) -> str:
        return chargebee_customer_id(self.tenant.connection, "Employee", str(self.employee_id))


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(round(q * len(ordered), 9)))
    return ordered[rank - 1]


def spread(values: Sequence[float]) -> str:
    if not values:
        return "none"
    return (
        f"{quantile(values, 0.5):.2f} / {quantile(values, 0.95):.2f} / {max(values):.2f} s"
        f" (n={len(values)})"
    )


def plan_edits(tenants: Sequence[Tenant], edits: int) -> list[Edit]:
    """``edits`` edits round-robin over ``tenants``, each on an employee not edited before
    while there are enough of them."""
    return [
        Edit(
            tenant=tenants[i % len(tenants)],
            employee_id=tenants[i % len(tenants)].employee_ids[
                (i // len(tenants)) % len(tenants[i % len(tenants)].employee_ids)
            ],
            value=f"Hook{i}-Ødegård",
        )
        for i in range(edits)
    ]


async def linked_count(http: httpx.AsyncClient, worker: Worker, connection: str) -> int:
    response = await http.get(
        f"http://127.0.0.1:{worker.web_port}/ledgerlink/links",
        params={"connection": connection},
        timeout=600,
    )
    response.raise_for_status()
    return sum(1 for link in response.json()["links"] if link["state"] == "linked")


async def deliveries(http: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await http.get(tenant.cb.root_url + "/_sim/webhook_deliveries")
    rows: list[dict[str, Any]] = response.json()["deliveries"]
    return rows


async def webhooks_scenario(args: argparse.Namespace, bootstrap: str, work: Path) -> dict[str, str]:
    limiter = SlidingWindowLimiter(10, 1.0)
    tenants = await start_tenants(
        args.webhook_connections,
        employees=args.employees,
        po_limiter=limiter,
        cb_per_minute=args.cb_rate_per_minute,
    )
    scenario = work / "webhooks"
    scenario.mkdir()
    web_port = free_port()
    base_url = f"http://127.0.0.1:{web_port}"
    env = {
        **worker_env(args, bootstrap, scenario, tenants),
        "LEDGERLINK_POLL_INTERVAL": str(args.webhook_poll_interval),
        "LEDGERLINK_WEBHOOK_URL": base_url,
        "LEDGERLINK_WEBHOOK_SECRET": SECRET,
    }
    out: dict[str, str] = {}
    workers: list[Worker] = []
    async with httpx.AsyncClient(timeout=60) as http:
        await post_all(http, roots(tenants), "/_sim/faults", {"latency_ms": args.latency_ms})
        try:
            started = time.monotonic()
            worker = await start_worker(env, scenario, "worker", args.worker_src, web_port=web_port)
            workers = [worker]

            async def ready() -> bool:
                check_alive(workers)
                for tenant in tenants:
                    url = endpoint_url(base_url, tenant.connection)
                    rows = tenant.cb_store.webhook_endpoint_rows()
                    if not any(r.data["url"] == url and not r.data["disabled"] for r in rows):
                        return False
                    if await linked_count(http, worker, tenant.connection) < args.employees:
                        return False
                return True

            if await wait_for(ready, limit=args.timeout, every=0.5) is None:
                out["initial load + registration"] = "timed out"
                return out
            out["initial load + registration"] = f"{time.monotonic() - started:.1f} s"
            # Let the load's own echoes (the created customers' webhooks) settle.
            await asyncio.sleep(args.echo_wait)
            await reset_stats(http, tenants)
            limiter.peak = 0
            attempts_before = {t.connection: len(await deliveries(http, t)) for t in tenants}
            cycles_before = int((await status_of(http, worker))["poll_cycles"])

            edits = plan_edits(tenants, args.webhook_edits)
            made = 0

            async def make_edits() -> None:
                nonlocal made
                for edit in edits:
                    edit.at = time.time()
                    edit.tenant.cb_store.update_customer(
                        edit.customer_id, {"last_name": edit.value}, source="admin_console"
                    )
                    edit.event_id = str(edit.tenant.cb_store.event_rows()[-1].data["id"])
                    made += 1
                    await asyncio.sleep(args.edit_spacing)

            async def all_arrived() -> bool:
                check_alive(workers)
                now = time.time()
                for edit in edits[:made]:
                    if edit.arrived is None:
                        record = edit.tenant.po_store.get(Resource.EMPLOYEES, edit.employee_id)
                        if record.get("LastName") == edit.value:
                            edit.arrived = now
                return made == len(edits) and all(e.arrived is not None for e in edits)

            editing = asyncio.create_task(make_edits())
            await wait_for(all_arrived, limit=args.timeout, every=args.watch_every)
            await editing
            cycles = int((await status_of(http, worker))["poll_cycles"]) - cycles_before

            took = [e.arrived - e.at for e in edits if e.arrived is not None]
            failed = 0
            for tenant in tenants:
                rows = (await deliveries(http, tenant))[attempts_before[tenant.connection] :]
                failed += sum(1 for r in rows if r["status"] != "succeeded")
                first_ok: dict[str, float] = {}
                for row in rows:
                    if row["status"] == "succeeded":
                        first_ok.setdefault(row["event_id"], float(row["at"]))
                for edit in edits:
                    if edit.tenant is tenant:
                        edit.delivered = first_ok.get(edit.event_id)
            to_webhook = [e.delivered - e.at for e in edits if e.delivered is not None]
            after_webhook = [
                e.arrived - e.delivered
                for e in edits
                if e.arrived is not None and e.delivered is not None
            ]
            out["edits arrived"] = f"{len(took)} of {len(edits)}"
            out["edit → PowerOffice Go p50 / p95 / max"] = spread(took)
            out["p95 goal ≤ 2 s"] = (
                ("met" if quantile(took, 0.95) <= 2.0 else "missed") if took else "—"
            )
            out["  edit → webhook answered 200"] = spread(to_webhook)
            out["  webhook answered → PowerOffice Go"] = spread(after_webhook)
            third = max(len(edits) // 3, 1)
            out["  p50 of the first / last third of the edits"] = " / ".join(
                f"{statistics.median(part):.2f} s" if part else "—"
                for part in (
                    [e.arrived - e.at for e in edits[:third] if e.arrived is not None],
                    [e.arrived - e.at for e in edits[-third:] if e.arrived is not None],
                )
            )
            out["failed webhook deliveries"] = str(failed)
            out["poll cycles during the edits"] = str(cycles)
            await asyncio.sleep(args.echo_wait)
            calls = await count_calls(http, tenants)
            out["writes per edit to PowerOffice Go (expect 1.00)"] = (
                f"{calls.po_writes / len(edits):.2f}"
            )
            out["echo writes to Chargebee (expect 0)"] = str(calls.cb_writes)
            out["server 429s"] = str(calls.throttled)
            span = max((e.arrived or e.at) for e in edits) - edits[0].at
            out["PowerOffice Go GETs / writes during the edits"] = (
                f"{calls.po_listings} / {calls.po_writes} over {span:.1f} s"
                f" (+{args.echo_wait:g} s), peak {limiter.peak}/s"
            )
        finally:
            await stop_workers(workers)
            await stop_tenants(tenants)
    return out
