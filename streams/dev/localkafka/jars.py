"""Kafka's jars: resolved by Maven from ``deploy/kafka/pom.xml`` into ``deploy/kafka/libs/``.

They are resolved again only when the pom changes: its digest is recorded next to them.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
from collections.abc import Mapping
from pathlib import Path

from connectors.exceptions import LocalKafkaError
from streams.dev.localkafka.lock import locked
from streams.dev.localkafka.logtail import LOG_TAIL_LINES, tail_text
from streams.dev.localkafka.tools import find_maven

__all__ = ["KAFKA_DEPLOY_DIR", "POM_HASH_FILE", "ensure_jars", "kafka_version"]

log = logging.getLogger(__name__)

# This file is streams/dev/localkafka/jars.py; deploy/ sits beside streams/ at the top level.
KAFKA_DEPLOY_DIR = Path(__file__).resolve().parents[3] / "deploy" / "kafka"
POM_HASH_FILE = ".pom-sha256"


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _jars_current(libs: Path, digest: str) -> bool:
    try:
        recorded = (libs / POM_HASH_FILE).read_text().strip()
    except OSError:
        return False
    return recorded == digest and any(libs.glob("kafka_2.13-*.jar"))


def ensure_jars(deploy_dir: Path = KAFKA_DEPLOY_DIR, env: Mapping[str, str] | None = None) -> Path:
    """The directory of Kafka's jars, resolved with Maven unless the pom is unchanged."""
    pom = deploy_dir / "pom.xml"
    if not pom.is_file():
        raise LocalKafkaError(f"{pom} is missing: it lists Kafka's jars; restore it from git")
    libs = deploy_dir / "libs"
    digest = _pom_digest(pom)
    if _jars_current(libs, digest):
        return libs
    with locked(libs / ".lock"):
        if _jars_current(libs, digest):  # another process resolved them while we waited
            return libs
        mvn = find_maven(env)
        log.info("Resolving Kafka's jars with Maven into %s (only when the pom changes)", libs)
        for stale in [*libs.glob("*.jar"), *libs.glob("*.jsa")]:
            stale.unlink()
        (libs / POM_HASH_FILE).unlink(missing_ok=True)
        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=900, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LocalKafkaError(f"Maven could not resolve Kafka's jars: {exc}") from exc
        if result.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
            output = tail_text(result.stdout + result.stderr, LOG_TAIL_LINES)
            raise LocalKafkaError(
                f"Maven could not resolve Kafka's jars from {pom} (exit {result.returncode}); "
                f"check the network and ~/.m2/settings.xml. Maven said:\n{output}"
            )
        (libs / POM_HASH_FILE).write_text(digest + "\n")
    return libs


def kafka_version(libs: Path) -> str | None:
    """The broker's version, read from the name of its jar (``kafka_2.13-4.1.1.jar``)."""
    for jar in libs.glob("kafka_2.13-*.jar"):
        return jar.name.removeprefix("kafka_2.13-").removesuffix(".jar")
    return None
