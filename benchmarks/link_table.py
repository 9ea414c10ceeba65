"""A link table of many links: recovery, worker RSS, status time, link lookup time."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import (
    Worker,
    check_alive,
    produce,
    rss_kib,
    start_worker,
    status_of,
    stop_workers,
    wait_for,
)
from benchmarks.tenant_sims import APPLICATION_KEY, SUBSCRIPTION_KEY, start_tenants
from connectors.simkit.limits import SlidingWindowLimiter
from streams.config import load_settings
from streams.sync.ids import chargebee_customer_id
from streams.sync.links import Link, LinkState, LinkTable, SideState
from streams.topic_admin import ensure_topics


def link_entries(connection: str, count: int) -> Iterable[tuple[str, Any]]:
    """``count`` linked employees as the join and sinks write them (link + right index)."""
    for i in range(1, count + 1):
        right_id = chargebee_customer_id(connection, "Employee", str(i))
        values = {
            "email": f"employee{i}@example.no",
            "first_name": f"Employee{i}",
            "last_name": "Ansatt",
        }
        link = Link(
            connection=connection,
            flow="employee",
            state=LinkState.LINKED,
            left=SideState("poweroffice", "Employee", str(i), 1, 1, values),
            right=SideState("chargebee", "customer", right_id, 1, 1, values),
            synced=values,
            updated_ms=1,
        )
        entries: dict[str, Any] = {}
        LinkTable(entries).put(link)  # the keys the worker reads: link, then right index
        yield from entries.items()


async def fill_changelog(bootstrap: str, topic: str, entries: Iterable[tuple[str, Any]]) -> int:
    """Write table entries the way Faust logs them: JSON key, JSON value, partition 0."""
    await ensure_topics(bootstrap, [], partitions=1, replication_factor=1, compacted=[topic])
    return await produce(
        bootstrap,
        topic,
        ((json.dumps(key).encode(), json.dumps(value).encode()) for key, value in entries),
        acks=1,
        batch_size=20000,
    )


def lookup_time(data_dir: Path, connection: str, count: int, samples: int = 2000) -> str:
    """Mean time of one link lookup (RocksDB get + JSON decode), the worker stopped."""
    from faust.stores.rocksdb import RocksDBOptions

    paths = sorted(data_dir.glob("**/links-0.db"))
    if not paths:
        return "no RocksDB found"
    db = RocksDBOptions(use_rocksdict=True).open(paths[0])
    keys = [
        json.dumps(f"{connection}|link|poweroffice:Employee:{random.randint(1, count)}").encode()
        for _ in range(samples)
    ]
    started = time.perf_counter()
    found = 0
    for key in keys:
        raw = db.get(key)
        if raw is not None:
            found += Link.from_json(json.loads(raw)).left.id != ""
    elapsed = time.perf_counter() - started
    db.close()
    return f"{elapsed / samples * 1e6:.0f} µs ({found}/{samples} found)"


async def links_scenario(args: argparse.Namespace, bootstrap: str, work: Path) -> dict[str, str]:
    limiter = SlidingWindowLimiter(10, 1.0)
    [tenant] = await start_tenants(1, employees=0, po_limiter=limiter, cb_per_minute=0)
    scenario = work / "links"
    scenario.mkdir()
    env = {
        **os.environ,
        **tenant.secrets(),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LEDGERLINK_TOPIC_PREFIX": f"bench-links-{uuid.uuid4().hex[:8]}.",
        "LEDGERLINK_CONNECTION_ID": tenant.connection,
        "LEDGERLINK_PARTITIONS": "1",
        "LEDGERLINK_POLL_INTERVAL": "30",
        "POWEROFFICE_BASE_URL": f"{tenant.po.root_url}/v2",
        "POWEROFFICE_TOKEN_URL": f"{tenant.po.root_url}/OAuth/Token",
        "POWEROFFICE_APPLICATION_KEY": APPLICATION_KEY,
        "POWEROFFICE_CLIENT_KEY": tenant.client_key,
        "POWEROFFICE_SUBSCRIPTION_KEY": SUBSCRIPTION_KEY,
        "CHARGEBEE_SITE": tenant.site,
        "CHARGEBEE_API_KEY": tenant.cb_key,
        "CHARGEBEE_BASE_URL": f"{tenant.cb.root_url}/api/v2",
    }
    names = load_settings(env).topics
    out: dict[str, str] = {}
    started = time.monotonic()
    entries = await fill_changelog(
        bootstrap, names.changelog("links"), link_entries(tenant.connection, args.links)
    )
    out["links written to the changelog"] = (
        f"{args.links} ({entries} entries, {time.monotonic() - started:.0f} s)"
    )
    workers: list[Worker] = []
    try:
        async with httpx.AsyncClient() as http:
            started = time.monotonic()
            workers = [await start_worker(env, scenario, "worker", args.worker_src)]

            async def ready() -> bool:
                # Read the log, not the status: a status call on the old code scans the
                # whole table, and repeated during recovery it starves the recovery.
                check_alive(workers)
                return "Worker ready" in workers[0].log.read_text(errors="replace")

            if await wait_for(ready, limit=args.timeout, every=1.0) is None:
                out["recovery"] = "timed out"
                return out
            out["worker start → recovered (Worker ready)"] = f"{time.monotonic() - started:.1f} s"
            began = time.perf_counter()
            await status_of(http, workers[0])
            out["first status after recovery"] = f"{(time.perf_counter() - began) * 1000:.0f} ms"

            async def counted() -> bool:
                check_alive(workers)
                body = await status_of(http, workers[0])
                linked = sum(counts.get("linked", 0) for counts in body["flows"].values())
                return bool(linked >= args.links)

            if await wait_for(counted, limit=args.timeout, every=1.0) is None:
                out["links in status"] = "short of all links"
            await asyncio.sleep(2)
            out["worker RSS"] = f"{rss_kib(workers[0].process.pid) / 1024:.0f} MiB"
            timings = []
            for _ in range(args.status_calls):
                began = time.perf_counter()
                await status_of(http, workers[0])
                timings.append(time.perf_counter() - began)
            out["GET /ledgerlink/status (median / max)"] = (
                f"{statistics.median(timings) * 1000:.1f} / {max(timings) * 1000:.1f} ms"
            )
    finally:
        await stop_workers(workers)
        await tenant.po.stop()
        await tenant.cb.stop()
    out["link lookup (RocksDB get + decode)"] = lookup_time(
        scenario / "worker", tenant.connection, args.links
    )
    return out
