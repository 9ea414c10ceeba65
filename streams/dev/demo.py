"""`ledgerlink demo`: local Kafka, both simulators with sample data, and the worker, in one
command that shows the sync happen and ends with a table of what was linked.

The demo owns the order of things and their shutdown, nothing else:

0. The data directory — claimed for this demo alone (`streams.dev.datadir`) before
   anything in it is cleared; the demo's own log goes to ``DATA_DIR/demo.log``.
1. Kafka — `streams.dev.localkafka` under ``DATA_DIR/kafka``, unless a broker is given
   (``KAFKA_BOOTSTRAP_SERVERS``); one it started it also stops (unless ``keep_kafka``).
2. The two simulators — in-process, in this event loop, seeded from `streams.dev.sample_data`.
3. The worker — ``python -m streams.cli worker`` as a subprocess with the environment of
   docs/worker.md, a fresh topic prefix per run, its output in ``DATA_DIR/worker.log``.
4. Progress from the worker's ``/ledgerlink/status`` until it reports ``converged`` while
   the broker answers and ``/ledgerlink/links`` holds every link the sample data should
   make (`streams.dev.expected`); then the report (`streams.dev.progress` formats both).
   With ``until_synced`` a run that converged short of that exits 1 and says what is missing.

Whatever it started it stops, in reverse order, on success, on error and on Ctrl-C or
SIGTERM. The worker runs in its own session so that Ctrl-C reaches only the demo, which
then stops the worker with SIGTERM (SIGKILL after a grace period). Keys never appear in
the output: the examples for a person to try read them from ``DATA_DIR/demo.env``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import secrets
import shlex
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

from connectors.chargebee.sim import server as cb_sim
from connectors.chargebee.sim.store import ChargebeeStore
from connectors.poweroffice.sim import server as po_sim
from connectors.poweroffice.sim.store import PowerOfficeStore
from connectors.simkit import RunningSimulator, start_simulator
from streams import config as defaults
from streams.dev import localkafka
from streams.dev.datadir import claim_data_dir, prepare_data_dir
from streams.dev.demolog import logging_to_file
from streams.dev.errors import DataDirInUseError, DemoError, WorkerFailed
from streams.dev.expected import ExpectedLinks, shortfall
from streams.dev.progress import (
    CUSTOMER_FLOWS,
    ENTITY_FLOWS,
    Progress,
    ProgressDisplay,
    Totals,
    count_linked,
    format_action_items,
    format_dead_letters,
    format_links_table,
    format_pending,
    format_progress,
    progress_from_status,
)
from streams.dev.sample_data import SampleData, build_sample_data, entity_id_for, seed_stores

__all__ = [
    "DataDirInUseError",
    "DemoError",
    "DemoOptions",
    "WorkerFailed",
    "demo_topic_prefix",
    "prepare_data_dir",
    "run",
    "run_demo",
    "worker_environment",
]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
POLL_EVERY = 0.5
WORKER_STOP_GRACE = 15.0
LOG_TAIL_LINES = 30
#: How long the worker may report converged while links are still missing before the
#: demo believes it (a link can trail the status by a poll or two).
SHORTFALL_GRACE = 30.0
# The simulator allows 3500 requests a minute; the worker's default budget (150, a test
# site's limit) would make the demo's initial load wait on the budget, not on the sync.
_DEMO_CHARGEBEE_BUDGET = "3000"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    until_synced: bool = False
    data_dir: Path = Path("./var/demo")
    poweroffice_port: int = 8101
    chargebee_port: int = 8102
    web_port: int = 6066
    #: The local broker's port; None: 9092 for a new broker, or the port it already runs on.
    kafka_port: int | None = None
    #: A running broker to use (``KAFKA_BOOTSTRAP_SERVERS``); None starts the local one.
    kafka_bootstrap: str | None = None
    keep_kafka: bool = False
    timeout: float = 300.0
    seed: int | None = None
    shortfall_grace: float = SHORTFALL_GRACE
    #: How to start the worker; tests may put a stand-in here.
    worker_command: tuple[str, ...] = (sys.executable, "-m", "streams.cli", "worker")
    #: Whether the broker at a bootstrap address answers now; tests may put a stand-in here.
    broker_probe: Callable[[str], bool] = localkafka.bootstrap_answers


@dataclass(slots=True)
class _Phase:
    """What the demo is doing, so an interrupt can be told apart from a failure."""

    serving: bool = False
    interrupted: bool = False


@dataclass(slots=True)
class _Running:
    options: DemoOptions
    out: TextIO
    data: SampleData
    data_dir: Path
    lock_fd: int
    bootstrap: str = ""
    poweroffice: RunningSimulator | None = None
    chargebee: RunningSimulator | None = None
    worker: asyncio.subprocess.Process | None = None
    worker_log: Path = field(default_factory=Path)
    worker_started: float = 0.0

    @property
    def status_url(self) -> str:
        return f"http://{HOST}:{self.options.web_port}/ledgerlink/status"

    @property
    def links_url(self) -> str:
        return f"http://{HOST}:{self.options.web_port}/ledgerlink/links"

    @property
    def expected(self) -> ExpectedLinks:
        return ExpectedLinks.of(self.data)

    def say(self, line: str = "") -> None:
        self.out.write(f"{line}\n")
        self.out.flush()

    async def broker_answers(self) -> bool:
        """The demo's own check that the broker is up, whatever the worker says."""
        return await asyncio.to_thread(self.options.broker_probe, self.bootstrap)


