"""Benchmark: many tenants on one or several workers, the join stage, a big link table.

Run on demand, in one go on one machine (nothing here asserts; it prints figures):

    PYTHONPATH=. .venv/bin/python benchmarks/tenants.py --connections 20 --latency-ms 150

Starts a real local Kafka (unless KAFKA_BOOTSTRAP_SERVERS is set) and measures:

tenants  N connections (one PowerOffice Go integration shared by all, as in production:
         one application and subscription key, one 10 requests/s window on the server
         side shared by every company's simulator; one Chargebee site per connection),
         each with E employees, every API answering after ``--latency-ms``; the worker(s)
         run as subprocesses on one connections file. Printed per worker count: the
         initial load's time, one edit per tenant made at the same moment and its arrival
         at the first, median and last tenant, the budget-bound ideal (the PowerOffice Go
         listings of one full cycle ÷ the integration's budget) and last/ideal (goal
         ≤ 1.3x), API calls per record of the initial load, listing calls per poll cycle
         (must not grow with workers), writes per edit (1.00) and echo writes (0), and the
         servers' 429s.
join     the join agent alone (`benchmarks/join_stage.py join`, no pollers or sinks) over
         M change events preloaded into a fresh `changes` topic, against a raw aiokafka
         consume→produce loop over the same events on the same broker: throughput of
         each from the timestamps of what they produced, and the ratio (aim ≥ 0.8x).
links    a link table of L links (and their Chargebee-side index entries) written to the
         table's changelog, recovered by a worker: recovery time, worker RSS, the time of
         GET /ledgerlink/status, and — the worker stopped — the time of one link lookup in
         its RocksDB. ``--worker-src DIR`` runs the worker from another source tree (e.g.
         an export of an older commit, to compare status times before and after).

"Calls per cycle" is the listing calls (GETs of both APIs, sign-ins excluded) in a quiet
window after the initial load, divided by the mean number of poll cycles the workers
reported (`poll_cycles` of /ledgerlink/status) in that window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from connectors.chargebee.sim import server as cb_sim
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.poweroffice.poller import PowerOfficeChangeSource
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.sim import server as po_sim
from connectors.poweroffice.sim.store import PowerOfficeStore
from connectors.simkit import RunningSimulator, start_simulator
from connectors.simkit.limits import SlidingWindowLimiter
from streams.config import load_settings
from streams.dev import localkafka
from streams.sync.ids import chargebee_customer_id
from streams.sync.links import Link, LinkState, SideState
from streams.topic_admin import ensure_topics

REPO = Path(__file__).resolve().parents[1]
APPLICATION_KEY, SUBSCRIPTION_KEY = "bench-application-key", "bench-subscription-key"
PO_WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
Row = tuple[str, str]  # (measure, value) lines of the final table


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


# -- simulators ------------------------------------------------------------------------------


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


# -- workers ---------------------------------------------------------------------------------


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    web_port: int
    log: Path

    @property
    def status_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/ledgerlink/status"


async def start_worker(env: Mapping[str, str], work: Path, name: str, src: Path) -> Worker:
    web_port = free_port()
    data = work / name
    data.mkdir(parents=True, exist_ok=True)
    log = data / "worker.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams.cli",
        "worker",
        cwd=src,
        env={
            **env,
            "PYTHONPATH": str(src),
            "LEDGERLINK_DATA_DIR": str(data),
            "LEDGERLINK_WEB_PORT": str(web_port),
        },
        stdout=log.open("wb"),
        stderr=asyncio.subprocess.STDOUT,
    )
    return Worker(process=process, web_port=web_port, log=log)


async def stop_workers(workers: Iterable[Worker]) -> None:
    for worker in workers:
        if worker.process.returncode is None:
            worker.process.terminate()
    for worker in workers:
        try:
            await asyncio.wait_for(worker.process.wait(), 60)
        except TimeoutError:
            worker.process.kill()
            await worker.process.wait()


async def status_of(http: httpx.AsyncClient, worker: Worker, **params: str) -> dict[str, Any]:
    response = await http.get(worker.status_url, params=params, timeout=600)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def check_alive(workers: Iterable[Worker]) -> None:
    for worker in workers:
        if worker.process.returncode is not None:
            raise SystemExit(f"a worker exited ({worker.process.returncode}); see {worker.log}")


async def wait_for(predicate: Any, *, limit: float, every: float = 0.05) -> float | None:
    """Seconds until ``predicate()`` held, or None after ``limit`` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(every)
    return None


