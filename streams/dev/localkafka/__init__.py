"""The local single-node Apache Kafka broker: jars, storage, process, readiness.

`start` and `stop` back `ledgerlink kafka start|stop` (design §5/§6) and the test suite's
broker. Nothing is mocked: the broker is the real `kafka.Kafka` main class, its jars
resolved from Maven Central by ``deploy/kafka/pom.xml`` and cached in
``deploy/kafka/libs/`` (resolved again only when the pom changes). It runs in KRaft mode,
one process acting as broker and controller, bound to 127.0.0.1.

Everything a broker owns lives in its data directory::

    DATA_DIR/
      ledgerlink-kafka.json   cluster id and controller port, chosen on the first start
      server.properties       rendered anew on every start
      kafka.pid               pid of the running broker (absent when stopped)
      kafka.log               the broker's stdout/stderr (kafka.log.1: the previous run)
      data/                   log.dirs: the topics, the metadata log

This package owns only its public API; each job is one module:

    commands   start, stop, KafkaStatus (composes the rest)
    tools      finding Java 17+ and Maven
    jars       Maven resolution of Kafka's jars and their cache in deploy/kafka/libs
    config     server.properties and the data directory's state file
    layout     where a broker keeps its files
    ports      loopback port checks (shared with the demo)
    process    pid files, liveness, SIGTERM/SIGKILL
    jvm        the java command line and JVM options
    classdata  the class data sharing archive
    storage    cluster id and storage formatting
    probe      the Kafka protocol probe that says the broker answers
    lock       the advisory lock against racing commands
    logtail    tails of tool output and the broker's log, for error messages

It blocks (it serves a CLI command and a test fixture, not an agent).
"""

from __future__ import annotations

from streams.dev.localkafka.commands import KafkaStatus, start, stop
from streams.dev.localkafka.config import render_server_properties
from streams.dev.localkafka.jars import KAFKA_DEPLOY_DIR, ensure_jars, kafka_version
from streams.dev.localkafka.jvm import DEFAULT_JVM_OPTIONS
from streams.dev.localkafka.layout import BrokerLayout
from streams.dev.localkafka.ports import ensure_ports_free, find_free_port, port_is_free
from streams.dev.localkafka.probe import bootstrap_answers, probe_broker
from streams.dev.localkafka.process import read_pid_file, running_pid
from streams.dev.localkafka.tools import find_java, find_maven, parse_java_major

__all__ = [
    "DEFAULT_JVM_OPTIONS",
    "KAFKA_DEPLOY_DIR",
    "BrokerLayout",
    "KafkaStatus",
    "bootstrap_answers",
    "ensure_jars",
    "ensure_ports_free",
    "find_free_port",
    "find_java",
    "find_maven",
    "kafka_version",
    "parse_java_major",
    "port_is_free",
    "probe_broker",
    "read_pid_file",
    "render_server_properties",
    "running_pid",
    "start",
    "stop",
]
