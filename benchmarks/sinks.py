"""Benchmark: the sink stage alone, one command at a time against concurrent lanes.

Starts one Chargebee simulator per connection in this process (real HTTP on loopback,
each answering after ``--latency-ms``), and feeds a Chargebee sink agent — the real
`SinkAgent`, `Sinks` and `ChargebeeClient`s with their token buckets, tables as dicts,
no Kafka — ``--connections`` x ``--records`` create commands, interleaved by connection
as one partition would hold them. Prints the time to carry them all out with
``LEDGERLINK_SINK_CONCURRENCY`` 1 (what every partition did before) and with the given
concurrency, the most requests a site saw at once, and the ideal (commands * latency
/ concurrency). Run on demand:

    .venv/bin/python benchmarks/sinks.py --connections 5 --records 20 --latency-ms 150

Nothing here asserts: it prints figures to compare between runs on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from connectors.chargebee.client import ChargebeeClient
from connectors.chargebee.sim import server as cb_sim
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.secrets import Secret
from connectors.simkit import RunningSimulator, start_simulator
from connectors.simkit.app import STATE_KEY
from mappings import load_flows
from streams.agents.breakers import Breakers
from streams.agents.plumbing import ConnectionLocks
from streams.agents.sink_agent import SinkAgent
from streams.agents.sinks import Sinks
from streams.config.topics import TopicNames
from streams.runtime import Runtime
from streams.sync.ids import chargebee_customer_id
from streams.sync.links import LinkTable
from streams.sync.messages import Upsert
from streams.sync.reports import ReportBook
from tests.unit.streams.agents.fakes import Event, FakeOutbox, FakeStream, Message

TOPIC = "upserts.chargebee"


def stream_of(commands: list[Upsert]) -> FakeStream:
    """One partition's commands, as a sink agent's Faust stream would yield them."""
    return FakeStream(
        [
            Event(Message(TOPIC, 0, n, c.connection.encode(), c.to_bytes()))
            for n, c in enumerate(commands)
        ]
    )


@dataclass
class Writers:
    clients: dict[str, ChargebeeClient]

    def chargebee(self, connection: str) -> ChargebeeClient:
        return self.clients[connection]

    def poweroffice(self, connection: str) -> Any:
        raise NotImplementedError


def commands(connections: list[str], records: int) -> list[Upsert]:
    return [
        Upsert(
            connection=conn,
            flow="employee",
            left_key=f"poweroffice:Employee:{n}",
            target="chargebee",
            entity="customer",
            record_id=chargebee_customer_id(conn, "Employee", str(n)),
            fields={"first_name": "Kari", "last_name": f"Nordmann{n}", "email": f"k{n}@x.no"},
            source_ts_ms=1_000,
            source_event_id=f"ev-{conn}-{n}",
            create=True,
        )
        for n in range(records)
        for conn in connections
    ]


async def one_run(
    sims: dict[str, RunningSimulator],
    stores: dict[str, ChargebeeStore],
    work: list[Upsert],
    *,
    concurrency: int,
) -> tuple[float, int]:
    clients = {
        conn: ChargebeeClient(
            site=f"{conn}-bench",
            api_key=Secret(f"test_{conn}"),
            base_url=f"{sim.root_url}/api/v2",
            requests_per_minute=60_000,
        )
        for conn, sim in sims.items()
    }
    for conn, store in stores.items():
        store.reset()
        sims[conn].runner.app[STATE_KEY].stats.reset()
    flows = {flow.name: flow for flow in load_flows()}
    agent = SinkAgent(
        system="chargebee",
        sinks=Sinks(flows=flows, links=LinkTable({}), reports=ReportBook({}), clock_ms=lambda: 0),
        writers=Writers(clients),
        served=frozenset(sims),
        flows=flows,
        outbox=FakeOutbox(),
        topics=TopicNames(""),
        runtime=Runtime(),
        clock_ms=lambda: int(time.time() * 1000),
        parked={},
        locks=ConnectionLocks(),
        breakers=Breakers(),
        concurrency=concurrency,
    )
    stream = stream_of(work)
    started = time.perf_counter()
    await agent.run(stream)
    elapsed = time.perf_counter() - started
    for client in clients.values():
        await client.aclose()
    assert len(stream.acked) == len(work), f"{len(stream.acked)} of {len(work)} acknowledged"
    most = max(sim.runner.app[STATE_KEY].stats.most_in_flight for sim in sims.values())
    return elapsed, most


async def run(connections: int, records: int, latency_ms: int, concurrency: int) -> None:
    names = [f"c{n:02d}" for n in range(connections)]
    stores = {conn: ChargebeeStore() for conn in names}
    sims = {
        conn: await start_simulator(
            cb_sim.build_app(
                site=f"{conn}-bench",
                api_key=f"test_{conn}",
                rate_limit_per_minute=60_000,
                store=stores[conn],
            )
        )
        for conn in names
    }
    for sim in sims.values():
        sim.runner.app[STATE_KEY].faults.latency_ms = latency_ms
    work = commands(names, records)
    try:
        print(f"{len(work)} create commands, {connections} connections, {latency_ms} ms latency")
        for limit in (1, concurrency):
            elapsed, most = await one_run(sims, stores, work, concurrency=limit)
            ideal = len(work) * latency_ms / 1000 / limit
            print(
                f"  concurrency {limit:>3}: {elapsed:6.2f} s ({len(work) / elapsed:6.1f} "
                f"commands/s), ideal {ideal:6.2f} s, at most {most} request(s) at once per site"
            )
    finally:
        for sim in sims.values():
            await sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=5)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # every create here lacks its link, on purpose
    asyncio.run(run(args.connections, args.records, args.latency_ms, args.concurrency))


if __name__ == "__main__":
    main()
