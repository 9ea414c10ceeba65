"""The broker's storage: a new cluster id, and formatting the log directory on first start."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from connectors.exceptions import LocalKafkaError
from streams.dev.localkafka.classdata import class_data_options
from streams.dev.localkafka.jvm import java_command
from streams.dev.localkafka.layout import BrokerLayout
from streams.dev.localkafka.logtail import LOG_TAIL_LINES, tail_text

__all__ = ["format_storage", "new_cluster_id"]

log = logging.getLogger(__name__)


def format_storage(java: str, libs: Path, layout: BrokerLayout, cluster_id: str) -> None:
    """Format the log directory for cluster_id, unless it is formatted already."""
    if (layout.log_dirs / "meta.properties").exists():
        return
    log.info("Formatting Kafka storage in %s (first start)", layout.log_dirs)
    command = java_command(
        java,
        libs,
        layout,
        [
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "--ignore-formatted",
            "-t",
            cluster_id,
            "-c",
            str(layout.properties_file),
        ],
        class_data=class_data_options(libs, layout, dump=False),
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        output = tail_text(result.stdout + result.stderr, LOG_TAIL_LINES)
        raise LocalKafkaError(
            f"Formatting Kafka storage in {layout.log_dirs} failed (exit {result.returncode}):\n"
            f"{output}"
        )


def new_cluster_id(java: str, libs: Path, layout: BrokerLayout) -> str:
    """A fresh cluster id from Kafka's own StorageTool."""
    command = java_command(
        java,
        libs,
        layout,
        ["kafka.tools.StorageTool", "random-uuid"],
        class_data=class_data_options(libs, layout, dump=False),
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        output = tail_text(result.stdout + result.stderr, LOG_TAIL_LINES)
        raise LocalKafkaError(f"`StorageTool random-uuid` failed:\n{output}")
    return lines[-1].strip()
