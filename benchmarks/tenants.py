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
         consume→produce loop over the same events on the same broker, and against a
         Faust agent that only forwards each event (Faust's own floor, with and without
         a wait for each ack as the join makes), and a pipelined join sketch
         (`benchmarks/pipelined_join.py`, not the worker's): throughput of each from the
         timestamps of what they produced, and the ratios (aim ≥ 0.8x of raw).
links    a link table of L links (and their Chargebee-side index entries) written to the
         table's changelog, recovered by a worker: recovery time, worker RSS, the time of
         GET /ledgerlink/status, and — the worker stopped — the time of one link lookup in
         its RocksDB. ``--worker-src DIR`` runs the worker from another source tree (e.g.
         an export of an older commit, to compare status times before and after).
webhooks Chargebee → PowerOffice Go through Chargebee webhooks with polling at 30 s
         (`benchmarks/webhook_arrivals.py`): K connections on one worker, E Chargebee
         edits spread over them, and per edit the time until PowerOffice Go shows it:
         p50 / p95 / max (goal p95 ≤ 2 s), split at the webhook delivery, writes per edit
         (1.00), echo writes (0) and server 429s. ``--latency-ms`` applies here too.

"Calls per cycle" is one pass over every connection, from quiet windows after the
initial load: for each worker, the listing calls (GETs of both APIs, sign-ins excluded)
made for the connections it polls from the end of one of its poll cycles to the end of
two more (`poll_cycles` of /ledgerlink/status), per cycle; summed over the workers. (All
listings of one fixed window divided by the workers' mean cycle count, as it was first
computed, is off whenever the workers' cycles differ in length, and by up to a whole
cycle's calls because the window starts and ends mid-cycle.) The PowerOffice Go part is
the one that must not grow with workers: Chargebee sites are polled at their own cadence
(their own budgets), so their listings per cycle follow the cycle's length.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.harness import (
    Worker,
    check_alive,
    kafka_for,
    print_table,
    rss_kib,
    start_worker,
    status_of,
    stop_workers,
    wait_for,
)
from benchmarks.join_bench import join_scenario
from benchmarks.link_table import links_scenario
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
from benchmarks.webhook_arrivals import webhooks_scenario
from connectors.poweroffice.resources import Resource
from connectors.simkit.limits import SlidingWindowLimiter
from streams.sync.ids import chargebee_customer_id

REPO = Path(__file__).resolve().parents[1]


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
    env = worker_env(args, bootstrap, scenario, tenants)
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

            # Quiet windows, one per worker from one end of its poll cycle to another: what
            # polling alone costs per cycle.
            owners = await polled_by(http, workers, [t.connection for t in tenants])
            await reset_stats(http, tenants)
            window_start = time.monotonic()
            windows = await asyncio.gather(
                *(
                    cycle_window(
                        http,
                        worker,
                        [t for t in tenants if owners.get(t.connection) == n],
                        cycles=2,
                        limit=args.timeout,
                    )
                    for n, worker in enumerate(workers)
                )
            )
            window = time.monotonic() - window_start
            quiet = await count_calls(http, tenants)
            throttled += quiet.throttled
            listings = quiet.po_listings + quiet.cb_listings
            po_cycle = sum(w.po_per_cycle for w in windows)
            cb_cycle = sum(w.cb_per_cycle for w in windows)
            out["poll cycle per worker"] = ", ".join(
                f"{w.seconds / max(w.cycles, 1):.1f} s" for w in windows
            )
            out["listing calls per cycle (PO + CB)"] = (
                f"{po_cycle + cb_cycle:.1f} ({po_cycle:.1f} + {cb_cycle:.1f})"
                + ("" if len(owners) == len(tenants) else f" ({len(owners)} owners known)")
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
            longest = max(w.seconds / max(w.cycles, 1) for w in windows)
            await asyncio.sleep(max(args.echo_wait, 2 * longest))
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
            await stop_tenants(tenants)
    return out


async def polled_by(
    http: httpx.AsyncClient, workers: Sequence[Worker], connections: Sequence[str]
) -> dict[str, int]:
    """Connection → index of the worker that polls it (its status shows the schedule of
    the connections it owns only)."""
    owners: dict[str, int] = {}
    for n, worker in enumerate(workers):
        for connection in connections:
            if (await status_of(http, worker, connection=connection))["schedule"]:
                owners.setdefault(connection, n)
    return owners


@dataclass
class CycleWindow:
    """One worker's polling between two ends of its poll cycle."""

    seconds: float
    cycles: int
    po_per_cycle: float
    cb_per_cycle: float


async def cycle_window(
    http: httpx.AsyncClient,
    worker: Worker,
    mine: Sequence[Tenant],
    *,
    cycles: int,
    limit: float,
) -> CycleWindow:
    """The listing calls of the connections ``worker`` polls (``mine``) per poll cycle it
    reports, counted from the end of one of its cycles to the end of ``cycles`` more: a
    window that starts or ends mid-cycle would count a part of a cycle's calls as a whole
    cycle, or the other way round."""

    async def cycles_now() -> int:
        check_alive([worker])
        return int((await status_of(http, worker))["poll_cycles"])

    async def ticked(past: int) -> int:
        started = time.monotonic()
        while (now := await cycles_now()) <= past:
            if time.monotonic() - started > limit:
                raise SystemExit(f"no poll cycle ended within {limit:.0f} s; see {worker.log}")
            await asyncio.sleep(0.1)
        return now

    first = await ticked(await cycles_now())
    t0, calls0 = time.monotonic(), await count_calls(http, mine)
    last = await ticked(first + cycles - 1)
    t1, calls1 = time.monotonic(), await count_calls(http, mine)
    n = last - first
    return CycleWindow(
        seconds=t1 - t0,
        cycles=n,
        po_per_cycle=(calls1.po_listings - calls0.po_listings) / n,
        cb_per_cycle=(calls1.cb_listings - calls0.cb_listings) / n,
    )


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
    if "webhooks" in phases:
        print(
            f"\n… {args.webhook_edits} Chargebee edits over {args.webhook_connections}"
            f" connections through webhooks (latency {args.latency_ms} ms, poll interval"
            f" {args.webhook_poll_interval:g} s)",
            flush=True,
        )
        hooks = await webhooks_scenario(args, bootstrap, work)
        print_table("webhooks", ["figure"], {k: [v] for k, v in hooks.items()})
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
        "--webhook-connections", type=int, default=3, help="webhooks phase (default 3)"
    )
    parser.add_argument("--webhook-edits", type=int, default=30, help="webhooks (default 30)")
    parser.add_argument(
        "--edit-spacing", type=float, default=0.3, help="seconds between edits (default 0.3)"
    )
    parser.add_argument(
        "--webhook-poll-interval",
        type=float,
        default=30.0,
        help="LEDGERLINK_POLL_INTERVAL in the webhooks phase (default 30)",
    )
    parser.add_argument(
        "--watch-every", type=float, default=0.05, help="arrival checks (default 0.05 s)"
    )
    parser.add_argument(
        "--phases",
        default="tenants,join,links,webhooks",
        help="any of tenants,join,links,webhooks (default all)",
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
        with kafka_for(work) as bootstrap:
            asyncio.run(run(args, bootstrap, work))


if __name__ == "__main__":
    main()
