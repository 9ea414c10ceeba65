"""The java command line every Kafka tool and the broker run with: JVM options, classpath."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streams.dev.localkafka.layout import BrokerLayout

__all__ = ["DEFAULT_JVM_OPTIONS", "java_command"]

# A small heap, and a JVM tuned to come up fast on a 2-core laptop or CI box rather than
# for peak throughput: the serial collector and C1 only, measured in deploy/kafka/README.md.
DEFAULT_JVM_OPTIONS: tuple[str, ...] = (
    "-Xmx512m",
    "-Xms256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


def java_command(
    java: str,
    libs: Path,
    layout: BrokerLayout,
    main: Sequence[str],
    *,
    class_data: Sequence[str] = (),
) -> list[str]:
    """The command that runs `main` (a class and its arguments) on Kafka's jars."""
    return [
        java,
        *DEFAULT_JVM_OPTIONS,
        *class_data,
        f"-Dlog4j2.configurationFile={libs.parent / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={layout.data_dir}",
        "-cp",
        str(libs / "*"),
        *main,
    ]
