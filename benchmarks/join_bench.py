"""The join stage alone against a raw aiokafka consume→produce loop (`join_stage.py`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmarks.harness import end_offset, first_and_last_ms, produce, wait_for
from connectors.poweroffice.poller import PowerOfficeChangeSource
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.sim.store import PowerOfficeStore
from streams.config import load_settings
from streams.topic_admin import ensure_topics


def change_events(connection: str, count: int) -> list[tuple[bytes, bytes]]:
    store = PowerOfficeStore()
    source = PowerOfficeChangeSource(client=None, resource=Resource.EMPLOYEES)  # type: ignore[arg-type]
    now = int(time.time() * 1000)
    out = []
    for record in store.seed_employees(count):
        event = source.to_event(record, connection=connection, observed_ms=now)
        out.append((event.key, event.to_bytes()))
    return out


# where each helper mode (`join_stage.py MODE [--ack-each]`) writes one message per event
OUTPUTS = {
    ("raw", False): ".raw-out",
    ("raw", True): ".raw-ack-out",
    ("forward", False): ".forward-out",
    ("forward", True): ".forward-ack-out",
}


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
        [
            *names.all,
            *(names.changes + suffix for suffix in OUTPUTS.values()),
        ],
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
    # Each Faust run needs its own topics (its consumer group and tables are the app's);
    # the raw loops read the first set under groups of their own.
    runs = [
        ("join agent (Faust)", ["join"], shared),
        ("join agent, tables untallied", ["join", "--untallied"], None),
        ("pipelined join sketch (not the worker's)", ["join", "--pipelined"], None),
        ("Faust agent that only forwards", ["forward"], None),
        ("Faust forwarding, ack per event", ["forward", "--ack-each"], None),
        ("raw aiokafka loop", ["raw"], shared),
        ("raw loop, ack per event", ["raw", "--ack-each"], shared),
    ]
    rates: dict[str, float | None] = {}
    for label, mode, given in runs:
        env = given if given is not None else await preloaded_changes(bootstrap, events)
        names = load_settings(env).topics
        if mode[0] == "join":
            topic = names.upserts_chargebee
        else:
            topic = names.changes + OUTPUTS[(mode[0], "--ack-each" in mode)]
        run_dir = work / "-".join(mode).replace("--", "")
        await asyncio.to_thread(run_dir.mkdir, exist_ok=True)
        rates[label] = await throughput_of(args, env, run_dir, mode, topic, args.events)
        out[label] = "timed out" if rates[label] is None else f"{rates[label]:.0f} events/s"
    join, raw = rates["join agent (Faust)"], rates["raw aiokafka loop"]
    ratios = [
        ("join ÷ raw (aim ≥ 0.8)", join, raw),
        ("join ÷ raw acking each event", join, rates["raw loop, ack per event"]),
        ("pipelined sketch ÷ raw", rates["pipelined join sketch (not the worker's)"], raw),
        ("Faust forwarding ÷ raw", rates["Faust agent that only forwards"], raw),
        (
            "join ÷ Faust forwarding, ack per event",
            join,
            rates["Faust forwarding, ack per event"],
        ),
    ]
    for label, numerator, denominator in ratios:
        if numerator and denominator:
            out[label] = f"{numerator / denominator:.2f}x"
    return out