# -- entry point ---------------------------------------------------------------------------------


def run(
    *,
    until_synced: bool,
    data_dir: Path = Path("./var/demo"),
    poweroffice_port: int = 8101,
    chargebee_port: int = 8102,
    web_port: int | None = None,
    kafka_port: int | None = None,
    keep_kafka: bool = False,
    timeout: float = 300.0,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run the demo (blocking); the exit code: 0 done, 1 the sync failed or fell short of
    the sample data, 130 interrupted.

    ``env`` (the process environment by default) may name a broker in
    ``KAFKA_BOOTSTRAP_SERVERS`` and the worker's web port in ``LEDGERLINK_WEB_PORT``.
    """
    env = os.environ if env is None else env
    options = DemoOptions(
        until_synced=until_synced,
        data_dir=data_dir,
        poweroffice_port=poweroffice_port,
        chargebee_port=chargebee_port,
        web_port=web_port if web_port is not None else _env_port(env, "LEDGERLINK_WEB_PORT", 6066),
        kafka_port=kafka_port,
        kafka_bootstrap=(env.get("KAFKA_BOOTSTRAP_SERVERS") or "").strip() or None,
        keep_kafka=keep_kafka,
        timeout=timeout,
    )
    return asyncio.run(run_demo(options))


def _env_port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise DemoError(f"{name}: expected a TCP port (1-65535), got {raw!r}")
    return int(raw)


async def run_demo(options: DemoOptions, out: TextIO = sys.stdout) -> int:
    """The whole demo in the running event loop; Ctrl-C and SIGTERM stop it cleanly."""
    phase = _Phase()
    began = time.monotonic()
    with _interrupts_cancel_this_task(phase):
        try:
            async with AsyncExitStack() as stack:
                running = await _set_up(stack, options, out)
                return await _sync_and_report(running, phase, began)
        except asyncio.CancelledError:
            if not phase.interrupted:
                raise
            print("Stopped." if phase.serving else "Interrupted; everything stopped.", file=out)
            return 0 if phase.serving else 130
        except WorkerFailed as exc:
            print(f"ledgerlink demo: {exc}", file=sys.stderr)
            return 1


@contextlib.contextmanager
def _interrupts_cancel_this_task(phase: _Phase) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def interrupt() -> None:
        # A second Ctrl-C must not cut the shutdown short and leave the worker running.
        if not phase.interrupted:
            phase.interrupted = True
            task.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, interrupt)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


# -- setting up ----------------------------------------------------------------------------------


async def _set_up(stack: AsyncExitStack, options: DemoOptions, out: TextIO) -> _Running:
    data = build_sample_data() if options.seed is None else build_sample_data(options.seed)
    data_dir = options.data_dir.expanduser().resolve()
    # Claimed first, and kept until everything else has stopped: nothing in the directory
    # is touched while another demo (or its worker) uses it.
    lock_fd = stack.enter_context(claim_data_dir(data_dir))
    running = _Running(options=options, out=out, data=data, data_dir=data_dir, lock_fd=lock_fd)
    _check_ports_free(options)
    prepare_data_dir(data_dir)
    stack.enter_context(logging_to_file(data_dir / "demo.log"))
    running.bootstrap = await _kafka(stack, running, data_dir)
    await _simulators(stack, running)
    await _worker(stack, running, data_dir)
    return running


def _check_ports_free(options: DemoOptions) -> None:
    """Fail before anything starts when a port the demo needs is taken."""
    for flag, port in (
        ("--poweroffice-port", options.poweroffice_port),
        ("--chargebee-port", options.chargebee_port),
        ("--web-port", options.web_port),
    ):
        if not localkafka.port_is_free(port, HOST):
            raise DemoError(_port_in_use(flag, port))
    ports = [options.poweroffice_port, options.chargebee_port, options.web_port]
    if len(set(ports)) != len(ports):
        raise DemoError(
            "--poweroffice-port, --chargebee-port and --web-port must be three different ports"
        )


def _port_in_use(flag: str, port: int) -> str:
    return f"port {port} on {HOST} is already in use; pick another with {flag}"


async def _kafka(stack: AsyncExitStack, running: _Running, data_dir: Path) -> str:
    options = running.options
    if options.kafka_bootstrap:
        running.say(f"Kafka: using {options.kafka_bootstrap} (KAFKA_BOOTSTRAP_SERVERS)")
        return options.kafka_bootstrap
    kafka_dir = data_dir / "kafka"
    on_port = f" on port {options.kafka_port}" if options.kafka_port is not None else ""
    running.say(f"Kafka: starting a local broker{on_port} ({kafka_dir})…")
    status = await _start_local_kafka(kafka_dir, options.kafka_port)
    running.say(f"Kafka: {status.describe()}")
    if status.already_running:
        running.say("Kafka: it was running before the demo, so the demo leaves it running")
    elif options.keep_kafka:
        stop = f"ledgerlink kafka stop --data-dir {kafka_dir}"
        running.say(f"Kafka: stays running after the demo (to stop it: {stop})")
    else:
        stack.push_async_callback(_stop_local_kafka, running, kafka_dir)
    return status.bootstrap_servers


async def _start_local_kafka(kafka_dir: Path, port: int | None) -> localkafka.KafkaStatus:
    """`localkafka.start` in a thread; an interrupt waits for it and stops the broker."""
    starting = asyncio.ensure_future(
        asyncio.to_thread(localkafka.start, data_dir=kafka_dir, port=port)
    )
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            status = await starting
            if not status.already_running:
                await asyncio.to_thread(localkafka.stop, data_dir=kafka_dir)
        raise


async def _stop_local_kafka(running: _Running, kafka_dir: Path) -> None:
    running.say(f"Kafka: {await asyncio.to_thread(localkafka.stop, data_dir=kafka_dir)}")


async def _simulators(stack: AsyncExitStack, running: _Running) -> None:
    options = running.options
    po_store, cb_store = PowerOfficeStore(), ChargebeeStore()
    seed_stores(running.data, po_store, cb_store)
    po_app = po_sim.build_app(
        application_key=defaults.LOCAL_POWEROFFICE_APPLICATION_KEY,
        client_key=defaults.LOCAL_POWEROFFICE_CLIENT_KEY,
        subscription_key=defaults.LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
        store=po_store,
    )
    cb_app = cb_sim.build_app(
        site=defaults.LOCAL_CHARGEBEE_SITE,
        api_key=defaults.LOCAL_CHARGEBEE_API_KEY,
        store=cb_store,
    )
    running.poweroffice = await _listen(po_app, options.poweroffice_port, "--poweroffice-port")
    stack.push_async_callback(running.poweroffice.stop)
    running.chargebee = await _listen(cb_app, options.chargebee_port, "--chargebee-port")
    stack.push_async_callback(running.chargebee.stop)
    data = running.data
    running.say(
        f"PowerOffice Go simulator: {running.poweroffice.root_url}{po_sim.API_PREFIX} — "
        f"{len(data.companies)} companies, {len(data.person_customers)} person customers, "
        f"{len(data.employees)} employees, {len(data.departments)} departments, "
        f"{len(data.contact_persons)} contact persons"
    )
    running.say(
        f"Chargebee simulator:      {running.chargebee.root_url}{cb_sim.API_PREFIX} — "
        f"{len(data.business_entities)} business entities made in the web app, no customers"
    )


async def _listen(app: Any, port: int, flag: str) -> RunningSimulator:
    try:
        return await start_simulator(app, HOST, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DemoError(_port_in_use(flag, port)) from exc
        raise DemoError(f"cannot listen on {HOST}:{port} ({exc.strerror}); see {flag}") from exc


# -- the worker ------------------------------------------------------------------------------


def demo_topic_prefix(now: datetime | None = None) -> str:
    """`demo-20250101-120000-a1b2-`: a fresh prefix, so every run starts with empty topics."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"demo-{stamp}-{secrets.token_hex(2)}-"


def worker_environment(
    base: Mapping[str, str],
    *,
    bootstrap: str,
    data_dir: Path,
    topic_prefix: str,
    poweroffice_root: str,
    chargebee_root: str,
    web_port: int,
) -> dict[str, str]:
    """The worker's environment (docs/worker.md): ``base`` without any other ledgerlink,
    PowerOffice Go or Chargebee setting, pointed at the demo's broker and simulators."""
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(("LEDGERLINK_", "POWEROFFICE_", "CHARGEBEE_", "KAFKA_"))
    }
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "LEDGERLINK_DATA_DIR": str(data_dir),
            "LEDGERLINK_POLL_INTERVAL": "1",
            "LEDGERLINK_WEB_PORT": str(web_port),
            "LEDGERLINK_TOPIC_PREFIX": topic_prefix,
            "POWEROFFICE_BASE_URL": f"{poweroffice_root}{po_sim.API_PREFIX}",
            "POWEROFFICE_TOKEN_URL": f"{poweroffice_root}{po_sim.TOKEN_PATH}",
            "POWEROFFICE_APPLICATION_KEY": defaults.LOCAL_POWEROFFICE_APPLICATION_KEY,
            "POWEROFFICE_CLIENT_KEY": defaults.LOCAL_POWEROFFICE_CLIENT_KEY,
            "POWEROFFICE_SUBSCRIPTION_KEY": defaults.LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
            "CHARGEBEE_SITE": defaults.LOCAL_CHARGEBEE_SITE,
            "CHARGEBEE_API_KEY": defaults.LOCAL_CHARGEBEE_API_KEY,
            "CHARGEBEE_BASE_URL": f"{chargebee_root}{cb_sim.API_PREFIX}",
            "CHARGEBEE_REQUESTS_PER_MINUTE": _DEMO_CHARGEBEE_BUDGET,
        }
    )
    return env


