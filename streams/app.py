"""Builds the Faust app of one worker: its topics and its two tables, nothing else.

State (design §3): the link table (`links`) and the report table (`reports`) are Faust
tables on RocksDB through rocksdict, changelogged to Kafka and recovered from there after
a restart or a lost disk. Every topic is keyed by the connection id, and all topics and
tables have the same number of partitions, so a connection's events, upserts and state
share one partition and one worker. No global tables. The agents, the poll task and the
web pages are attached by `streams.engine`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import faust

from streams.agents.plumbing import Delivery
from streams.config import Settings, TopicNames
from streams.config.topics import TABLES

__all__ = ["FaustOutbox", "Topology", "build_app"]


@dataclass(frozen=True)
class Topology:
    app: faust.App
    names: TopicNames
    topics: dict[str, Any]  # topic name → Faust topic
    links: Any  # Faust table: str → JSON object
    reports: Any
    parked: Any  # commands waiting for their target (streams.sync.parking)


class FaustOutbox:
    """Sends to the app's topics by name (the agents' `Outbox`)."""

    def __init__(self, topics: dict[str, Any]) -> None:
        self._topics = topics

    async def send(self, topic: str, key: bytes, value: bytes) -> Awaitable[Delivery]:
        result: Awaitable[Delivery] = await self._topics[topic].send(key=key, value=value)
        return result


def _broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{server.strip()}" for server in bootstrap.split(","))


def build_app(settings: Settings) -> Topology:
    names = settings.topics
    partitions = settings.partitions
    app = faust.App(
        names.app_id,
        broker=_broker_url(settings.kafka_bootstrap_servers),
        store="rocksdb://",
        datadir=str(settings.data_dir / "faust"),
        topic_partitions=partitions,
        topic_replication_factor=settings.replication_factor,
        web_enabled=True,
        web_bind=settings.web_bind,
        web_port=settings.web_port,
        web_host="127.0.0.1",
        broker_commit_interval=1.0,
        # A worker that died (SIGKILL, lost host) leaves the group after 10 s instead of
        # 60, so a restarted worker takes its partitions over quickly.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        stream_wait_empty=False,  # every effect is idempotent; shutdown need not drain
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        table_standby_replicas=0,
    )
    topics = {
        name: app.topic(name, key_serializer="raw", value_serializer="raw", partitions=partitions)
        for name in names.all
    }
    # Keys are text and values JSON objects (the app's default JSON serializer); RocksDB
    # through rocksdict, named so that an installed python-rocksdb is never picked instead.
    # (Faust pops the driver out of the options it is given: one dict per table.)
    links, reports, parked = (
        app.Table(table, partitions=partitions, key_type=str, options={"driver": "rocksdict"})
        for table in TABLES
    )
    return Topology(
        app=app, names=names, topics=topics, links=links, reports=reports, parked=parked
    )