# -- tenants ---------------------------------------------------------------------------------


async def tenants_scenario(
    args: argparse.Namespace, bootstrap: str, work: Path, workers_n: int
) -> dict[str, str]:
    limiter = SlidingWindowLimiter(10, 1.0)
    tenants = await start_tenants(
        args.connections,
        employees=args.employees,
        po_limiter=limiter,
        cb_per_minute=args.cb_rate_per_minute,
    )
    records = args.connections * args.employees
    scenario = work / f"tenants-{workers_n}"
    scenario.mkdir()
    conns = scenario / "connections.toml"
    head = (
        "[poweroffice]\n"
        f'base_url = "{tenants[0].po.root_url}/v2"\n'
        f'token_url = "{tenants[0].po.root_url}/OAuth/Token"\n'
    )
    conns.write_text("\n".join([head, *(t.toml() for t in tenants)]))
    env = {
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
    out: dict[str, str] = {}
    workers: list[Worker] = []
    throttled = 0
    async with httpx.AsyncClient(timeout=60) as http:
        await post_all(http, roots(tenants), "/_sim/faults", {"latency_ms": args.latency_ms})
        try:
            started = time.monotonic()
            workers = [
                await start_worker(env, scenario, f"worker{i}", args.worker_src)
                for i in range(workers_n)
            ]

            async def loaded() -> bool:
                check_alive(workers)
                return all(t.cb_store.customer_count() >= args.employees for t in tenants)

            load = await wait_for(loaded, limit=args.timeout, every=0.2)
            out["initial load"] = (
                f"{time.monotonic() - started:.1f} s" if load is not None else "timed out"
            )
            load_calls = await count_calls(http, tenants)
            throttled += load_calls.throttled
            out["API calls per record (load)"] = f"{load_calls.api_calls / records:.2f}"
            await asyncio.sleep(args.poll_interval * 2)

            # A quiet window: what polling alone costs per cycle.
            await reset_stats(http, tenants)
            before = [int((await status_of(http, w))["poll_cycles"]) for w in workers]
            window_start = time.monotonic()

            async def cycled() -> bool:
                check_alive(workers)
                now = [int((await status_of(http, w))["poll_cycles"]) for w in workers]
                return all(b - a >= 2 for a, b in zip(before, now, strict=True))

            await wait_for(cycled, limit=args.timeout, every=0.5)
            window = time.monotonic() - window_start
            after = [int((await status_of(http, w))["poll_cycles"]) for w in workers]
            quiet = await count_calls(http, tenants)
            throttled += quiet.throttled
            cycles = statistics.mean(b - a for a, b in zip(before, after, strict=True))
            listings = quiet.po_listings + quiet.cb_listings
            out["poll cycles per worker (window)"] = (
                f"{cycles:.1f} in {window:.0f} s ({window / max(cycles, 1e-9):.1f} s/cycle)"
            )
            out["listing calls per cycle (PO + CB)"] = (
                f"{listings / max(cycles, 1e-9):.1f} ({quiet.po_listings / max(cycles, 1e-9):.1f}"
                f" + {quiet.cb_listings / max(cycles, 1e-9):.1f})"
            )
            out["listing calls per second"] = f"{listings / window:.1f}"
            po_per_conn = max(len(quiet.po_list_routes), 1)
            ideal = args.connections * po_per_conn / args.po_budget
            out["budget-bound ideal cycle"] = (
                f"{ideal:.1f} s ({args.connections}x{po_per_conn} listings ÷ {args.po_budget:g}/s)"
            )

            # One edit per tenant, all at the same moment.
            await reset_stats(http, tenants)
            arrived: dict[str, float] = {}
            wanted = {}
            t0 = time.monotonic()
            for n, tenant in enumerate(tenants):
                record_id = tenant.employee_ids[0]
                wanted[tenant.connection] = (
                    chargebee_customer_id(tenant.connection, "Employee", str(record_id)),
                    f"Edited{n}x",
                )
                tenant.po_store.edit(Resource.EMPLOYEES, record_id, FirstName=f"Edited{n}x")

            async def all_arrived() -> bool:
                check_alive(workers)
                for tenant in tenants:
                    if tenant.connection in arrived:
                        continue
                    customer_id, name = wanted[tenant.connection]
                    customer = tenant.cb_store.get_customer(customer_id) or {}
                    if customer.get("first_name") == name:
                        arrived[tenant.connection] = time.monotonic() - t0
                return len(arrived) == len(tenants)

            await wait_for(all_arrived, limit=args.timeout, every=0.02)
            times = sorted(arrived.values())
            if times:
                out["edit arrival first / median / last"] = (
                    f"{times[0]:.1f} / {statistics.median(times):.1f} / {times[-1]:.1f} s"
                    + ("" if len(times) == len(tenants) else f" ({len(times)} arrived)")
                )
                out["last ÷ ideal (goal ≤ 1.3)"] = f"{times[-1] / ideal:.2f}x"
            else:
                out["edit arrival first / median / last"] = "none arrived"
            await asyncio.sleep(max(args.echo_wait, 2 * window / max(cycles, 1e-9)))
            edits = await count_calls(http, tenants)
            throttled += edits.throttled
            out["writes per edit (expect 1.00)"] = f"{edits.cb_writes / len(tenants):.2f}"
            out["echo writes (expect 0)"] = str(edits.po_writes)
            out["server 429s"] = str(throttled)
            out["PowerOffice Go peak requests/s (server)"] = str(limiter.peak)
            out["worker peak RSS"] = (
                ", ".join(f"{rss_kib(w.process.pid, 'VmHWM') / 1024:.0f}" for w in workers) + " MiB"
            )
        finally:
            await stop_workers(workers)
            for tenant in tenants:
                await tenant.po.stop()
                await tenant.cb.stop()
    return out


# -- join stage ------------------------------------------------------------------------------


async def end_offset(bootstrap: str, topic: str) -> int:
    """Messages in one-partition ``topic``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def first_and_last_ms(bootstrap: str, topic: str) -> tuple[int, int, int]:
    """(count, timestamp of the first message, of the last), over one-partition ``topic``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        stamps = []
        for offset in (0, end - 1):
            consumer.seek(tp, offset)
            message = await consumer.getone()
            stamps.append(int(message.timestamp))
        return end, stamps[0], stamps[1]
    finally:
        await consumer.stop()


def change_events(connection: str, count: int) -> list[tuple[bytes, bytes]]:
    store = PowerOfficeStore()
    source = PowerOfficeChangeSource(client=None, resource=Resource.EMPLOYEES)  # type: ignore[arg-type]
    now = int(time.time() * 1000)
    out = []
    for record in store.seed_employees(count):
        event = source.to_event(record, connection=connection, observed_ms=now)
        out.append((event.key, event.to_bytes()))
    return out


async def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes, bytes]],
    *,
    acks: int | str = "all",
    batch_size: int = 5000,
) -> int:
    """Send ``messages`` (key, value) to partition 0 of ``topic``, ``batch_size`` in flight."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024, acks=acks
    )
    await producer.start()
    sent = 0
    try:
        batch = []
        for key, value in messages:
            batch.append(await producer.send(topic, key=key, value=value, partition=0))
            sent += 1
            if len(batch) >= batch_size:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
    finally:
        await producer.stop()
    return sent


async def throughput_of(
    args: argparse.Namespace,
    env: Mapping[str, str],
    work: Path,
    mode: Sequence[str],
    out_topic: str,
    expected: int,
) -> float | None:
    log = work / f"{'-'.join(mode)}.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(args.worker_src / "benchmarks" / "join_stage.py"),
        *mode,
        cwd=args.worker_src,
        env={**env, "PYTHONPATH": str(args.worker_src), "LEDGERLINK_DATA_DIR": str(work)},
        stdout=log.open("wb"),
        stderr=asyncio.subprocess.STDOUT,
    )
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    try:

        async def done() -> bool:
            if process.returncode is not None:
                raise SystemExit(f"{mode} exited {process.returncode}; see {log}")
            return await end_offset(bootstrap, out_topic) >= expected

        if await wait_for(done, limit=args.timeout, every=1.0) is None:
            return None
        count, first, last = await first_and_last_ms(bootstrap, out_topic)
        return (count - 1) / max((last - first) / 1000, 1e-3)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def preloaded_changes(
    bootstrap: str, events: Sequence[tuple[bytes, bytes]]
) -> dict[str, str]:
    """The environment of a fresh set of topics whose `changes` holds ``events``."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LEDGERLINK_TOPIC_PREFIX": f"bench-join-{uuid.uuid4().hex[:8]}.",
        "LEDGERLINK_CONNECTION_ID": "bench",
        "LEDGERLINK_PARTITIONS": "1",
    }
    names = load_settings(env).topics
    await ensure_topics(
        bootstrap,
        [*names.all, names.changes + ".raw-out", names.changes + ".raw-ack-out"],
        partitions=1,
        replication_factor=1,
    )
    await produce(bootstrap, names.changes, events)
    return env


