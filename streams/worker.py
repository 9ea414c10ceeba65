"""Running the worker process: the Faust worker around the engine of `streams.engine`."""

from __future__ import annotations

import asyncio
import logging

from streams.config import Settings
from streams.engine import build_engine
from streams.topic_admin import ensure_topics

__all__ = ["run_worker"]

log = logging.getLogger(__name__)


def run_worker(settings: Settings, *, loglevel: str = "info") -> int:
    """Run until stopped (SIGTERM or Ctrl-C). Faust recovers the tables first."""
    from faust import Worker

    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    engine = build_engine(settings)
    names = engine.names
    asyncio.run(
        ensure_topics(
            settings.kafka_bootstrap_servers,
            names.all,
            partitions=settings.partitions,
            replication_factor=settings.replication_factor,
        )
    )
    log.info(
        "worker for connection %r: Kafka %s, topics prefixed %r, data in %s, status on :%d",
        settings.connection_id,
        settings.kafka_bootstrap_servers,
        settings.topic_prefix,
        settings.data_dir,
        settings.web_port,
    )
    worker = Worker(engine.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