def _rotate(log_file: Path) -> None:
    if log_file.exists():
        log_file.replace(log_file.with_name(log_file.name + ".1"))


async def _worker(stack: AsyncExitStack, running: _Running, data_dir: Path) -> None:
    assert running.poweroffice is not None
    assert running.chargebee is not None
    prefix = demo_topic_prefix()
    env = worker_environment(
        os.environ,
        bootstrap=running.bootstrap,
        data_dir=data_dir,
        topic_prefix=prefix,
        poweroffice_root=running.poweroffice.root_url,
        chargebee_root=running.chargebee.root_url,
        web_port=running.options.web_port,
    )
    running.worker_log = data_dir / "worker.log"
    _rotate(running.worker_log)
    with running.worker_log.open("ab") as output:
        running.worker = await asyncio.create_subprocess_exec(
            *running.options.worker_command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            # The worker holds the data directory's lock too: were the demo killed, its
            # orphaned worker would still keep another demo from deleting its tables.
            pass_fds=(running.lock_fd,),
        )
    running.worker_started = time.monotonic()
    log.info("Started the worker (pid %d), topics %s*", running.worker.pid, prefix)
    stack.push_async_callback(_stop_worker, running)
    running.say(
        f"Worker: pid {running.worker.pid}, topics {prefix}*, status {running.status_url}, "
        f"log {running.worker_log} (the demo's own: {data_dir / 'demo.log'})"
    )