async def join_scenario(args: argparse.Namespace, bootstrap: str, work: Path) -> dict[str, str]:
    await asyncio.to_thread(work.mkdir, exist_ok=True)
    events = change_events("bench", args.events)
    started = time.monotonic()
    shared = await preloaded_changes(bootstrap, events)
    produced = time.monotonic() - started
    out = {"change events preloaded": f"{args.events} ({args.events / produced:.0f}/s produced)"}
    # Each join run needs its own topics (its consumer group and tables are the app's);
    # the raw loops read the first set under groups of their own.
    runs = [
        ("join agent (Faust)", ["join"], shared),
        ("join agent, tables untallied", ["join", "--untallied"], None),
        ("raw aiokafka loop", ["raw"], shared),
        ("raw loop, ack per event", ["raw", "--ack-each"], shared),
    ]
    rates: dict[str, float | None] = {}
    for label, mode, given in runs:
        env = given if given is not None else await preloaded_changes(bootstrap, events)
        names = load_settings(env).topics
        topic = {
            "join": names.upserts_chargebee,
            "raw": names.changes + (".raw-ack-out" if "--ack-each" in mode else ".raw-out"),
        }[mode[0]]
        run_dir = work / "-".join(mode).replace("--", "")
        await asyncio.to_thread(run_dir.mkdir, exist_ok=True)
        rates[label] = await throughput_of(args, env, run_dir, mode, topic, args.events)
        out[label] = "timed out" if rates[label] is None else f"{rates[label]:.0f} events/s"
    join, raw = rates["join agent (Faust)"], rates["raw aiokafka loop"]
    acked = rates["raw loop, ack per event"]
    if join and raw:
        out["join ÷ raw (aim ≥ 0.8)"] = f"{join / raw:.2f}x"
    if join and acked:
        out["join ÷ raw acking each event"] = f"{join / acked:.2f}x"
    return out


