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

This module blocks (it serves a CLI command and a test fixture, not an agent).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.exceptions import LocalKafkaError

__all__ = [
    "DEFAULT_JVM_OPTIONS",
    "KAFKA_DEPLOY_DIR",
    "BrokerLayout",
    "KafkaStatus",
    "ensure_jars",
    "ensure_ports_free",
    "find_free_port",
    "find_java",
    "find_maven",
    "parse_java_major",
    "port_is_free",
    "probe_broker",
    "read_pid_file",
    "render_server_properties",
    "running_pid",
    "start",
    "stop",
]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MIN_JAVA = 17
KAFKA_DEPLOY_DIR = Path(__file__).resolve().parent.parent / "deploy" / "kafka"

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

START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
_LOG_TAIL_LINES = 40
_POM_HASH_FILE = ".pom-sha256"
_STATE_FILE = "ledgerlink-kafka.json"


@dataclass(frozen=True, slots=True)
class BrokerLayout:
    """Where a broker keeps its files, all inside one data directory."""

    data_dir: Path

    @classmethod
    def of(cls, data_dir: Path) -> BrokerLayout:
        return cls(data_dir.expanduser().resolve())

    @property
    def state_file(self) -> Path:
        return self.data_dir / _STATE_FILE

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def log_dirs(self) -> Path:
        return self.data_dir / "data"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / ".lock"


@dataclass(frozen=True, slots=True)
class KafkaStatus:
    """What `start` found or did; `describe` is the line the CLI prints."""

    bootstrap_servers: str
    pid: int
    data_dir: Path
    log_file: Path
    already_running: bool
    kafka_version: str | None = None
    cluster_id: str | None = None
    seconds: float | None = None

    def describe(self) -> str:
        name = f"Kafka {self.kafka_version}" if self.kafka_version else "Kafka"
        where = f"at {self.bootstrap_servers} (pid {self.pid}, data in {self.data_dir})"
        if self.already_running:
            return f"{name} is already running {where}"
        took = f" in {self.seconds:.1f} s" if self.seconds is not None else ""
        return f"{name} started{took}, answering {where}; log: {self.log_file}"


# --- tools -----------------------------------------------------------------------------


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


# --- jars ------------------------------------------------------------------------------


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _jars_current(libs: Path, digest: str) -> bool:
    try:
        recorded = (libs / _POM_HASH_FILE).read_text().strip()
    except OSError:
        return False
    return recorded == digest and any(libs.glob("kafka_2.13-*.jar"))


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """An exclusive advisory lock, so two commands or test sessions never race."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_jars(deploy_dir: Path = KAFKA_DEPLOY_DIR, env: Mapping[str, str] | None = None) -> Path:
    """The directory of Kafka's jars, resolved with Maven unless the pom is unchanged."""
    pom = deploy_dir / "pom.xml"
    if not pom.is_file():
        raise LocalKafkaError(f"{pom} is missing: it lists Kafka's jars; restore it from git")
    libs = deploy_dir / "libs"
    digest = _pom_digest(pom)
    if _jars_current(libs, digest):
        return libs
    with _locked(libs / ".lock"):
        if _jars_current(libs, digest):  # another process resolved them while we waited
            return libs
        mvn = find_maven(env)
        log.info("Resolving Kafka's jars with Maven into %s (only when the pom changes)", libs)
        for stale in [*libs.glob("*.jar"), *libs.glob("*.jsa")]:
            stale.unlink()
        (libs / _POM_HASH_FILE).unlink(missing_ok=True)
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
            output = _tail_text(result.stdout + result.stderr, _LOG_TAIL_LINES)
            raise LocalKafkaError(
                f"Maven could not resolve Kafka's jars from {pom} (exit {result.returncode}); "
                f"check the network and ~/.m2/settings.xml. Maven said:\n{output}"
            )
        (libs / _POM_HASH_FILE).write_text(digest + "\n")
    return libs


def kafka_version(libs: Path) -> str | None:
    """The broker's version, read from the name of its jar (``kafka_2.13-4.1.1.jar``)."""
    for jar in libs.glob("kafka_2.13-*.jar"):
        return jar.name.removeprefix("kafka_2.13-").removesuffix(".jar")
    return None


