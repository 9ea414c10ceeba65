"""What this worker process knows about its own progress, for the status view.

Offsets the process produced (change events by the pollers, upserts by the join agent)
and offsets its agents finished; the results of the last poll of each source, the
poll schedule's cadence per connection and system, and which systems refused a
connection's keys (since when, tried next when). From these, `caught_up` tells
whether everything this process sent on has been processed — the "nothing in flight"
half of convergence. Nothing here is durable: after a restart the
pollers' first cycle and the replayed topics fill it again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from connectors.polling.runner import PollResult

__all__ = ["LaneStatus", "PollStatus", "RefusedKeys", "Runtime"]

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class PollStatus:
    last_poll_ms: int
    published: int
    read: int
    high_water: int | None


@dataclass(slots=True)
class LaneStatus:
    """The poll schedule of one connection's system: the achieved cycle (seconds between
    its last two polls; None before the second), the target cycle the budget allows, and
    its mode (active, idle or safety-net)."""

    cycle_seconds: float | None
    target_seconds: float
    mode: str


@dataclass(frozen=True, slots=True)
class RefusedKeys:
    """A system refused one connection's keys (401/403): since when (the first refusal
    since its keys last worked), when its polls try them next, and the sentence the log
    gave (it names the variables to check, never their values)."""

    since_ms: int
    retry_at_ms: int
    message: str


@dataclass
class Runtime:
    polls: dict[str, dict[str, PollStatus]] = field(default_factory=dict)  # per connection
    schedule: dict[str, dict[str, LaneStatus]] = field(default_factory=dict)  # per connection
    #: Per connection, the systems whose polls were refused its keys (none once accepted).
    refused: dict[str, dict[str, RefusedKeys]] = field(default_factory=dict)
    idle_cycles: int = 0  # consecutive full poll cycles that published nothing
    cycles: int = 0
    sent: dict[TopicPartition, int] = field(default_factory=dict)
    done: dict[TopicPartition, int] = field(default_factory=dict)
    #: Messages sent on but not yet done, for the sync lag: offset -> (connection, since
    #: ms) per topic-partition, in the order sent.
    pending: dict[TopicPartition, dict[int, tuple[str, int]]] = field(default_factory=dict)
    #: The partitions assigned here at the last rebalance (None before the first).
    assigned: frozenset[int] | None = None

    def record_polls(self, connection: str, results: Sequence[PollResult], *, at_ms: int) -> None:
        polls = self.polls.setdefault(connection, {})
        for result in results:
            polls[f"{result.system}:{result.entity}"] = PollStatus(
                last_poll_ms=at_ms,
                published=result.published,
                read=result.read,
                high_water=result.high_water,
            )

    def record_schedule(self, connection: str, system: str, status: LaneStatus) -> None:
        self.schedule.setdefault(connection, {})[system] = status

    def record_refused(
        self, connection: str, system: str, *, at_ms: int, retry_at_ms: int, message: str
    ) -> None:
        """``system`` refused ``connection``'s keys at ``at_ms``; tried next at
        ``retry_at_ms``. A refusal repeated before the keys worked keeps the first time."""
        systems = self.refused.setdefault(connection, {})
        earlier = systems.get(system)
        systems[system] = RefusedKeys(
            since_ms=at_ms if earlier is None else earlier.since_ms,
            retry_at_ms=retry_at_ms,
            message=message,
        )

    def record_accepted(self, connection: str, system: str) -> None:
        """A poll of ``connection``'s ``system`` was answered: its keys work (again)."""
        systems = self.refused.get(connection)
        if systems is not None:
            systems.pop(system, None)
            if not systems:
                del self.refused[connection]

    def record_cycle(self, *, quiet: bool) -> None:
        """Every connection's sources were polled once more (a safety-net poll of webhooks
        aside); ``quiet``: all of them answered and none published anything."""
        self.cycles += 1
        self.idle_cycles = self.idle_cycles + 1 if quiet else 0

    def record_sent(
        self,
        topic: str,
        partition: int,
        offset: int,
        *,
        connection: str | None = None,
        since_ms: int | None = None,
    ) -> None:
        """``connection`` and ``since_ms`` (when the change it carries was seen): the
        message counts towards that connection's sync lag until it is done. A message
        sent to a partition not assigned here (a poll that was under way when its
        connection moved away publishes after the rebalance) is another worker's to
        process: not waited for, as `keep_only` would have it."""
        if self.assigned is not None and partition not in self.assigned:
            return
        key = (topic, partition)
        self.sent[key] = max(offset, self.sent.get(key, -1))
        if connection is not None and since_ms is not None and offset > self.done.get(key, -1):
            self.pending.setdefault(key, {})[offset] = (connection, since_ms)

    def record_done(self, topic: str, partition: int, offset: int) -> None:
        key = (topic, partition)
        self.done[key] = max(offset, self.done.get(key, -1))
        waiting = self.pending.get(key)
        if waiting:
            for sent in [o for o in waiting if o <= offset]:
                del waiting[sent]

    def oldest_pending_ms(self) -> dict[str, int]:
        """Per connection, when the oldest change still in flight was seen."""
        oldest: dict[str, int] = {}
        for waiting in self.pending.values():
            for connection, since_ms in waiting.values():
                oldest[connection] = min(since_ms, oldest.get(connection, since_ms))
        return oldest

    def keep_only(self, connections: Collection[str], partitions: Collection[int]) -> None:
        """After a rebalance: forget the polls of other ``connections`` and the offsets of
        other ``partitions`` (of every topic). Another worker processes those now, so
        their progress is not this one's to wait for or to report as lag; nor is that of
        messages sent to them later (`record_sent`)."""
        self.assigned = frozenset(partitions)
        for per_connection in (self.polls, self.schedule, self.refused):
            for connection in [c for c in per_connection if c not in connections]:
                del per_connection[connection]
        for offsets in (self.sent, self.done, self.pending):
            for key in [k for k in offsets if k[1] not in partitions]:
                del offsets[key]

    def caught_up(self) -> bool:
        return all(self.done.get(tp, -1) >= offset for tp, offset in self.sent.items())
