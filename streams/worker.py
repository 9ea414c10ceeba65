"""Running the worker process: checks first, then the Faust worker around the engine of
`streams.engine`.

Order matters. Nothing touches the disk until the settings are known to work: the start-up
check (`streams.preflight`) signs in to PowerOffice Go once per integration and reaches
every connection's Chargebee site (each connection's own PowerOffice Go keys are proven by
its first poll, on the worker that comes to own it), then the topics
are made sure of, which also proves Kafka answers. Each failure there is a
`LedgerlinkError` whose one line the command line prints. Only then is the data directory
created and Faust started.

While it runs, `BrokerHealth` turns a Kafka outage into one line when it starts and one when
it ends, `kafka_backoff` keeps aiokafka's producers from spinning while it lasts, and an
expected error that stops Faust (keys revoked while running) is logged and reported as one
line rather than as a traceback.
"""

from __future__ import annotations

import asyncio
import logging

from faust import Worker

from connectors.exceptions import ApiError, LedgerlinkError
from streams import kafka_backoff
from streams.broker_health import BrokerHealth
from streams.config import Settings
from streams.engine import build_engine
from streams.one_line_errors import OneLineErrors
from streams.preflight import check_connections, explain
from streams.topic_admin import ensure_topics

__all__ = ["run_worker"]

log = logging.getLogger(__name__)


class LedgerlinkWorker(Worker):
    """Faust's worker, with expected errors logged without their traceback."""

    one_line_errors = OneLineErrors()

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        self.one_line_errors.install(logger)


def run_worker(
    settings: Settings, *, loglevel: str = "info", health: BrokerHealth | None = None
) -> int:
    """Check the settings, then run until stopped (SIGTERM or Ctrl-C).

    Faust recovers the tables first. Raises a `LedgerlinkError` when a check fails or an
    expected error stopped the worker; returns the exit code otherwise. ``health`` is the
    broker's reachability (made here unless given): the status view should read the same
    object, so that it never reports convergence while the broker is away.
    """
    kafka_backoff.install()
    if health is None:
        health = BrokerHealth(settings.kafka_bootstrap_servers)
    health.install()
    asyncio.run(check_connections(settings))
    names = settings.topics
    asyncio.run(
        ensure_topics(
            settings.kafka_bootstrap_servers,
            names.all,
            # Faust would create the changelogs itself, but a consumer that joins while
            # one is being created keeps seeing it without partitions, and the table's
            # first write then fails (PartitionsMismatch) until metadata is refreshed.
            compacted=[names.poll_state, *names.changelogs],
            partitions=settings.partitions,
            replication_factor=settings.replication_factor,
        )
    )
    health.mark_reachable()  # the topics are there: whatever failed before, Kafka answers now

    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    engine = build_engine(settings, broker=health)
    log.info(
        "worker for connection %r: Kafka %s, topics prefixed %r, data in %s, status on :%d",
        settings.connection_id,
        settings.kafka_bootstrap_servers,
        settings.topic_prefix,
        settings.data_dir,
        settings.web_port,
    )
    worker = LedgerlinkWorker(engine.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    code = 0
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (1 if exc.code else 0)
    crash = worker.crash_reason
    if isinstance(crash, ApiError):
        raise explain(settings, crash) from crash
    if isinstance(crash, LedgerlinkError):
        raise crash
    return code
