"""The broker's configuration: ``server.properties`` and the state file a data directory keeps.

The state file (``ledgerlink-kafka.json``) records the cluster id and the controller port
chosen on the first start, since both are written into the metadata log when the storage is
formatted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from connectors.exceptions import LocalKafkaError
from streams.dev.localkafka.layout import BrokerLayout
from streams.dev.localkafka.ports import HOST

__all__ = ["load_state", "render_server_properties", "save_state"]


def render_server_properties(*, port: int, controller_port: int, log_dirs: Path) -> str:
    """The broker's configuration: KRaft, broker and controller in one, tuned for tests."""
    settings: dict[str, str | int] = {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.bootstrap.servers": f"{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dirs),
        "auto.create.topics.enable": "true",
        "num.partitions": 1,
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "transaction.state.log.num.partitions": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        # A consumer group starts consuming at once instead of waiting 3 s for more members.
        "group.initial.rebalance.delay.ms": 0,
        "num.network.threads": 2,
        "num.io.threads": 4,
        "num.recovery.threads.per.data.dir": 1,
        "log.segment.bytes": 16 * 1024 * 1024,
        "log.retention.check.interval.ms": 300000,
    }
    lines = ["# Written by streams/dev/localkafka/config.py on every `ledgerlink kafka start`."]
    lines += [f"{key}={_escape_property(str(value))}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _escape_property(value: str) -> str:
    # java.util.Properties treats backslash as an escape; paths may contain ':' and '='.
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def load_state(layout: BrokerLayout) -> dict[str, object]:
    """What the data directory's state file records; empty before the first start."""
    try:
        raw = json.loads(layout.state_file.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise LocalKafkaError(
            f"{layout.state_file} is unreadable ({exc}); remove the data directory "
            f"{layout.data_dir} to start afresh (its topics are lost)"
        ) from exc
    if not isinstance(raw, dict):
        raise LocalKafkaError(f"{layout.state_file} is not a JSON object; remove it")
    return raw


def save_state(layout: BrokerLayout, state: Mapping[str, object]) -> None:
    """Replace the state file atomically."""
    tmp = layout.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    tmp.replace(layout.state_file)
