"""The one poll loop: every connection's change sources polled concurrently, each when
the budget-aware schedule (`connectors.polling.schedule`) says it is due.

Each connection's sources of one system form a lane (its PowerOffice Go resources; its
Chargebee site) with its own cadence: the fastest is ``interval``, stretched to what the
lane's request budget sustains, slower while the connection is idle, and for a Chargebee
site whose webhooks are healthy (`streams.webhooks.WebhookHealth`) only a slow safety net.
Polls of different lanes run at once; the API clients' token buckets pace the requests
and the schedule keeps the polls' own demand under each budget, leaving a share to the
sinks' writes. The sources should be built on the clients' `for_polling` twins: their
requests then give way to the sinks' writes on the shared budget (writes first), and the
schedule's pacer slows while writes take the budget.

Used by the worker (with a `Runtime` that the status view reads, and the deletion watch
that finds PowerOffice Go hard deletes, run with a connection's PowerOffice Go poll when
its reconcile interval passed) and by `ledgerlink poll` (`run_polling`). A transient
failure of one source is logged and retried at its lane's next poll without stopping the
others; a permanent one (bad keys, a malformed answer) stops the loop with an error that
says what to fix — except a connection's keys refused (401/403) while the loop polls
several connections: that is one tenant's trouble, so the lane is logged as an error and
tried again only after ``refused_retry`` seconds (`LEDGERLINK_REFUSED_RETRY`; the status
shows the lane refused until a poll of it is answered again), and the other connections
go on. (A worker's first poll of a connection is what proves its keys: the start-up
check, `streams.preflight`, signs in only once per integration.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from connectors.chargebee.client import ChargebeeClient
from connectors.chargebee.poller import BusinessEntityChangeSource, CustomerChangeSource
from connectors.events import ChangeEvent
from connectors.exceptions import (
    ApiError,
    AuthenticationError,
    PermanentApiError,
    TransientApiError,
)
from connectors.polling.cursor_store import CursorStore, FileCursorStore
from connectors.polling.publisher import ChangePublisher, EventSink, PublishError
from connectors.polling.runner import ChangeSource, PollResult, poll_once
from connectors.polling.schedule import Lane, PollSchedule, ScheduleSettings
from connectors.poweroffice.client import PowerOfficeClient
from connectors.poweroffice.deletions import DeletionWatch
from connectors.poweroffice.poller import poweroffice_sources
from connectors.transport.ratelimit import TokenBucket
from streams.clients import chargebee_client, poweroffice_client
from streams.config import Settings
from streams.runtime import LaneStatus, Runtime
from streams.webhooks import WebhookHealth

__all__ = [
    "SYSTEMS",
    "ConnectionPoll",
    "PollLoop",
    "TrackingPublisher",
    "connection_budgets",
    "connection_sources",
    "run_polling",
    "schedule_settings",
]

log = logging.getLogger(__name__)

SYSTEMS = ("poweroffice", "chargebee")

#: The longest the loop sleeps before it looks again at webhooks, ownership and budgets.
LOOK_AGAIN_SECONDS = 1.0
#: How long a lane whose keys were refused waits before it is tried again, unless told
#: (the worker and `ledgerlink poll` pass `LEDGERLINK_REFUSED_RETRY`).
REFUSED_RETRY_SECONDS = 300.0


def is_refusal(exc: ApiError) -> bool:
    """Whether ``exc`` says the connection's keys were refused (not a bad request)."""
    return isinstance(exc, AuthenticationError) or exc.status in (401, 403)


def _say_refused(connection: str, exc: ApiError) -> str:
    return f"connection {connection!r}: {exc.system} refused its keys ({exc})"


def connection_sources(
    *,
    poweroffice: PowerOfficeClient | None,
    chargebee: ChargebeeClient | None,
    page_size: int | None = None,
) -> list[ChangeSource]:
    """One connection's change sources, business entities first: a company or department
    whose entity is already known then links at once, instead of raising an action item
    that is resolved seconds later (the loop polls a connection's PowerOffice Go sources
    only after its first Chargebee poll)."""
    sources: list[ChangeSource] = []
    cb_page = min(page_size or 100, 100)
    if chargebee is not None:
        sources.append(BusinessEntityChangeSource(chargebee, page_size=cb_page))
    if poweroffice is not None:
        sources.extend(poweroffice_sources(poweroffice, page_size=page_size or 1000))
    if chargebee is not None:
        sources.append(CustomerChangeSource(chargebee, page_size=cb_page))
    return sources


