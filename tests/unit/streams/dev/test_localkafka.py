"""The parts of the local Kafka launcher that need no broker: configuration, pid files,
tool detection, port checks, jar caching and the readiness probe's protocol handling."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.exceptions import LocalKafkaError
from streams.dev import localkafka
from streams.dev.localkafka import BrokerLayout, KafkaStatus


def parse_properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and line[0] != "#")
    return {key: value.replace("\\:", ":").replace("\\=", "=") for key, value in pairs}


def fake_tool(directory: Path, name: str, script: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / name
    tool.write_text("#!/bin/sh\n" + script + "\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


# --- server.properties -----------------------------------------------------------------


def test_properties_make_one_kraft_node_on_loopback(tmp_path: Path) -> None:
    props = parse_properties(
        localkafka.render_server_properties(
            port=19092, controller_port=19093, log_dirs=tmp_path / "data"
        )
    )
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["log.dirs"] == str(tmp_path / "data")


def test_properties_suit_a_single_broker_in_tests(tmp_path: Path) -> None:
    props = parse_properties(
        localkafka.render_server_properties(port=9092, controller_port=9093, log_dirs=tmp_path)
    )
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["min.insync.replicas"] == "1"
    assert props["num.partitions"] == "1"
    assert props["auto.create.topics.enable"] == "true"


def test_properties_escape_separators_in_paths() -> None:
    text = localkafka.render_server_properties(
        port=9092, controller_port=9093, log_dirs=Path("/data/a=b:c")
    )
    assert "log.dirs=/data/a\\=b\\:c\n" in text


# --- Java and Maven --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_292"', 8),
        ('openjdk version "11.0.2-ea"', 11),
        ("command not found", None),
    ],
)
def test_java_major_version_is_read_from_java_version(output: str, major: int | None) -> None:
    assert localkafka.parse_java_major(output) == major


def test_missing_java_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(LocalKafkaError, match=r"Java 17\+ is needed.*apt-get install openjdk"):
        localkafka.find_java({"PATH": str(tmp_path)})


def test_too_old_java_is_refused(tmp_path: Path) -> None:
    fake_tool(tmp_path, "java", "echo 'openjdk version \"11.0.2\" 2019-01-15' >&2")
    with pytest.raises(LocalKafkaError, match=r"is Java 11"):
        localkafka.find_java({"PATH": str(tmp_path)})


def test_java_home_comes_before_path(tmp_path: Path) -> None:
    fake_tool(tmp_path / "path", "java", "echo 'java version \"1.8.0_292\"' >&2")
    home_java = fake_tool(tmp_path / "home" / "bin", "java", "echo 'version \"17.0.1\"' >&2")
    env = {"PATH": str(tmp_path / "path"), "JAVA_HOME": str(tmp_path / "home")}
    assert localkafka.find_java(env) == str(home_java)


def test_missing_maven_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(LocalKafkaError, match=r"Maven is needed.*apt-get install maven"):
        localkafka.find_maven({"PATH": str(tmp_path)})


def test_start_without_java_fails_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(LocalKafkaError, match=r"Java 17\+ is needed"):
        localkafka.start(data_dir=tmp_path / "kafka", port=localkafka.find_free_port())
    assert not (tmp_path / "kafka" / "kafka.pid").exists()


@pytest.fixture
def running_stand_in(tmp_path: Path) -> Iterator[BrokerLayout]:
    """A process the data directory's pid file names, looking like its broker, on 19092."""
    layout = BrokerLayout.of(tmp_path / "kafka")
    layout.data_dir.mkdir()
    localkafka.config.save_state(
        layout, {"cluster_id": "x", "controller_port": 19093, "port": 19092}
    )
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "kafka.Kafka",
         str(layout.properties_file)]
    )  # fmt: skip
    layout.pid_file.write_text(f"{process.pid}\n")
    try:
        yield layout
    finally:
        process.kill()
        process.wait()


def test_start_on_another_port_than_the_running_broker_is_refused(
    running_stand_in: BrokerLayout,
) -> None:
    with pytest.raises(LocalKafkaError) as refused:
        localkafka.start(data_dir=running_stand_in.data_dir, port=39094, timeout=1)
    message = str(refused.value)
    assert "runs" in message
    assert "on port 19092, not on port 39094" in message
    assert f"ledgerlink kafka stop --data-dir {running_stand_in.data_dir}" in message
    assert running_stand_in.pid_file.exists()


# --- the lock that refuses rather than waits --------------------------------------------


