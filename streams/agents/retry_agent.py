"""The retry agent: wake-ups for parked records, one message per record that is due.

The parked commands themselves live in the `parked` table (`streams.sync.parking`); a
timer sends a small wake-up, keyed by the connection, to `upserts.retry` when a record
is due, and this agent hands it to the sink of its target, which tries the record's
commands again in order — while processing a message of the connection's partition, so
its table writes land where the connection's state lives. A wake-up that is malformed,
late or doubled is harmless: the table says what is due. Wake-ups are carried out in
lanes (`streams.agents.laned_stream`), one per record, so one record's slow retry holds
up no other record's, nor another connection's.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping

import orjson

from streams.agents.laned_stream import LanedAgent, LanedStream
from streams.agents.plumbing import Received
from streams.agents.sink_agent import SinkAgent
from streams.runtime import Runtime

__all__ = ["RetryAgent", "wake_up"]

log = logging.getLogger(__name__)


def wake_up(connection: str, target: str, left_key: str) -> bytes:
    return orjson.dumps({"connection": connection, "target": target, "left_key": left_key})


class RetryAgent(LanedAgent):
    def __init__(
        self, *, sinks: Mapping[str, SinkAgent], runtime: Runtime, concurrency: int = 32
    ) -> None:
        self.sinks = sinks
        self.runtime = runtime
        self.stream = LanedStream(
            name="retry",
            limit=concurrency,
            key_of=wake_up_lane,
            work=self.carry_out,
            done=self._done,
            give_up=self._dropped,
        )

    async def _dropped(self, received: Received, reason: str) -> None:
        # Harmless: the timer wakes a record that is still due again.
        log.error("dropping the wake-up at offset %d: it %s", received.offset, reason)

    async def carry_out(self, received: Received) -> None:
        try:
            raw = orjson.loads(received.value)
            sink = self.sinks[raw["target"]]
            connection, left_key = str(raw["connection"]), str(raw["left_key"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            log.warning("ignoring a malformed wake-up at offset %d: %s", received.offset, exc)
        else:
            if connection in sink.served:
                await sink.retry(connection, left_key)


def wake_up_lane(received: Received) -> Hashable | None:
    """A wake-up's lane: its record on its target (None: malformed, any order)."""
    try:
        raw = orjson.loads(received.value)
        return (str(raw["connection"]), str(raw["target"]), str(raw["left_key"]))
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