async def _stop_worker(running: _Running) -> None:
    process = running.worker
    if process is None or process.returncode is not None:
        return
    log.info("Stopping the worker (pid %d)", process.pid)
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), WORKER_STOP_GRACE)
        running.say(f"Worker: stopped (exit {process.returncode})")
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        running.say(f"Worker: did not stop within {WORKER_STOP_GRACE:.0f} s and was killed")


def log_tail(log_file: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``log_file`` (empty when it cannot be read)."""
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _worker_died(running: _Running) -> WorkerFailed:
    assert running.worker is not None
    return WorkerFailed(
        f"the worker exited with code {running.worker.returncode} before the sync converged; "
        f"the last lines of {running.worker_log}:\n{log_tail(running.worker_log)}"
    )


# -- syncing and reporting ---------------------------------------------------------------------


async def _sync_and_report(running: _Running, phase: _Phase, began: float) -> int:
    totals = Totals(running.data.customer_count, running.data.entity_count)
    async with httpx.AsyncClient(timeout=5.0) as client:
        status, links = await _wait_until_synced(running, client, totals)
        synced_in = time.monotonic() - running.worker_started
        _report(running, status, links, synced_in, time.monotonic() - began)
        missing = shortfall(running.expected, links)
        if missing is not None:
            if running.options.until_synced:
                raise WorkerFailed(
                    f"the worker converged, but {missing}; the last lines of "
                    f"{running.worker_log}:\n{log_tail(running.worker_log)}"
                )
            running.say(f"Missing: {missing}; see {running.worker_log}")
        if running.options.until_synced:
            return 0
        phase.serving = True
        await _serve(running, client, totals)
    return 0


async def _status_or_none(client: httpx.AsyncClient, url: str) -> dict[str, Any] | None:
    """The worker's status, or None while its web server does not answer yet."""
    try:
        return await _get_json(client, url)
    except (httpx.TransportError, httpx.HTTPStatusError, ValueError):
        return None


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"{url} answered {type(body).__name__}, not an object")
    return body