def test_a_held_lock_is_refused_at_once_and_names_its_holder(tmp_path: Path) -> None:
    lock_file = tmp_path / "demo.lock"
    with localkafka.lock.locked_or_none(lock_file) as held:
        assert held is not None
        with localkafka.lock.locked_or_none(lock_file) as again:
            assert again is None
        assert localkafka.lock.holder_pid(lock_file) == os.getpid()
    with localkafka.lock.locked_or_none(lock_file) as after:
        assert after is not None


def test_a_lock_passed_to_a_child_outlives_its_holder(tmp_path: Path) -> None:
    lock_file = tmp_path / "demo.lock"
    with localkafka.lock.locked_or_none(lock_file) as held:
        assert held is not None
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"], pass_fds=(held,)
        )
    try:
        with localkafka.lock.locked_or_none(lock_file) as taken:
            assert taken is None
    finally:
        child.kill()
        child.wait()
    with localkafka.lock.locked_or_none(lock_file) as free:
        assert free is not None


# --- jars ------------------------------------------------------------------------------


@pytest.fixture
def deploy_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "deploy"
    directory.mkdir()
    shutil.copy(localkafka.KAFKA_DEPLOY_DIR / "pom.xml", directory / "pom.xml")
    return directory


def record_resolved(deploy_dir: Path) -> None:
    libs = deploy_dir / "libs"
    libs.mkdir()
    (libs / "kafka_2.13-4.1.1.jar").write_bytes(b"")
    digest = localkafka.jars._pom_digest(deploy_dir / "pom.xml")
    (libs / ".pom-sha256").write_text(digest + "\n")


def test_cached_jars_are_used_without_maven(deploy_dir: Path) -> None:
    record_resolved(deploy_dir)
    libs = localkafka.ensure_jars(deploy_dir, env={"PATH": ""})
    assert libs == deploy_dir / "libs"
    assert localkafka.kafka_version(libs) == "4.1.1"


def test_a_changed_pom_resolves_the_jars_again(deploy_dir: Path) -> None:
    record_resolved(deploy_dir)
    with (deploy_dir / "pom.xml").open("a") as pom:
        pom.write("<!-- changed -->\n")
    with pytest.raises(LocalKafkaError, match="Maven is needed"):
        localkafka.ensure_jars(deploy_dir, env={"PATH": ""})


def test_maven_failure_is_reported_with_its_output(deploy_dir: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "mvn", "echo 'Could not resolve dependencies' ; exit 1")
    with pytest.raises(LocalKafkaError, match=r"(?s)exit 1.*Could not resolve dependencies"):
        localkafka.ensure_jars(deploy_dir, env={"PATH": str(bin_dir)})
    assert not (deploy_dir / "libs" / ".pom-sha256").exists()


# --- pid files and processes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "pid"), [("4242\n", 4242), ("", None), ("x1", None), ("0", None)]
)
def test_pid_file_is_read_strictly(tmp_path: Path, content: str, pid: int | None) -> None:
    (tmp_path / "kafka.pid").write_text(content)
    assert localkafka.read_pid_file(tmp_path / "kafka.pid") == pid


def test_missing_pid_file_means_no_pid(tmp_path: Path) -> None:
    assert localkafka.read_pid_file(tmp_path / "kafka.pid") is None


