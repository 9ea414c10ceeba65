"""Kafka's class data sharing archive: dumped by one broker, adopted and mapped by the next.

The first broker of a set of jars dumps the classes it loaded into an archive when it exits
(into its own data directory, so two brokers never write one file); the next start adopts it
into libs/ and every later JVM maps it instead of loading and verifying ~5,000 classes, which
halves the broker's start. The pom's digest in the name ties an archive to its jars; the JVM
ignores one that does not match (jars, JDK) anyway.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from streams.dev.localkafka.jars import POM_HASH_FILE
from streams.dev.localkafka.layout import BrokerLayout

__all__ = ["adopt_class_archive", "class_data_options"]

log = logging.getLogger(__name__)


def _class_archive_name(libs: Path) -> str:
    try:
        digest = (libs / POM_HASH_FILE).read_text().strip()[:12]
    except OSError:
        digest = "unknown"
    return f"kafka-{digest}.jsa"


def adopt_class_archive(libs: Path, layout: BrokerLayout) -> None:
    """Move an archive the broker of layout dumped into libs/, unless one is there already."""
    name = _class_archive_name(libs)
    dumped = layout.data_dir / name
    if not dumped.is_file():
        return
    target = libs / name
    if not target.exists():
        staging = libs / f".{name}.{os.getpid()}.tmp"
        shutil.copyfile(dumped, staging)
        staging.replace(target)
        log.info("Kafka's class data archive is cached in %s", target)
    dumped.unlink(missing_ok=True)


def class_data_options(libs: Path, layout: BrokerLayout, *, dump: bool) -> tuple[str, ...]:
    """JVM options that map the cached archive, or (when dump) write one at exit."""
    archive = libs / _class_archive_name(libs)
    if archive.is_file():
        return (f"-XX:SharedArchiveFile={archive}",)
    if dump:
        return (f"-XX:ArchiveClassesAtExit={layout.data_dir / archive.name}",)
    return ()
