"""`start` and `stop`: the two commands behind ``ledgerlink kafka start|stop``.

They compose the other modules: the lock, the state file, the tools, the jars, the storage,
the process, and the probe that says when the broker answers clients.
"""

from __future__ import annotations

import logging
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from connectors.exceptions import LocalKafkaError
from streams.dev.localkafka.classdata import adopt_class_archive, class_data_options
from streams.dev.localkafka.config import load_state, render_server_properties, save_state
from streams.dev.localkafka.jars import KAFKA_DEPLOY_DIR, ensure_jars, kafka_version
from streams.dev.localkafka.jvm import java_command
from streams.dev.localkafka.layout import BrokerLayout
from streams.dev.localkafka.lock import locked
from streams.dev.localkafka.logtail import log_tail
from streams.dev.localkafka.ports import HOST, ensure_ports_free, free_port, port_is_free
from streams.dev.localkafka.probe import probe_broker
from streams.dev.localkafka.process import STOP_TIMEOUT, alive, running_pid, terminate
from streams.dev.localkafka.storage import format_storage, new_cluster_id
from streams.dev.localkafka.tools import find_java

__all__ = ["DEFAULT_PORT", "START_TIMEOUT", "KafkaStatus", "start", "stop"]

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0
DEFAULT_PORT = 9092


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


def start(
    *, data_dir: Path, port: int | None = None, timeout: float = START_TIMEOUT
) -> KafkaStatus:
    """Start the broker of data_dir on 127.0.0.1:port; return once it answers clients.

    Formats the storage on the first start; later starts keep every topic. When the broker
    of data_dir already runs, says so (waiting until it answers) and leaves it alone — if
    it runs on the port asked for: one on another port is refused, since a caller that
    asked for ``port`` would connect there. ``port`` None: `DEFAULT_PORT` for a broker
    that is not running, whichever port it runs on for one that is.
    """
    layout = BrokerLayout.of(data_dir)
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with locked(layout.lock_file):
        state = load_state(layout)
        pid = running_pid(layout)
        if pid is not None:
            running_port = int(str(state.get("port", port or DEFAULT_PORT)))
            if port is not None and port != running_port:
                raise LocalKafkaError(
                    f"the Kafka of {layout.data_dir} already runs (pid {pid}) on port "
                    f"{running_port}, not on port {port}; use port {running_port}, or stop it "
                    f"first with `ledgerlink kafka stop --data-dir {layout.data_dir}`"
                )
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

        port = DEFAULT_PORT if port is None else port
        java = find_java()
        controller_port = state.get("controller_port")
        if not isinstance(controller_port, int):
            # The controller's address is written into the metadata log when the storage is
            # formatted, so it is chosen once and kept for the life of the data directory.
            controller_port = port + 1 if port < 65535 and port_is_free(port + 1) else free_port()
        if controller_port == port:
            raise LocalKafkaError(
                f"port {port} is this data directory's controller port; pick another --port"
            )
        ensure_ports_free({"client": port, "controller": controller_port})
        libs = ensure_jars()
        cluster_id = state.get("cluster_id")
        if not isinstance(cluster_id, str):
            cluster_id = new_cluster_id(java, libs, layout)
        save_state(
            layout, {"cluster_id": cluster_id, "controller_port": controller_port, "port": port}
        )
        layout.properties_file.write_text(
            render_server_properties(
                port=port, controller_port=controller_port, log_dirs=layout.log_dirs
            )
        )
        format_storage(java, libs, layout, cluster_id)

        if layout.log_file.exists():
            layout.log_file.replace(layout.log_file.with_name("kafka.log.1"))
        adopt_class_archive(libs, layout)
        command = java_command(
            java,
            libs,
            layout,
            ["kafka.Kafka", str(layout.properties_file)],
            class_data=class_data_options(libs, layout, dump=True),
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
                f"{layout.log_file} ends with:\n{log_tail(layout.log_file)}"
            )
        try:
            return probe_broker(port)
        except (OSError, struct.error) as exc:
            last_error = str(exc) or type(exc).__name__
        if time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    terminate(process.pid)
    layout.pid_file.unlink(missing_ok=True)
    raise LocalKafkaError(
        f"Kafka did not answer on {HOST}:{port} within {timeout:g} s ({last_error}) and was "
        f"stopped; its log {layout.log_file} ends with:\n{log_tail(layout.log_file)}"
    )


def _wait_for_running(pid: int, port: int, layout: BrokerLayout, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return probe_broker(port)
        except (OSError, struct.error) as exc:
            if not alive(pid) or time.monotonic() >= deadline:
                raise LocalKafkaError(
                    f"Kafka (pid {pid}) runs but does not answer on {HOST}:{port} ({exc}); "
                    f"stop it with `ledgerlink kafka stop --data-dir {layout.data_dir}` and "
                    f"see its log {layout.log_file}:\n{log_tail(layout.log_file)}"
                ) from exc
        time.sleep(0.2)


def stop(*, data_dir: Path, timeout: float = STOP_TIMEOUT) -> str:
    """Stop the broker of data_dir cleanly (SIGTERM; SIGKILL only after timeout seconds)."""
    layout = BrokerLayout.of(data_dir)
    if not layout.data_dir.is_dir():
        return f"Kafka was not running (no data directory {layout.data_dir})"
    with locked(layout.lock_file):
        pid = running_pid(layout)
        if pid is None:
            return f"Kafka was not running (data dir {layout.data_dir})"
        began = time.monotonic()
        clean = terminate(pid, timeout)
        layout.pid_file.unlink(missing_ok=True)
        libs = KAFKA_DEPLOY_DIR / "libs"
        if clean and libs.is_dir():
            adopt_class_archive(libs, layout)
    took = time.monotonic() - began
    if not clean:
        return (
            f"Kafka (pid {pid}) did not stop within {timeout:.0f} s and was killed; "
            f"data kept in {layout.data_dir}, log: {layout.log_file}"
        )
    return f"Kafka stopped (pid {pid}, in {took:.1f} s); data kept in {layout.data_dir}"