async def _links(running: _Running, client: httpx.AsyncClient) -> list[Mapping[str, Any]]:
    try:
        body = await _get_json(client, running.links_url)
    except (httpx.HTTPError, ValueError) as exc:
        raise WorkerFailed(
            f"the worker converged but {running.links_url} failed ({exc}); "
            f"the last lines of {running.worker_log}:\n{log_tail(running.worker_log)}"
        ) from exc
    links = body.get("links")
    return [row for row in links if isinstance(row, Mapping)] if isinstance(links, list) else []


def _done(progress: Progress) -> bool:
    return progress.converged and progress.started


async def _progress(running: _Running, status: Mapping[str, Any]) -> Progress:
    """The status as progress; the broker is probed only when the worker claims convergence."""
    progress = progress_from_status(status)
    if _done(progress) and not await running.broker_answers():
        progress = progress_from_status(status, broker_answers=False)
    return progress


async def _wait_until_synced(
    running: _Running, client: httpx.AsyncClient, totals: Totals
) -> tuple[dict[str, Any], list[Mapping[str, Any]]]:
    """The status and links once converged with every expected link (or converged short of
    them for ``shortfall_grace`` seconds); `WorkerFailed` at the timeout."""
    display = ProgressDisplay(running.out, interactive=running.out.isatty())
    options = running.options
    deadline = running.worker_started + options.timeout
    line = "the worker never answered"
    pending = "unknown"
    missing: str | None = None
    short_since: float | None = None
    try:
        async for status in _statuses(running, client):
            now = time.monotonic()
            elapsed = now - running.worker_started
            if status is None:
                display.show(f"waiting for the worker to answer…  [{elapsed:.1f} s]")
            else:
                progress = await _progress(running, status)
                line = format_progress(progress, totals, elapsed)
                pending = format_pending(status)
                if _done(progress):
                    links = await _links(running, client)
                    missing = shortfall(running.expected, links)
                    short_since = short_since if short_since is not None else now
                    if missing is None or now - short_since >= options.shortfall_grace:
                        display.show(line, force=True)
                        return status, links
                else:
                    missing, short_since = None, None
                display.show(line)
            if now >= deadline:
                still = f"; {missing}" if missing else ""
                raise WorkerFailed(
                    f"the sync did not converge within {options.timeout:.0f} s "
                    f"(--timeout); last: {line}{still}; pending: {pending}; "
                    f"the last lines of {running.worker_log}:\n{log_tail(running.worker_log)}"
                )
    finally:
        display.close()
    raise AssertionError("unreachable: _statuses never ends")


