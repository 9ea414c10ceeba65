"""Fixtures every test may use: the Kafka broker of the session and unique topic names.

The broker is real Apache Kafka. ``KAFKA_BOOTSTRAP_SERVERS`` points the suite at one that
already runs; without it the first test that asks for ``kafka_bootstrap`` starts a local
broker (``streams.dev.localkafka``) on a free port with its data in a temporary directory, and
the session stops it at the end. Tests share that broker and isolate themselves by topic
(and consumer group) names, so ``topic_name`` gives every test its own prefix.

Fixtures of one area (simulators, settings) belong in that area's own conftest.py.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest

from streams.dev import localkafka


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a running Kafka broker, shared by the whole session."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if given:
        yield given
        return
    data_dir = tmp_path_factory.mktemp("kafka")
    status = localkafka.start(data_dir=data_dir, port=localkafka.find_free_port())
    try:
        yield status.bootstrap_servers
    finally:
        localkafka.stop(data_dir=data_dir)


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A topic name no other test (or earlier run against the same broker) uses."""
    test = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name).strip("-").lower()[:80]
    return f"t-{test}-{uuid.uuid4().hex[:8]}"