# -- a big link table ------------------------------------------------------------------------


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
        yield f"{connection}|link|{link.left.key}", link.to_json()
        yield f"{connection}|right|{link.right.key if link.right else ''}", link.left.key


async def fill_changelog(bootstrap: str, topic: str, entries: Iterable[tuple[str, Any]]) -> int:
    """Write table entries the way Faust logs them: JSON key, JSON value, partition 0."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, 1, 1, topic_configs={"cleanup.policy": "compact"})]
        )
    finally:
        await admin.close()
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
        bootstrap, f"{names.app_id}-links-changelog", link_entries(tenant.connection, args.links)
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


# -- main ------------------------------------------------------------------------------------


def print_table(title: str, columns: Sequence[str], rows: Mapping[str, Sequence[str]]) -> None:
    width = max([len(title), *(len(name) for name in rows)]) + 2
    cols = [max([len(c), *(len(r[i]) for r in rows.values())]) + 2 for i, c in enumerate(columns)]
    print()
    print(title.ljust(width) + "".join(c.ljust(w) for c, w in zip(columns, cols, strict=True)))
    print("-" * (width + sum(cols)))
    for name, values in rows.items():
        print(name.ljust(width) + "".join(v.ljust(w) for v, w in zip(values, cols, strict=True)))


async def run(args: argparse.Namespace, bootstrap: str, work: Path) -> None:
    phases = set(args.phases.split(","))
    print(
        f"kafka {bootstrap}; worker from {args.worker_src}; "
        f"{args.connections} connections x {args.employees} employees, "
        f"latency {args.latency_ms} ms, poll interval {args.poll_interval} s, "
        f"{args.partitions} partitions",
        flush=True,
    )
    if "tenants" in phases:
        results = {}
        for n in args.workers:
            print(f"… tenants on {n} worker(s)", flush=True)
            results[n] = await tenants_scenario(args, bootstrap, work, n)
            for name, value in results[n].items():
                print(f"   {name}: {value}", flush=True)
        names = list(dict.fromkeys(k for r in results.values() for k in r))
        print_table(
            "tenants",
            [f"{n} worker(s)" for n in args.workers],
            {k: [results[n].get(k, "—") for n in args.workers] for k in names},
        )
    if "join" in phases:
        print(f"\n… join stage over {args.events} events", flush=True)
        join = await join_scenario(args, bootstrap, work / "join")
        print_table("join stage", ["figure"], {k: [v] for k, v in join.items()})
    if "links" in phases:
        print(f"\n… a link table of {args.links} links", flush=True)
        links = await links_scenario(args, bootstrap, work)
        print_table("link table", ["figure"], {k: [v] for k, v in links.items()})


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join((__doc__ or "").split("\n\n")[2:]),
    )
    parser.add_argument("--connections", type=int, default=20, help="tenants (default 20)")
    parser.add_argument("--employees", type=int, default=10, help="per tenant (default 10)")
    parser.add_argument("--latency-ms", type=int, default=150, help="API latency (default 150)")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 3],
        help="worker counts to compare, e.g. 1 or 1,3 (default 1,3)",
    )
    parser.add_argument("--partitions", type=int, default=12, help="LEDGERLINK_PARTITIONS")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds (default 1)")
    parser.add_argument(
        "--po-budget", type=float, default=8.0, help="POWEROFFICE_REQUESTS_PER_SECOND (8)"
    )
    parser.add_argument(
        "--cb-rate-per-minute",
        type=int,
        default=150,
        help="each Chargebee site's limit, server and client (default 150, a test site)",
    )
    parser.add_argument("--events", type=int, default=20000, help="join stage (default 20000)")
    parser.add_argument("--links", type=int, default=1_000_000, help="link table (default 1 M)")
    parser.add_argument("--status-calls", type=int, default=5, help="status calls to time")
    parser.add_argument("--echo-wait", type=float, default=5.0, help="seconds to wait for echoes")
    parser.add_argument("--timeout", type=float, default=600.0, help="per wait (default 600 s)")
    parser.add_argument(
        "--phases", default="tenants,join,links", help="any of tenants,join,links (default all)"
    )
    parser.add_argument(
        "--worker-src",
        type=lambda text: Path(text).resolve(),
        default=REPO,
        help="source tree the worker processes run from (default: this checkout)",
    )
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="ledgerlink-tenants-") as tmp:
        work = Path(tmp)
        given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if given is None:
            bootstrap = localkafka.start(
                data_dir=work / "kafka", port=localkafka.find_free_port()
            ).bootstrap_servers
        else:
            bootstrap = given
        try:
            asyncio.run(run(args, bootstrap, work))
        finally:
            if given is None:
                localkafka.stop(data_dir=work / "kafka")


if __name__ == "__main__":
    main()