async def _statuses(
    running: _Running, client: httpx.AsyncClient, every: float = POLL_EVERY
) -> AsyncIterator[dict[str, Any] | None]:
    """The worker's status every ``every`` seconds, for as long as the worker lives."""
    assert running.worker is not None
    while True:
        if running.worker.returncode is not None:
            raise _worker_died(running)
        yield await _status_or_none(client, running.status_url)
        await asyncio.sleep(every)


def _report(
    running: _Running,
    status: Mapping[str, Any],
    links: list[Mapping[str, Any]],
    synced_in: float,
    total: float,
) -> None:
    data = running.data
    say = running.say
    say()
    say(f"Links ({len(links)}):")
    for line in format_links_table(links):
        say(f"  {line}")
    say()
    expected = running.expected
    say(
        f"Linked {count_linked(links, CUSTOMER_FLOWS)} Chargebee customers "
        f"(expected {expected.customers}) and {count_linked(links, ENTITY_FLOWS)} "
        f"business entities (expected {expected.entities}; "
        f"{data.entity_count - expected.entities} of the {data.entity_count} companies "
        "and departments have none in Chargebee yet)."
    )
    actions = format_action_items(status)
    say(f"Action required ({len(actions)}):" if actions else "Action required: none")
    for line in actions:
        say(f"  {line}")
    dead = format_dead_letters(links)
    count = int(status.get("dead_letters") or 0)
    say(f"Dead letters ({count}):" if count else "Dead letters: none")
    for line in dead:
        say(f"  {line}")
    say(f"Synced in {synced_in:.1f} s after the worker started ({total:.1f} s in all).")


# -- keeping it running --------------------------------------------------------------------------