def test_pid_file_of_an_exited_process_is_stale_and_removed(tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    layout = BrokerLayout.of(tmp_path)
    layout.pid_file.write_text(f"{finished.pid}\n")
    assert localkafka.running_pid(layout) is None
    assert not layout.pid_file.exists()


def test_pid_file_naming_another_program_is_stale(tmp_path: Path) -> None:
    layout = BrokerLayout.of(tmp_path)
    layout.pid_file.write_text(f"{os.getpid()}\n")  # alive, but not a Kafka broker
    assert localkafka.running_pid(layout) is None
    assert not layout.pid_file.exists()


def test_stop_without_a_broker_says_it_was_not_running(tmp_path: Path) -> None:
    (tmp_path / "kafka.pid").write_text("999999999\n")
    assert localkafka.stop(data_dir=tmp_path).startswith("Kafka was not running")
    assert not (tmp_path / "kafka.pid").exists()


def test_stop_of_a_missing_data_dir_says_it_was_not_running(tmp_path: Path) -> None:
    message = localkafka.stop(data_dir=tmp_path / "nowhere")
    assert message.startswith("Kafka was not running")
    assert not (tmp_path / "nowhere").exists()


# --- ports -----------------------------------------------------------------------------


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_a_port_in_use_is_refused_with_its_role(listening_port: int) -> None:
    assert not localkafka.port_is_free(listening_port)
    with pytest.raises(LocalKafkaError, match=rf"127.0.0.1:{listening_port} \(controller port\)"):
        localkafka.ensure_ports_free({"controller": listening_port})


def test_free_port_has_a_free_neighbour_for_the_controller() -> None:
    port = localkafka.find_free_port()
    assert localkafka.port_is_free(port)
    assert localkafka.port_is_free(port + 1)


def test_out_of_range_port_is_refused() -> None:
    with pytest.raises(LocalKafkaError, match="between 1 and 65535"):
        localkafka.ensure_ports_free({"client": 70000})


# --- what start reports ----------------------------------------------------------------


def test_status_describes_a_fresh_start(tmp_path: Path) -> None:
    status = KafkaStatus(
        bootstrap_servers="127.0.0.1:19092",
        pid=42,
        data_dir=tmp_path,
        log_file=tmp_path / "kafka.log",
        already_running=False,
        kafka_version="4.1.1",
        seconds=2.04,
    )
    assert status.describe() == (
        f"Kafka 4.1.1 started in 2.0 s, answering at 127.0.0.1:19092 (pid 42, data in "
        f"{tmp_path}); log: {tmp_path / 'kafka.log'}"
    )


def test_status_says_already_running(tmp_path: Path) -> None:
    status = KafkaStatus("127.0.0.1:19092", 42, tmp_path, tmp_path / "kafka.log", True)
    assert status.describe().startswith("Kafka is already running at 127.0.0.1:19092 (pid 42")


# --- the readiness probe ---------------------------------------------------------------


def kafka_string(text: str) -> bytes:
    return struct.pack(">h", len(text)) + text.encode()


def serve_once(listener: socket.socket, responses: list[bytes]) -> None:
    connection, _ = listener.accept()
    with connection:
        for response in responses:
            size = struct.unpack(">i", connection.recv(4))[0]
            request = b""
            while len(request) < size:
                request += connection.recv(size - len(request))
            correlation = request[4:8]
            payload = correlation + response
            connection.sendall(struct.pack(">i", len(payload)) + payload)


@contextlib.contextmanager
def fake_broker(*responses: bytes) -> Iterator[int]:
    """A socket on loopback that answers the probe's requests with canned responses."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        # A daemon: a test that fails before connecting must not hang the session at exit.
        thread = threading.Thread(target=serve_once, args=(listener, list(responses)), daemon=True)
        thread.start()
        try:
            yield int(listener.getsockname()[1])
        finally:
            thread.join(timeout=5)


def api_versions(*apis: tuple[int, int, int]) -> bytes:
    body = struct.pack(">hi", 0, len(apis))
    return body + b"".join(struct.pack(">hhh", *api) for api in apis)


def metadata(brokers: int, cluster_id: str) -> bytes:
    body = struct.pack(">ii", 0, brokers)
    for node in range(brokers):
        body += struct.pack(">i", node) + kafka_string("127.0.0.1") + struct.pack(">ih", 9092, -1)
    return body + kafka_string(cluster_id) + struct.pack(">ii", 0, 0)


def test_probe_returns_the_cluster_id_of_a_broker_that_lists_itself() -> None:
    versions = api_versions((0, 3, 12), (3, 0, 13), (18, 0, 4))
    with fake_broker(versions, metadata(1, "Ncc8apWyRmiuAbAq9UrQvg")) as port:
        assert localkafka.probe_broker(port) == "Ncc8apWyRmiuAbAq9UrQvg"


def test_probe_rejects_a_broker_that_lists_no_brokers_yet() -> None:
    versions = api_versions((3, 0, 13), (18, 0, 4))
    with (
        fake_broker(versions, metadata(0, "x")) as port,
        pytest.raises(OSError, match="no brokers"),
    ):
        localkafka.probe_broker(port)


def test_probe_rejects_a_broker_without_metadata_v8() -> None:
    with fake_broker(api_versions((3, 0, 7))) as port, pytest.raises(OSError, match="Metadata v8"):
        localkafka.probe_broker(port)


def test_a_bootstrap_list_answers_when_any_of_its_brokers_does() -> None:
    closed = localkafka.find_free_port()
    versions = api_versions((3, 0, 13), (18, 0, 4))
    with fake_broker(versions, metadata(1, "c")) as port:
        assert localkafka.bootstrap_answers(f"127.0.0.1:{closed}, 127.0.0.1:{port}")


def test_a_bootstrap_list_without_a_broker_does_not_answer() -> None:
    closed = localkafka.find_free_port()
    assert not localkafka.bootstrap_answers(f"127.0.0.1:{closed}")
    assert not localkafka.bootstrap_answers("no-port-here")


def test_probe_of_a_closed_port_is_refused() -> None:
    port = localkafka.find_free_port()
    with pytest.raises(ConnectionRefusedError):
        localkafka.probe_broker(port)
