"""Creating ledgerlink's topics before the worker subscribes to them.

Faust assigns only topics that exist when the consumer group forms; a topic created
later (by the first produce) would never be assigned. So the worker makes sure its
topics exist, with the configured partition count, before Faust starts. Existing topics
are left alone; a partition count that differs from the setting is an error, because the
tables must have as many partitions as their source topics (and Kafka can grow a topic's
partitions but never shrink them: docs/worker.md, "Scaling out"). Topics named in
``compacted`` keep only the latest record of each key (the poll state).

This is also the worker's proof that Kafka answers before it touches the disk: it tries
for about ten seconds, then fails with one line naming `KAFKA_BOOTSTRAP_SERVERS`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from connectors.exceptions import ConfigError, LedgerlinkError

__all__ = ["RETRY_BACKOFF_MS", "TopicSetupError", "ensure_topics"]

#: Between retries of a request (aiokafka's default, 100 ms, floods the log when it fails).
RETRY_BACKOFF_MS = 1000

log = logging.getLogger(__name__)


class TopicSetupError(LedgerlinkError):
    """Kafka could not be reached or refused to create a topic."""


def _led(topic: dict[str, Any]) -> bool:
    partitions = topic.get("partitions") or []
    return bool(partitions) and all(p.get("leader", -1) >= 0 for p in partitions)


async def _described_with_leaders(
    admin: AIOKafkaAdminClient, topics: list[str], *, within: float = 10.0
) -> list[dict[str, Any]]:
    """The topics' descriptions once every partition of each has a leader (a topic just
    created has none for a moment), or as they are after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        described: list[dict[str, Any]] = list(await admin.describe_topics(topics))
        if all(_led(topic) for topic in described):
            return described
        if asyncio.get_running_loop().time() >= deadline:
            return described
        await asyncio.sleep(0.2)


async def ensure_topics(
    bootstrap_servers: str,
    names: Iterable[str],
    *,
    partitions: int,
    replication_factor: int,
    compacted: Iterable[str] = (),
    attempts: int = 10,
) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, retry_backoff_ms=RETRY_BACKOFF_MS
    )
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except KafkaError as exc:
            if attempt + 1 == attempts:
                raise TopicSetupError(
                    f"cannot reach Kafka at {bootstrap_servers} ({type(exc).__name__}); check "
                    "KAFKA_BOOTSTRAP_SERVERS and that the broker runs"
                ) from exc
            await asyncio.sleep(1.0)
    try:
        compact = set(compacted)
        wanted = list(dict.fromkeys([*names, *compact]))
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            num_partitions=partitions,
                            replication_factor=replication_factor,
                            topic_configs={"cleanup.policy": "compact"} if name in compact else {},
                        )
                        for name in missing
                    ]
                )
                log.info("created topics %s", ", ".join(missing))
            except TopicAlreadyExistsError:
                pass  # another worker was quicker
        described = await _described_with_leaders(admin, wanted)
        for topic in described:
            count = len(topic.get("partitions") or [])
            if count and count != partitions:
                raise ConfigError(
                    "LEDGERLINK_PARTITIONS",
                    f"is {partitions} but topic {topic['topic']!r} has {count} partitions; "
                    "they must match (set it to the topics' count, or grow the topics: "
                    "docs/worker.md, 'Scaling out')",
                )
    except KafkaError as exc:
        raise TopicSetupError(f"could not create ledgerlink's topics: {exc}") from exc
    finally:
        await admin.close()