# --- configuration ---------------------------------------------------------------------


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
    lines = ["# Written by streams/localkafka.py on every `ledgerlink kafka start`."]
    lines += [f"{key}={_escape_property(str(value))}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _escape_property(value: str) -> str:
    # java.util.Properties treats backslash as an escape; paths may contain ':' and '='.
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:port now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option as the JVM's server sockets, so TIME_WAIT from our last run is no clash.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def find_free_port() -> int:
    """A free client port P whose neighbour P+1 is free too, for the controller."""
    for _ in range(100):
        port = _free_port()
        if port < 65535 and port_is_free(port + 1):
            return port
    raise LocalKafkaError(f"found no two adjacent free ports on {HOST}")


def ensure_ports_free(ports: Mapping[str, int]) -> None:
    """Refuse to start when another program holds a port the broker needs."""
    for role, port in ports.items():
        if not 0 < port < 65536:
            raise LocalKafkaError(f"the {role} port must be between 1 and 65535, not {port}")
        if port_is_free(port):
            continue
        if role == "controller":
            remedy = (
                "this data directory keeps the controller port it was formatted with: stop "
                "that program, or use another --data-dir"
            )
        else:
            remedy = "stop it or pick another port with `ledgerlink kafka start --port N`"
        raise LocalKafkaError(
            f"{HOST}:{port} ({role} port) is already in use by another program: {remedy}"
        )


def _load_state(layout: BrokerLayout) -> dict[str, object]:
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


def _save_state(layout: BrokerLayout, state: Mapping[str, object]) -> None:
    tmp = layout.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    tmp.replace(layout.state_file)


# --- the process -----------------------------------------------------------------------


def read_pid_file(pid_file: Path) -> int | None:
    """The pid recorded in a pid file, or None when there is none or it is garbage."""
    try:
        text = pid_file.read_text().strip()
    except OSError:
        return None
    if not text.isdigit() or int(text) <= 0:
        return None
    return int(text)


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our own child that exited (test sessions start brokers themselves).
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _is_our_broker(pid: int, layout: BrokerLayout) -> bool:
    """Whether pid is the broker of this data directory (not a recycled pid)."""
    if not Path("/proc/self").exists():  # no procfs (macOS): trust the pid file
        return True
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kafka.Kafka" in argv and str(layout.properties_file).encode() in argv


def running_pid(layout: BrokerLayout) -> int | None:
    """The pid of this data directory's running broker; a stale pid file is removed."""
    pid = read_pid_file(layout.pid_file)
    if pid is not None and _alive(pid) and _is_our_broker(pid, layout):
        return pid
    if layout.pid_file.exists():
        log.info("Removing stale pid file %s", layout.pid_file)
        layout.pid_file.unlink(missing_ok=True)
    return None


def _tail_text(text: str, lines: int) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _log_tail(log_file: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with log_file.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log written)"
    return _tail_text(text, lines) or "(log is empty)"


def _java_command(
    java: str,
    libs: Path,
    layout: BrokerLayout,
    main: Sequence[str],
    *,
    class_data: Sequence[str] = (),
) -> list[str]:
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


# Class data sharing: the first broker of a set of jars dumps the classes it loaded into an
# archive when it exits (into its own data directory, so two brokers never write one file);
# the next start adopts it into libs/ and every later JVM maps it instead of loading and
# verifying ~5,000 classes, which halves the broker's start. The pom's digest in the name
# ties an archive to its jars; the JVM ignores one that does not match (jars, JDK) anyway.


def _class_archive_name(libs: Path) -> str:
    try:
        digest = (libs / _POM_HASH_FILE).read_text().strip()[:12]
    except OSError:
        digest = "unknown"
    return f"kafka-{digest}.jsa"


def _adopt_class_archive(libs: Path, layout: BrokerLayout) -> None:
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


def _class_data_options(libs: Path, layout: BrokerLayout, *, dump: bool) -> tuple[str, ...]:
    archive = libs / _class_archive_name(libs)
    if archive.is_file():
        return (f"-XX:SharedArchiveFile={archive}",)
    if dump:
        return (f"-XX:ArchiveClassesAtExit={layout.data_dir / archive.name}",)
    return ()


def _format_storage(java: str, libs: Path, layout: BrokerLayout, cluster_id: str) -> None:
    if (layout.log_dirs / "meta.properties").exists():
        return
    log.info("Formatting Kafka storage in %s (first start)", layout.log_dirs)
    command = _java_command(
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
        class_data=_class_data_options(libs, layout, dump=False),
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        output = _tail_text(result.stdout + result.stderr, _LOG_TAIL_LINES)
        raise LocalKafkaError(
            f"Formatting Kafka storage in {layout.log_dirs} failed (exit {result.returncode}):\n"
            f"{output}"
        )


def _new_cluster_id(java: str, libs: Path, layout: BrokerLayout) -> str:
    command = _java_command(
        java,
        libs,
        layout,
        ["kafka.tools.StorageTool", "random-uuid"],
        class_data=_class_data_options(libs, layout, dump=False),
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        output = _tail_text(result.stdout + result.stderr, _LOG_TAIL_LINES)
        raise LocalKafkaError(f"`StorageTool random-uuid` failed:\n{output}")
    return lines[-1].strip()


# --- the Kafka protocol, just enough to know the broker answers ------------------------


def _kafka_request(sock: socket.socket, api_key: int, version: int, body: bytes) -> bytes:
    client_id = b"ledgerlink-probe"
    header = struct.pack(">hhih", api_key, version, 1, len(client_id)) + client_id
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", _recv_exactly(sock, 4))[0]
    response = _recv_exactly(sock, size)
    if struct.unpack(">i", response[:4])[0] != 1:
        raise OSError("Kafka answered with a wrong correlation id")
    return response[4:]


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise OSError("Kafka closed the connection")
        chunks += chunk
    return bytes(chunks)


def probe_broker(port: int, *, host: str = HOST, timeout: float = 2.0) -> str | None:
    """Ask the broker for its metadata over the real protocol; its cluster id, or None.

    ApiVersions v0 first (every broker answers it), then Metadata v8, which lists the
    brokers: one that lists itself is registered, unfenced and serving clients.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        versions = _kafka_request(sock, 18, 0, b"")
        error, count = struct.unpack(">hi", versions[:6])
        if error != 0:
            raise OSError(f"ApiVersions failed with error code {error}")
        supported = {
            key: (low, high)
            for key, low, high in struct.iter_unpack(">hhh", versions[6 : 6 + 6 * count])
        }
        low, high = supported.get(3, (0, -1))
        if not low <= 8 <= high:
            raise OSError(f"the broker does not offer Metadata v8 (offers v{low}..v{high})")
        # topics: empty array (no topics), allow_auto_topic_creation, two authorised-ops flags
        metadata = _kafka_request(sock, 3, 8, struct.pack(">i???", 0, False, False, False))
    offset = 4  # throttle_time_ms
    (brokers,) = struct.unpack_from(">i", metadata, offset)
    offset += 4
    for _ in range(brokers):
        offset += 4  # node_id
        (host_len,) = struct.unpack_from(">h", metadata, offset)
        offset += 2 + host_len + 4  # host, port
        (rack_len,) = struct.unpack_from(">h", metadata, offset)
        offset += 2 + max(rack_len, 0)
    if brokers < 1:
        raise OSError("the broker lists no brokers yet")
    (id_len,) = struct.unpack_from(">h", metadata, offset)
    if id_len < 0:
        return None
    return metadata[offset + 2 : offset + 2 + id_len].decode()


def _wait_until_answering(
    process: subprocess.Popen[bytes], port: int, layout: BrokerLayout, timeout: float
) -> str | None:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while True:
        if process.poll() is not None:
            layout.pid_file.unlink(missing_ok=True)
            raise LocalKafkaError(
                f"Kafka exited with code {process.returncode} while starting; its log "
                f"{layout.log_file} ends with:\n{_log_tail(layout.log_file)}"
            )
        try:
            return probe_broker(port)
        except (OSError, struct.error) as exc:
            last_error = str(exc) or type(exc).__name__
        if time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    _terminate(process.pid)
    layout.pid_file.unlink(missing_ok=True)
    raise LocalKafkaError(
        f"Kafka did not answer on {HOST}:{port} within {timeout:g} s ({last_error}) and was "
        f"stopped; its log {layout.log_file} ends with:\n{_log_tail(layout.log_file)}"
    )


def _terminate(pid: int, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGTERM, wait, SIGKILL only after the timeout. True when it stopped on SIGTERM."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    log.warning("Kafka (pid %d) ignored SIGTERM for %.0f s; killing it", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.1)
    return False


# --- the commands ----------------------------------------------------------------------


def start(*, data_dir: Path, port: int = 9092, timeout: float = START_TIMEOUT) -> KafkaStatus:
    """Start the broker of data_dir on 127.0.0.1:port; return once it answers clients.

    Formats the storage on the first start; later starts keep every topic. When the broker
    of data_dir already runs, says so (waiting until it answers) and leaves it alone.
    """
    layout = BrokerLayout.of(data_dir)
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with _locked(layout.lock_file):
        state = _load_state(layout)
        pid = running_pid(layout)
        if pid is not None:
            running_port = int(str(state.get("port", port)))
            answered_id = _wait_for_running(pid, running_port, layout, timeout)
            return KafkaStatus(
                bootstrap_servers=f"{HOST}:{running_port}",
                pid=pid,
                data_dir=layout.data_dir,
                log_file=layout.log_file,
                already_running=True,
                kafka_version=kafka_version(KAFKA_DEPLOY_DIR / "libs"),
                cluster_id=answered_id,
            )

        java = find_java()
        controller_port = state.get("controller_port")
        if not isinstance(controller_port, int):
            # The controller's address is written into the metadata log when the storage is
            # formatted, so it is chosen once and kept for the life of the data directory.
            controller_port = port + 1 if port < 65535 and port_is_free(port + 1) else _free_port()
        if controller_port == port:
            raise LocalKafkaError(
                f"port {port} is this data directory's controller port; pick another --port"
            )
        ensure_ports_free({"client": port, "controller": controller_port})
        libs = ensure_jars()
        cluster_id = state.get("cluster_id")
        if not isinstance(cluster_id, str):
            cluster_id = _new_cluster_id(java, libs, layout)
        _save_state(
            layout, {"cluster_id": cluster_id, "controller_port": controller_port, "port": port}
        )
        layout.properties_file.write_text(
            render_server_properties(
                port=port, controller_port=controller_port, log_dirs=layout.log_dirs
            )
        )
        _format_storage(java, libs, layout, cluster_id)

        if layout.log_file.exists():
            layout.log_file.replace(layout.log_file.with_name("kafka.log.1"))
        _adopt_class_archive(libs, layout)
        command = _java_command(
            java,
            libs,
            layout,
            ["kafka.Kafka", str(layout.properties_file)],
            class_data=_class_data_options(libs, layout, dump=True),
        )
        log.info("Starting Kafka on %s:%d (data in %s)", HOST, port, layout.data_dir)
        with layout.log_file.open("ab") as output:
            process = subprocess.Popen(
                command,
                cwd=layout.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        layout.pid_file.write_text(f"{process.pid}\n")
        answered_id = _wait_until_answering(process, port, layout, timeout)
        return KafkaStatus(
            bootstrap_servers=f"{HOST}:{port}",
            pid=process.pid,
            data_dir=layout.data_dir,
            log_file=layout.log_file,
            already_running=False,
            kafka_version=kafka_version(libs),
            cluster_id=answered_id or cluster_id,
            seconds=time.monotonic() - began,
        )


def _wait_for_running(pid: int, port: int, layout: BrokerLayout, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return probe_broker(port)
        except (OSError, struct.error) as exc:
            if not _alive(pid) or time.monotonic() >= deadline:
                raise LocalKafkaError(
                    f"Kafka (pid {pid}) runs but does not answer on {HOST}:{port} ({exc}); "
                    f"stop it with `ledgerlink kafka stop --data-dir {layout.data_dir}` and "
                    f"see its log {layout.log_file}:\n{_log_tail(layout.log_file)}"
                ) from exc
        time.sleep(0.2)


def stop(*, data_dir: Path, timeout: float = STOP_TIMEOUT) -> str:
    """Stop the broker of data_dir cleanly (SIGTERM; SIGKILL only after timeout seconds)."""
    layout = BrokerLayout.of(data_dir)
    if not layout.data_dir.is_dir():
        return f"Kafka was not running (no data directory {layout.data_dir})"
    with _locked(layout.lock_file):
        pid = running_pid(layout)
        if pid is None:
            return f"Kafka was not running (data dir {layout.data_dir})"
        began = time.monotonic()
        clean = _terminate(pid, timeout)
        layout.pid_file.unlink(missing_ok=True)
        libs = KAFKA_DEPLOY_DIR / "libs"
        if clean and libs.is_dir():
            _adopt_class_archive(libs, layout)
    took = time.monotonic() - began
    if not clean:
        return (
            f"Kafka (pid {pid}) did not stop within {timeout:.0f} s and was killed; "
            f"data kept in {layout.data_dir}, log: {layout.log_file}"
        )
    return f"Kafka stopped (pid {pid}, in {took:.1f} s); data kept in {layout.data_dir}"
