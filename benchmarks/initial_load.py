"""Benchmark: how fast the worker links an initial load, and how much memory it takes.

Starts both simulators in this process (real HTTP on loopback), seeds N PowerOffice Go
employees, runs `ledgerlink worker` as a subprocess against a Kafka broker (local one
started here unless KAFKA_BOOTSTRAP_SERVERS is set), and prints the time to convergence,
records per second, and the worker's peak resident memory. Run on demand:

    PYTHONPATH=. .venv/bin/python benchmarks/initial_load.py --records 2000

Nothing here asserts: it prints figures to compare between runs on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from benchmarks.harness import free_port, kafka_for
from connectors.chargebee.sim import server as cb_sim
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.poweroffice.sim import server as po_sim
from connectors.poweroffice.sim.store import PowerOfficeStore
from connectors.simkit import start_simulator

APP_KEY, CLIENT_KEY, SUBSCRIPTION_KEY = "bench-app", "bench-client", "bench"


def peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def run(records: int, bootstrap: str, work: Path) -> None:
    po_store, cb_store = PowerOfficeStore(), ChargebeeStore()
    po = await start_simulator(
        po_sim.build_app(
            application_key=APP_KEY,
            client_key=CLIENT_KEY,
            subscription_key=SUBSCRIPTION_KEY,
            rate_limit=10,
            store=po_store,
        )
    )
    cb = await start_simulator(
        cb_sim.build_app(site="bench", api_key="bench_key", rate_limit_per_minute=0, store=cb_store)
    )
    po_store.seed_employees(records)
    web_port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LEDGERLINK_DATA_DIR": str(work / "data"),
        "LEDGERLINK_TOPIC_PREFIX": f"bench-{uuid.uuid4().hex[:8]}.",
        "LEDGERLINK_WEB_PORT": str(web_port),
        "LEDGERLINK_POLL_INTERVAL": "1",
        "POWEROFFICE_BASE_URL": f"{po.root_url}/v2",
        "POWEROFFICE_TOKEN_URL": f"{po.root_url}/OAuth/Token",
        "POWEROFFICE_APPLICATION_KEY": APP_KEY,
        "POWEROFFICE_CLIENT_KEY": CLIENT_KEY,
        "POWEROFFICE_SUBSCRIPTION_KEY": SUBSCRIPTION_KEY,
        "CHARGEBEE_SITE": "bench",
        "CHARGEBEE_API_KEY": "bench_key",
        "CHARGEBEE_BASE_URL": f"{cb.root_url}/api/v2",
        "CHARGEBEE_REQUESTS_PER_MINUTE": "600000",
    }
    log = (work / "worker.log").open("wb")
    started = time.monotonic()
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams.cli", "worker", env=env, stdout=log, stderr=log
    )
    first_status = None
    peak = 0
    try:
        async with httpx.AsyncClient() as http:
            while True:
                await asyncio.sleep(0.5)
                peak = max(peak, peak_rss_kib(worker.pid))
                if worker.returncode is not None:
                    raise SystemExit(f"worker exited {worker.returncode}; see {work}/worker.log")
                try:
                    status = (
                        await http.get(f"http://127.0.0.1:{web_port}/ledgerlink/status")
                    ).json()
                except httpx.HTTPError:
                    continue
                if first_status is None:
                    first_status = time.monotonic()
                if status["converged"] and cb_store.customer_count() == records:
                    break
        done = time.monotonic()
    finally:
        worker.terminate()
        await worker.wait()
        await po.stop()
        await cb.stop()
    sync_seconds = done - (first_status or started)
    print(f"records                      {records}")
    print(f"worker start → status up     {(first_status or started) - started:6.1f} s")
    print(f"status up → converged        {sync_seconds:6.1f} s")
    print(f"records per second (sync)    {records / sync_seconds:6.1f}")
    print(f"worker peak RSS              {peak / 1024:6.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ledgerlink-bench-") as tmp:
        work = Path(tmp)
        with kafka_for(work) as bootstrap:
            asyncio.run(run(args.records, bootstrap, work))


if __name__ == "__main__":
    main()
