"""Helper processes of `benchmarks/tenants.py` for the join-stage comparison.

    join   the join agent alone: a Faust app with the worker's topics and tables
           (`streams.app.build_app`) and only `JoinAgent` on `changes` — no pollers, no
           sinks — writing its tables through the status tallies, as the worker does
           (``--untallied``: straight into the tables, to see what the counting costs;
           ``--pipelined``: the sketch `benchmarks.pipelined_join` instead of the join).
    forward  Faust's own floor: the same app with, instead of the join, an agent that only
           forwards each event of `changes` to `changes.forward-out` (``--ack-each``:
           waiting for each one's ack before the next event, as the join does).
    raw    the floor: a plain aiokafka loop that consumes the same `changes` topic and
           produces one message per event (``--ack-each``: waiting for each one's ack, as
           the join agent does before committing its table writes).

Both read their settings from the environment as the worker does (KAFKA_BOOTSTRAP_SERVERS,
LEDGERLINK_TOPIC_PREFIX, LEDGERLINK_DATA_DIR, LEDGERLINK_CONNECTION_ID, …) and run until
stopped. The parent measures their throughput from the timestamps of what they produced.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faust import Worker

from benchmarks.pipelined_join import PipelinedJoin
from mappings import load_flows
from streams.agents.join import JoinAgent
from streams.agents.plumbing import ConnectionLocks
from streams.app import FaustOutbox, build_app
from streams.config import load_settings
from streams.engine import now_ms
from streams.runtime import Runtime
from streams.table_counts import TableTallies


def run_join(*, tallied: bool, pipelined: bool = False) -> None:
    settings = load_settings()
    topology = build_app(settings)
    app, names = topology.app, topology.names
    links, reports = topology.links, topology.reports
    if tallied:
        tallies = TableTallies(topology.links, topology.reports)
        tallies.follow(app)
        links, reports = tallies.links, tallies.reports
    join = (PipelinedJoin if pipelined else JoinAgent)(
        flows=load_flows(),
        links=links,
        reports=reports,
        outbox=FaustOutbox(topology.topics),
        topics=names,
        locks=ConnectionLocks(),
        runtime=Runtime(),
        served=tuple(c.id for c in settings.connections),
        clock_ms=now_ms,
    )
    app.agent(topology.topics[names.changes], name="ledgerlink.join")(join.run)
    _run_worker(app, settings.data_dir)


def _run_worker(app: Any, data_dir: Path) -> None:
    (data_dir / "faust").mkdir(parents=True, exist_ok=True)
    # "info", as `ledgerlink worker` runs: at "warning" Faust's worker keeps its terminal
    # spinner and sets the root logger to DEBUG so that it spins on every record, which
    # makes aiokafka and Faust build a debug record per message sent (~10 % of the run).
    Worker(app, loglevel="info", quiet=True, redirect_stdouts=False).execute_from_commandline()


def run_forward(*, ack_each: bool) -> None:
    settings = load_settings()
    topology = build_app(settings)
    app, names = topology.app, topology.names
    out_name = forward_topic(names.changes, ack_each=ack_each)
    out = app.topic(out_name, key_serializer="raw", value_serializer="raw", partitions=1)

    async def forward(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            sent = await out.send(key=message.key, value=message.value)
            if ack_each:
                await sent

    app.agent(topology.topics[names.changes], name="ledgerlink.forward")(forward)
    _run_worker(app, settings.data_dir)


def forward_topic(changes: str, *, ack_each: bool) -> str:
    return f"{changes}.forward{'-ack' if ack_each else ''}-out"


async def run_raw(ack_each: bool) -> None:
    settings = load_settings()
    names = settings.topics
    consumer = AIOKafkaConsumer(
        names.changes,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"{names.app_id}-raw{'-ack' if ack_each else ''}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await consumer.start()
    await producer.start()
    out = f"{names.changes}.raw-ack-out" if ack_each else f"{names.changes}.raw-out"
    try:
        async for message in consumer:
            # one output message per event, of the size of an upsert command
            sent = await producer.send(out, key=message.key, value=message.value)
            if ack_each:
                await sent
    finally:
        await producer.stop()
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("join", "forward", "raw"))
    parser.add_argument("--ack-each", action="store_true", help="raw, forward: wait for each ack")
    parser.add_argument(
        "--untallied", action="store_true", help="join: write the tables without the tallies"
    )
    parser.add_argument(
        "--pipelined", action="store_true", help="join: the pipelined sketch (not the worker's)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.mode == "join":
        run_join(tallied=not args.untallied, pipelined=args.pipelined)
    elif args.mode == "forward":
        run_forward(ack_each=args.ack_each)
    else:
        asyncio.run(run_raw(args.ack_each))


if __name__ == "__main__":
    main()
