"""Finding the tools the broker needs: Java 17+ to run it, Maven to fetch its jars."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from connectors.exceptions import LocalKafkaError

__all__ = ["MIN_JAVA", "find_java", "find_maven", "parse_java_major"]

MIN_JAVA = 17


def parse_java_major(version_output: str) -> int | None:
    """The major version in `java -version` output: 17 for "17.0.15", 8 for "1.8.0_292"."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?[^"]*"', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def find_java(env: Mapping[str, str] | None = None) -> str:
    """The `java` to run Kafka with (``$JAVA_HOME/bin/java`` first, then PATH); 17 or newer."""
    env = os.environ if env is None else env
    java: str | None = None
    java_home = env.get("JAVA_HOME")
    if java_home and os.access(Path(java_home, "bin", "java"), os.X_OK):
        java = str(Path(java_home, "bin", "java"))
    else:
        java = shutil.which("java", path=env.get("PATH", ""))
    if java is None:
        raise LocalKafkaError(
            f"Java {MIN_JAVA}+ is needed to run Kafka and no `java` was found on PATH: install "
            "a JDK, e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME"
        )
    try:
        probe = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LocalKafkaError(f"{java} -version failed: {exc}") from exc
    major = parse_java_major(probe.stderr + probe.stdout)
    if major is None or major < MIN_JAVA:
        found = "an unknown version" if major is None else f"Java {major}"
        raise LocalKafkaError(
            f"Java {MIN_JAVA}+ is needed to run Kafka, but {java} is {found}: install a newer "
            "JDK, e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME"
        )
    return java


def find_maven(env: Mapping[str, str] | None = None) -> str:
    """The `mvn` that resolves Kafka's jars the first time."""
    env = os.environ if env is None else env
    mvn = shutil.which("mvn", path=env.get("PATH", ""))
    if mvn is None:
        raise LocalKafkaError(
            "Maven is needed once to fetch Kafka's jars and no `mvn` was found on PATH: "
            "install it, e.g. `apt-get install maven`"
        )
    return mvn