def connection_budgets(
    *, poweroffice: PowerOfficeClient | None, chargebee: ChargebeeClient | None
) -> dict[str, TokenBucket]:
    """The request budget each system's polls of one connection spend from."""
    budgets: dict[str, TokenBucket] = {}
    if poweroffice is not None:
        budgets["poweroffice"] = poweroffice.bucket
    if chargebee is not None:
        budgets["chargebee"] = chargebee.bucket
    return budgets


def schedule_settings(settings: Settings) -> ScheduleSettings:
    return ScheduleSettings(
        interval=settings.poll_interval,
        idle_backoff=settings.poll_idle_backoff,
        write_reserve=settings.poll_write_reserve,
        safety_interval=settings.webhook_safety_poll,
    )


@dataclass
class ConnectionPoll:
    """What is polled for one connection; ``budgets``: the token bucket each system's
    requests spend from (a system without one is polled at the fastest cadence)."""

    connection: str
    sources: Sequence[ChangeSource]
    deletions: DeletionWatch | None = None
    budgets: Mapping[str, TokenBucket] = field(default_factory=dict)


@dataclass
class _LaneWork:
    poll: ConnectionPoll
    sources: list[ChangeSource]


class PollLoop:
    """``owns`` (default: every connection) is asked before each poll whether this
    process polls that connection; ``webhooks`` says whose Chargebee changes arrive by
    webhook; ``schedule`` (default: from ``interval`` alone) shapes the cadences."""

    def __init__(
        self,
        connections: Sequence[ConnectionPoll],
        *,
        store: CursorStore,
        sink: EventSink,
        interval: float,
        reconcile_interval: float | None = None,
        runtime: Runtime | None = None,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        owns: Callable[[str], bool] | None = None,
        schedule: ScheduleSettings | None = None,
        webhooks: WebhookHealth | None = None,
        clock: Callable[[], float] = time.monotonic,
        describe_refusal: Callable[[str, ApiError], str] = _say_refused,
        refused_retry: float = REFUSED_RETRY_SECONDS,
    ) -> None:
        """``owns``: whether this worker polls a connection now (it owns the connection's
        partition, `streams.ownership`); asked before every poll. None: every connection.
        ``describe_refusal``: the sentence logged when a connection's keys are refused."""
        self.connections = list(connections)
        self.store = store
        self.sink = sink
        self.reconcile_interval = reconcile_interval
        self.runtime = runtime
        self.clock_ms = clock_ms
        self.owns: Callable[[str], bool] = owns if owns is not None else (lambda _c: True)
        self.webhooks = webhooks
        self._clock = clock
        self._describe_refusal = describe_refusal
        self.refused_retry = refused_retry
        rates: dict[Hashable, Callable[[], float]] = {}
        spare: dict[Hashable, Callable[[], float]] = {}
        for poll in self.connections:
            for bucket in poll.budgets.values():
                rates[bucket] = _current_rate(bucket)
                spare[bucket] = bucket.poll_rate
        self.schedule = PollSchedule(
            schedule if schedule is not None else ScheduleSettings(interval=interval),
            rates=rates,
            spare=spare,
            owns=lambda connection: self.owns(connection),
        )
        self._work: dict[tuple[str, str], _LaneWork] = {}
        for poll in self.connections:
            first: Lane | None = None
            for system in _systems_in_order(poll.sources):
                sources = [s for s in poll.sources if s.system == system]
                budget = poll.budgets.get(system)
                lane = self.schedule.add(
                    poll.connection,
                    system,
                    budget=budget if budget is not None else (poll.connection, system),
                    cost=len(sources),
                    waits_for=first,
                    now=clock(),
                )
                first = first or lane
                self._work[lane.key] = _LaneWork(poll, sources)
        self._next_reconcile: dict[str, float] = {}
        self._round_left: set[tuple[str, str]] = self._round_lanes()
        self._round_quiet = True
        self._round_polls = 0
        self._wakeup = asyncio.Event()

    async def run(self, *, once: bool = False) -> list[PollResult]:
        """Poll until cancelled; with ``once``, every lane once and their results."""
        waiting = {lane.key for lane in self.schedule.lanes if self.owns(lane.connection)}
        results: dict[tuple[str, str], list[PollResult]] = {}
        tasks: dict[asyncio.Task[list[PollResult]], Lane] = {}
        if self.webhooks is not None:
            self.webhooks.listeners.append(self._webhook_came)
        try:
            while not (once and not waiting):
                for task in [t for t in tasks if t.done()]:
                    done = tasks.pop(task)
                    results[done.key] = task.result()  # a permanent error stops the loop here
                    if once:
                        waiting.discard(done.key)
                        done.due = float("inf")
                if not once:
                    self._follow_signals()
                now = self._clock()
                while (lane := self.schedule.next_start(now)) is not None:
                    self.schedule.start(lane, now)
                    tasks[asyncio.create_task(self._poll_lane(lane))] = lane
                wait = self.schedule.wait(self._clock())
                timeout = LOOK_AGAIN_SECONDS if wait is None else min(wait, LOOK_AGAIN_SECONDS)
                if timeout > 0 and not any(t.done() for t in tasks):
                    await self._sleep(timeout)
                self._wakeup.clear()
        finally:
            if self.webhooks is not None:
                with contextlib.suppress(ValueError):
                    self.webhooks.listeners.remove(self._webhook_came)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        order = {key: i for i, key in enumerate(self._work)}
        return [r for key in sorted(results, key=order.__getitem__) for r in results[key]]

    async def _sleep(self, seconds: float) -> None:
        """Until ``seconds`` passed or something woke the loop (a poll ended, a webhook).

        Not `asyncio.wait_for`: before Python 3.12 it may swallow a cancellation that
        arrives as the event is set, and the loop would never stop."""
        waiter = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()

    def _webhook_came(self, connection: str) -> None:
        self.schedule.wake(connection)
        self._wakeup.set()

    def _follow_signals(self) -> None:
        """Chargebee lanes whose webhooks are healthy become safety nets (and back); a
        round no longer waits for lanes that became safety nets or moved away."""
        if self.webhooks is not None:
            for lane in self.schedule.lanes:
                healthy = self.webhooks.healthy(lane.connection)
                if lane.system == "chargebee" and lane.safety_net != healthy:
                    self.schedule.set_safety_net(lane, healthy)
                    self._record_lane(lane)
        self._settle_round()

    def _record_lane(self, lane: Lane) -> None:
        if self.runtime is not None and self.owns(lane.connection):
            self.runtime.record_schedule(
                lane.connection,
                lane.system,
                LaneStatus(
                    cycle_seconds=lane.cycle,
                    target_seconds=self.schedule.period(lane),
                    mode=self.schedule.mode(lane),
                ),
            )

    async def _poll_lane(self, lane: Lane) -> list[PollResult]:
        try:
            return await self._poll_sources(lane)
        finally:
            self._wakeup.set()

    async def _poll_sources(self, lane: Lane) -> list[PollResult]:
        work = self._work[lane.key]
        connection = lane.connection
        results: list[PollResult] = []
        listings = 0.0
        failed = False
        refused: str | None = None  # the sentence logged when the lane's keys were refused
        for source in work.sources:
            try:
                result = await poll_once(
                    source, connection=connection, store=self.store, sink=self.sink
                )
            except PermanentApiError as exc:
                if len(self.connections) == 1 or not is_refusal(exc):
                    raise
                refused = self._describe_refusal(connection, exc)
                log.error(
                    "%s; not polled again for %.0f s, the other connections go on",
                    refused,
                    self.refused_retry,
                )
                listings += 1
                failed = True
                break
            except (TransientApiError, PublishError) as exc:
                log.warning(
                    "%s %s %s: poll failed, retrying at its next poll: %s",
                    connection,
                    source.system,
                    source.entity,
                    exc,
                )
                listings += 1
                failed = True
                continue
            results.append(result)
            listings += max(result.pages, 1)
        deleted = 0
        extra = 0.0
        deletions = work.poll.deletions
        if (
            refused is None
            and deletions is not None
            and lane.system == "poweroffice"
            and self._reconcile_due(connection)
        ):
            extra = float(len(deletions.resources))
            try:
                deleted = await deletions.check(self.sink, now_ticks=time.time_ns() // 100)
                assert self.reconcile_interval is not None
                self._next_reconcile[connection] = self._clock() + self.reconcile_interval
            except (TransientApiError, PublishError) as exc:
                log.warning("%s: looking for deleted records failed: %s", connection, exc)
                failed = True
        published = sum(r.published for r in results) + deleted
        self.schedule.finish(
            lane, self._clock(), listings=listings, extra=extra, active=published > 0
        )
        if refused is not None:
            lane.due = max(lane.due, self._clock() + self.refused_retry)
        if self.runtime is not None and self.owns(connection):  # not if it moved meanwhile
            self.runtime.record_polls(connection, results, at_ms=self.clock_ms())
            self._record_keys(self.runtime, lane, refused, answered=bool(results))
        self._record_lane(lane)
        self._round_quiet = self._round_quiet and not failed and published == 0
        self._round_polls += 1
        self._round_left.discard(lane.key)
        self._settle_round()
        return results

    def _record_keys(
        self, runtime: Runtime, lane: Lane, refused: str | None, *, answered: bool
    ) -> None:
        """The status shows a lane refused until one of its sources is answered again."""
        if refused is not None:
            now_ms = self.clock_ms()
            retry_in = max(lane.due - self._clock(), 0.0)
            runtime.record_refused(
                lane.connection,
                lane.system,
                at_ms=now_ms,
                retry_at_ms=now_ms + round(retry_in * 1000),
                message=refused,
            )
        elif answered:
            runtime.record_accepted(lane.connection, lane.system)

    def _reconcile_due(self, connection: str) -> bool:
        if self.reconcile_interval is None:
            return False
        return self._clock() >= self._next_reconcile.get(connection, float("-inf"))

    def _round_lanes(self) -> set[tuple[str, str]]:
        """The lanes a round waits for: owned ones, a webhook's safety net aside."""
        return {
            lane.key
            for lane in self.schedule.lanes
            if self.owns(lane.connection) and not lane.safety_net
        }

    def _settle_round(self) -> None:
        """A round ends once every lane it waits for finished a poll: the status's cycle."""
        self._round_left &= self._round_lanes()
        if self._round_left or (self._round_polls == 0 and self._round_lanes()):
            return
        if self.runtime is not None:
            self.runtime.record_cycle(quiet=self._round_quiet)
        self._round_left = self._round_lanes()
        self._round_quiet = True
        self._round_polls = 0


def _current_rate(bucket: TokenBucket) -> Callable[[], float]:
    """The bucket's rate, read at every scheduling decision (it may change at runtime)."""
    return lambda: bucket.rate


def _systems_in_order(sources: Sequence[ChangeSource]) -> list[str]:
    """The systems of ``sources`` in the order they first appear (Chargebee first)."""
    return list(dict.fromkeys(source.system for source in sources))


class TrackingPublisher(ChangePublisher):
    """Publishes change events, remembering their offsets for the convergence check and
    showing each event to ``on_published`` (the deletion watch learns ids from them)."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        runtime: Runtime,
        *,
        on_published: Callable[[ChangeEvent], None],
    ) -> None:
        super().__init__(bootstrap_servers, topic)
        self._runtime = runtime
        self._on_published = on_published
        self._batch: Iterator[ChangeEvent] = iter(())
        # One batch at a time: the acknowledgements are matched to the batch's events.
        self._one_batch = asyncio.Lock()

    def on_acknowledged(self, partition: int, offset: int) -> None:
        # Acknowledgements arrive in the order of the batch being published.
        event = next(self._batch, None)
        self._runtime.record_sent(
            self.topic,
            partition,
            offset,
            connection=event.connection if event is not None else None,
            since_ms=event.observed_ms if event is not None else None,
        )

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        async with self._one_batch:
            self._batch = iter(events)
            await super().publish(events)
        for event in events:
            self._on_published(event)


async def run_polling(
    settings: Settings,
    *,
    once: bool = False,
    systems: Sequence[str] = SYSTEMS,
    page_size: int | None = None,
) -> list[PollResult]:
    """`ledgerlink poll`: the pollers of ``systems`` for every configured connection.

    Returns the results of the last cycle (with ``once``, of the only one).
    """
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        raise ValueError(f"unknown system(s): {', '.join(sorted(unknown))}")
    async with AsyncExitStack() as stack:
        polls: list[ConnectionPoll] = []
        for connection in settings.connections:
            po_client = cb_client = None
            if "poweroffice" in systems:
                po_client = poweroffice_client(connection.poweroffice)
                stack.push_async_callback(po_client.aclose)
            if "chargebee" in systems:
                cb_client = chargebee_client(connection.chargebee)
                stack.push_async_callback(cb_client.aclose)
            sources = connection_sources(
                poweroffice=po_client, chargebee=cb_client, page_size=page_size
            )
            budgets = connection_budgets(poweroffice=po_client, chargebee=cb_client)
            polls.append(ConnectionPoll(connection.id, sources, budgets=budgets))
        publisher = ChangePublisher(settings.kafka_bootstrap_servers, settings.topics.changes)
        await publisher.start()
        stack.push_async_callback(publisher.stop)
        loop = PollLoop(
            polls,
            store=FileCursorStore(settings.cursor_dir),
            sink=publisher,
            interval=settings.poll_interval,
            schedule=schedule_settings(settings),
            refused_retry=settings.refused_retry,
        )
        return await loop.run(once=once)
