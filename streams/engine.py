"""Wires one worker: the Faust app of `streams.app`, the join and sink agents, the poll
task, the sweeper for stuck creates, and the web pages. Nothing runs until a
`faust.Worker` starts the app (`streams.worker`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import faust

from connectors.exceptions import ApiError
from connectors.polling.kafka_state import KafkaCursorStore, KafkaIdSetStore, PollStateLog
from connectors.poweroffice.deletions import DeletionWatch
from connectors.transport.observe import observe_requests
from mappings import Flow, load_flows
from streams.agents.backlog import CommandBacklog, OffsetProbe, partition_lag
from streams.agents.breakers import Breakers
from streams.agents.join import JoinAgent
from streams.agents.plumbing import ConnectionLocks
from streams.agents.poll_loop import (
    ConnectionPoll,
    PollLoop,
    TrackingPublisher,
    connection_budgets,
    connection_sources,
    schedule_settings,
)
from streams.agents.retry_agent import RetryAgent, wake_up
from streams.agents.sink_agent import SinkAgent
from streams.agents.sinks import Sinks
from streams.app import FaustOutbox, build_app
from streams.broker_health import BrokerHealth
from streams.clients import ServedClients
from streams.config import Settings, TopicNames
from streams.metrics import Metrics, TableCounts
from streams.ownership import Ownership, follow_rebalances, member_partitions, owned_connections
from streams.poll_state import follow_ownership
from streams.preflight import describe_refusal
from streams.runtime import Runtime
from streams.sync.links import LinkTable
from streams.sync.parking import ParkingLot, parked_key
from streams.sync.reports import ReportBook
from streams.sync.stuck import creates_to_redrive
from streams.table_counts import TableTallies
from streams.web import add_pages
from streams.webhooks import WebhookHealth, WebhookReceiver, add_webhook_page, register_endpoints

__all__ = ["Engine", "build_engine", "now_ms"]

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Engine:
    settings: Settings
    app: faust.App
    names: TopicNames
    flows: Sequence[Flow]
    runtime: Runtime = field(default_factory=Runtime)
    metrics: Metrics | None = None


def build_engine(
    settings: Settings,
    *,
    flows: Sequence[Flow] | None = None,
    broker: BrokerHealth | None = None,
) -> Engine:
    """``broker``: the process's view of Kafka's reachability; the worker watches it and
    its status never says converged while Kafka is away (None: not watched)."""
    flows = list(flows) if flows is not None else load_flows()
    flow_map = {flow.name: flow for flow in flows}
    topology = build_app(settings)
    app, names = topology.app, topology.names
    engine = Engine(settings=settings, app=app, names=names, flows=flows)
    runtime = engine.runtime
    served = tuple(c.id for c in settings.connections)
    clients = ServedClients(settings.connections, poll_share=settings.poll_min_share)
    locks = ConnectionLocks()
    outbox = FaustOutbox(topology.topics)
    # Links and reports are written through `tallies`, which keeps the status counts.
    tallies = TableTallies(topology.links, topology.reports)
    tallies.follow(app)
    links = LinkTable(tallies.links)
    reports = ReportBook(tallies.reports)
    parking = ParkingLot(topology.parked)
    metrics = Metrics(
        runtime=runtime,
        served=served,
        clock_ms=now_ms,
        tables=TableCounts(
            parked=parking.entries,
            dead_letters=lambda c: tallies.reports_of(c).get(("dead-letter",), 0),
            conflicts=lambda c: tallies.reports_of(c).get(("conflict",), 0),
            open_actions=lambda c: tallies.reports_of(c).get(("action", "open"), 0),
        ),
    )
    engine.metrics = metrics
    # Every HTTP attempt of this process's API clients is counted (see streams.metrics).
    observe_requests(metrics.observe_request)
    sinks = Sinks(flows=flow_map, links=links, reports=reports, clock_ms=now_ms, locks=locks)

    join = JoinAgent(
        flows=flows,
        links=tallies.links,
        reports=tallies.reports,
        outbox=outbox,
        topics=names,
        locks=locks,
        runtime=runtime,
        served=served,
        clock_ms=now_ms,
        metrics=metrics,
    )
    app.agent(topology.topics[names.changes], name="ledgerlink.join")(join.run)
    app.agent(topology.topics[names.changes_replay], name="ledgerlink.join.replay")(join.run_replay)
    breakers = Breakers()
    sink_agents: dict[str, SinkAgent] = {}
    for system in ("chargebee", "poweroffice"):
        sink = SinkAgent(
            system=system,
            sinks=sinks,
            writers=clients,
            served=frozenset(served),
            flows=flow_map,
            outbox=outbox,
            topics=names,
            runtime=runtime,
            clock_ms=now_ms,
            parked=topology.parked,
            locks=locks,
            breakers=breakers,
            give_up_ms=int(settings.retry_give_up * 1000),
            metrics=metrics,
            concurrency=settings.sink_concurrency,
        )
        sink_agents[system] = sink
        app.agent(topology.topics[names.upserts(system)], name=f"ledgerlink.sink.{system}")(
            sink.run
        )

    retry = RetryAgent(sinks=sink_agents, runtime=runtime, concurrency=settings.sink_concurrency)
    app.agent(topology.topics[names.upserts_retry], name="ledgerlink.retry")(retry.run)

    async def finish_revoked_commands(_app: Any, *args: Any, **_: Any) -> None:
        # Before the next owner reads them: commands of revoked partitions finish (or
        # stop, unacknowledged) so that no table write lands after the handover.
        revoked: set[Any] = args[0]
        partitions = [(tp.topic, tp.partition) for tp in revoked]
        laned: list[SinkAgent | RetryAgent] = [*sink_agents.values(), retry]
        await asyncio.gather(*(agent.revoke(partitions) for agent in laned))

    app.on_partitions_revoked.connect(cast(Any, finish_revoked_commands))

    woken: dict[str, tuple[int, int]] = {}  # parked key -> (due time woken for, when)

    async def wake_parked() -> None:
        now = now_ms()
        for parked in parking.entries():
            if parked.next_attempt_ms > now:
                continue
            key = parked_key(parked.connection, parked.target, parked.left_key)
            due, at = woken.get(key, (0, 0))
            if due == parked.next_attempt_ms and now - at < 30_000:
                continue  # its wake-up is on its way
            woken[key] = (parked.next_attempt_ms, now)
            await outbox.send(
                names.upserts_retry,
                parked.connection.encode(),
                wake_up(parked.connection, parked.target, parked.left_key),
            )

    app.timer(1.0, name="ledgerlink.wake_parked")(wake_parked)

    receiver: WebhookReceiver | None = None
    webhook_health: WebhookHealth | None = None
    if settings.webhook_url is not None and settings.webhook_secret is not None:
        webhook_url, webhook_secret = settings.webhook_url, settings.webhook_secret
        webhook_health = WebhookHealth(clock_ms=now_ms)
        receiver = WebhookReceiver(
            served=served, secret=webhook_secret, clock_ms=now_ms, health=webhook_health
        )
        add_webhook_page(app, receiver)
        health = webhook_health

        async def register_webhooks() -> None:
            await register_endpoints(
                clients.chargebee,
                served,
                base_url=webhook_url,
                secret=webhook_secret,
                health=health,
            )

        app.task(register_webhooks)

    # A connection is polled by the worker that holds its partition, with its share of
    # the PowerOffice Go budget; its poll state lives in Kafka and moves with it.
    def on_assigned(owned: frozenset[str]) -> None:
        found = group_members()
        if found is None:
            clients.share_poweroffice_budget(owned)
        else:
            clients.share_poweroffice_budget(owned, members=found[0], me=found[1])
        runtime.keep_only(owned, ownership.assigned)

    def group_members() -> tuple[list[frozenset[str]], int] | None:
        """Every worker's connections and this one's place among them, from Faust's view of
        the whole group's assignment; None when that view is not this assignment's."""
        try:
            # Faust's own assignor has it; its declared interface does not say so.
            assignor: Any = app.assignor
            distribution = assignor.external_topics_metadata()
            me = str(app.conf.canonical_url)
        except AttributeError:
            return None
        found = member_partitions(distribution, names.changes, me)
        if found is None or found[0][found[1]] != ownership.assigned:
            log.info("the group's assignment is not known; the budget is shared in proportion")
            return None
        parts, index = found
        return [owned_connections(served, p, settings.partitions) for p in parts], index

    ownership = Ownership(
        served, partitions=settings.partitions, topic=names.changes, on_assigned=on_assigned
    )
    follow_rebalances(app, ownership)

    def refusal(connection: str, exc: ApiError) -> str:
        settings_of = settings.connection(connection)
        if settings_of is None:
            return f"connection {connection!r}: {exc}"
        return describe_refusal(settings_of, exc)

    async def poll() -> None:
        state = PollStateLog(
            settings.kafka_bootstrap_servers, names.poll_state, partitions=settings.partitions
        )
        id_sets = KafkaIdSetStore(state)
        # Polls spend the budgets at Priority.POLL (the *_polls twins): writes go first.
        deletions = {
            conn: DeletionWatch(api.poweroffice_polls, id_sets, conn)
            for conn, api in clients.by_id.items()
        }
        publisher = TrackingPublisher(
            settings.kafka_bootstrap_servers,
            names.changes,
            runtime,
            on_published=lambda event: deletions[event.connection].saw(event),
        )
        polls = [
            ConnectionPoll(
                conn,
                connection_sources(
                    poweroffice=api.poweroffice_polls, chargebee=api.chargebee_polls
                ),
                deletions[conn],
                budgets=connection_budgets(
                    poweroffice=api.poweroffice_polls, chargebee=api.chargebee_polls
                ),
            )
            for conn, api in clients.by_id.items()
        ]
        await publisher.start()
        await state.start()
        if receiver is not None:
            receiver.sink = publisher  # webhooks publish through the pollers' producer
        follower = asyncio.ensure_future(follow_ownership(ownership, state, deletions))
        try:
            await ownership.started.wait()
            await PollLoop(
                polls,
                store=KafkaCursorStore(state),
                sink=publisher,
                interval=settings.poll_interval,
                reconcile_interval=settings.reconcile_interval,
                runtime=runtime,
                clock_ms=now_ms,
                schedule=schedule_settings(settings),
                webhooks=webhook_health,
                owns=ownership.owns,
                describe_refusal=refusal,
                refused_retry=settings.refused_retry,
            ).run()
        finally:
            follower.cancel()
            if receiver is not None:
                receiver.sink = None
            await state.stop()
            await publisher.stop()
            await clients.aclose()

    app.task(poll)

    redriven: dict[str, int] = {}
    probe = OffsetProbe(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=names.app_id)

    async def close_probe_on_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await probe.close()

    app.task(close_probe_on_stop)
    backlog = CommandBacklog(app=app, runtime=runtime, probe=probe, topic=names.upserts_chargebee)

    async def redrive_stuck_creates() -> None:
        if tallies.creating() == 0:
            return  # nothing is being created: no need to read every link
        if await backlog.waiting() != 0:
            return  # a link still `creating` may be queued behind those commands
        commands = creates_to_redrive(
            links.links(),
            flow_map,
            now_ms=now_ms(),
            timeout_ms=int(settings.create_timeout * 1000),
            redriven=redriven,
            parked=lambda conn, target, key: parking.get(conn, target, key) is not None,
        )
        for upsert in commands:
            log.warning(
                "%s: still being created after %.0f s; sending its create again",
                upsert.left_key,
                settings.create_timeout,
            )
            delivery: Any = await (
                await outbox.send(names.upserts(upsert.target), upsert.key, upsert.to_bytes())
            )
            runtime.record_sent(
                delivery.topic,
                delivery.partition,
                delivery.offset,
                connection=upsert.connection,
                since_ms=now_ms(),
            )

    app.timer(max(1.0, settings.create_timeout / 4), name="ledgerlink.redrive_creates")(
        redrive_stuck_creates
    )

    if broker is not None:

        async def watch_broker() -> None:
            await broker.watch()

        app.task(watch_broker)

    consumed = frozenset(
        {
            names.changes,
            names.changes_replay,
            names.upserts_chargebee,
            names.upserts_poweroffice,
            names.upserts_retry,
        }
    )

    async def refresh_consumer_lag() -> None:
        lag = await partition_lag(app=app, runtime=runtime, probe=probe, topics=consumed)
        if lag is not None:
            metrics.consumer_lag = lag

    add_pages(
        app,
        broker=broker,
        served=served,
        flow_names=flow_map,
        links=links,
        counts=tallies,
        parking=parking,
        runtime=runtime,
        metrics=metrics,
        refresh_metrics=refresh_consumer_lag,
    )
    return engine