def write_demo_env(data_dir: Path) -> Path:
    """``DATA_DIR/demo.env``: the simulators' local keys, for a shell to ``source``."""
    path = data_dir / "demo.env"
    values = {
        "POWEROFFICE_APPLICATION_KEY": defaults.LOCAL_POWEROFFICE_APPLICATION_KEY,
        "POWEROFFICE_CLIENT_KEY": defaults.LOCAL_POWEROFFICE_CLIENT_KEY,
        "POWEROFFICE_SUBSCRIPTION_KEY": defaults.LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
        "CHARGEBEE_API_KEY": defaults.LOCAL_CHARGEBEE_API_KEY,
    }
    path.touch(mode=0o600)
    path.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items()))
    return path


def try_it_lines(
    *,
    poweroffice_root: str,
    chargebee_root: str,
    status_url: str,
    env_file: Path,
    employee_id: int,
    missing_entity: tuple[str, str] | None,
) -> list[str]:
    """What a person can do while the demo runs; keys come from ``env_file``, never shown."""
    po_api = f"{poweroffice_root}{po_sim.API_PREFIX}"
    cb_api = f"{chargebee_root}{cb_sim.API_PREFIX}"
    sub = '-H "Ocp-Apim-Subscription-Key: $POWEROFFICE_SUBSCRIPTION_KEY"'
    lines = [
        "The demo keeps running: edit records on either side and watch them sync.",
        f"  PowerOffice Go API:  {po_api}  (token: {poweroffice_root}{po_sim.TOKEN_PATH})",
        f"  Chargebee API:       {cb_api}",
        f"  worker status:       {status_url}  (and …/links)",
        "",
        f"  source {shlex.quote(str(env_file))}   # the simulators' local keys",
        f'  TOKEN=$(curl -s -u "$POWEROFFICE_APPLICATION_KEY:$POWEROFFICE_CLIENT_KEY" {sub} \\',
        f"      -d grant_type=client_credentials {poweroffice_root}{po_sim.TOKEN_PATH} \\",
        "      | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f'  curl -X PATCH {po_api}/Employees/{employee_id} -H "Authorization: Bearer $TOKEN" '
        f"{sub} \\",
        "      -H 'Content-Type: application/json-patch+json' "
        '-d \'[{"op": "replace", "path": "/LastName", "value": "Ødegård"}]\'',
        f'  curl -s -u "$CHARGEBEE_API_KEY:" "{cb_api}/customers?limit=3"',
    ]
    if missing_entity is not None:
        entity_id, name = missing_entity
        lines += [
            "  # do an action item: create the business entity in Chargebee's web app",
            f"  curl -X POST {chargebee_root}/_sim/business_entities "
            "-H 'Content-Type: application/json' \\",
            f'      -d \'{{"id": "{entity_id}", "name": "{name}"}}\'',
        ]
    lines += [f"  curl -s {status_url}", "", "Press Ctrl-C to stop everything."]
    return lines


def _missing_entity(data: SampleData) -> tuple[str, str] | None:
    missing = data.unmatched_entity_names()
    return (entity_id_for(missing[0]), missing[0]) if missing else None


async def _serve(running: _Running, client: httpx.AsyncClient, totals: Totals) -> None:
    """Until interrupted: print a progress line whenever the counts change."""
    assert running.poweroffice is not None
    assert running.chargebee is not None
    env_file = write_demo_env(running.worker_log.parent)
    running.say()
    for line in try_it_lines(
        poweroffice_root=running.poweroffice.root_url,
        chargebee_root=running.chargebee.root_url,
        status_url=running.status_url,
        env_file=env_file,
        employee_id=running.data.employees[1].id,
        missing_entity=_missing_entity(running.data),
    ):
        running.say(line)
    shown: Progress | None = None
    async for status in _statuses(running, client, every=2.0):
        if status is None:
            continue
        progress = progress_from_status(status, broker_answers=await running.broker_answers())
        if progress != shown:
            shown = progress
            elapsed = time.monotonic() - running.worker_started
            running.say(format_progress(progress, totals, elapsed))
