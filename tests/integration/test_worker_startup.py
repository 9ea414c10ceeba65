"""`ledgerlink worker` as an operator meets it (issue 6): at start-up, and while Kafka is away.

Start-up: a worker that cannot do its job stops at once with one `ledgerlink:` line that
names the variables to set — no traceback, no secret, and nothing written to the disk.

Outage: a broker stopped for a while costs one line when it goes and one when it comes
back, not thousands, and the worker syncs again afterwards.

Every worker runs as a real subprocess (`python -m streams.cli worker`) configured only by
its environment; the simulators run in this process on real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.dev import localkafka
from tests.integration.simulators import SimulatorPair, start_simulator_pair
from tests.integration.sync.conftest import (
    CB_KEY,
    CB_SITE,
    PO_KEYS,
    Harness,
    WorkerProblem,
    free_port,
)

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
#: How long a worker that cannot start may take to say so.
FAILS_WITHIN = 20.0
WRONG_CHARGEBEE_KEY = "test_wrong_key_d5f1"
WRONG_CLIENT_KEY = "wrong-client-key-7c2e"


@dataclass
class Outcome:
    code: int | None
    output: str
    seconds: float

    @property
    def ledgerlink_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("ledgerlink:")]


def bare_env(**variables: str) -> dict[str, str]:
    """An environment with nothing but PATH, the code under test and ``variables``
    (``env -i`` style: nothing of the test runner's own settings leaks in)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO_ROOT),
        **variables,
    }


async def run_worker(env: Mapping[str, str], *, cwd: Path, within: float = 60.0) -> Outcome:
    """Run `python -m streams.cli worker` until it exits (killed after ``within`` seconds)."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams.cli",
        "worker",
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        return Outcome(None, out.decode(errors="replace"), time.monotonic() - started)
    return Outcome(process.returncode, out.decode(errors="replace"), time.monotonic() - started)


def assert_refused_in_one_line(outcome: Outcome, *, within: float = FAILS_WITHIN) -> str:
    """The worker stopped non-zero, quickly, with exactly one `ledgerlink:` line and no
    traceback; returns that line."""
    tail = outcome.output[-3000:]
    assert outcome.code is not None, f"still running after {outcome.seconds:.0f} s:\n{tail}"
    assert outcome.code != 0, tail
    assert outcome.seconds < within, f"took {outcome.seconds:.1f} s:\n{tail}"
    assert "Traceback" not in outcome.output, tail
    assert len(outcome.ledgerlink_lines) == 1, tail
    return outcome.ledgerlink_lines[0]


@pytest.fixture
def default_simulator_ports_free() -> None:
    """The missing-settings tests rely on nothing answering on the simulators' defaults."""
    for port in (8101, 8102):
        if not localkafka.port_is_free(port, "127.0.0.1"):
            pytest.skip(f"something listens on 127.0.0.1:{port}, a simulator's default port")


@pytest.fixture
async def sims() -> AsyncIterator[SimulatorPair]:
    pair = await start_simulator_pair(
        application_key=PO_KEYS["application_key"],
        client_key=PO_KEYS["client_key"],
        subscription_key=PO_KEYS["subscription_key"],
        po_rate_limit=10,
        site=CB_SITE,
        api_key=CB_KEY,
        cb_rate_limit_per_minute=60_000,
    )
    try:
        yield pair
    finally:
        await pair.stop()


def simulator_env(sims: SimulatorPair, **overrides: str) -> dict[str, str]:
    return {
        "POWEROFFICE_BASE_URL": f"{sims.po.root_url}/v2",
        "POWEROFFICE_TOKEN_URL": f"{sims.po.root_url}/OAuth/Token",
        "POWEROFFICE_APPLICATION_KEY": PO_KEYS["application_key"],
        "POWEROFFICE_CLIENT_KEY": PO_KEYS["client_key"],
        "POWEROFFICE_SUBSCRIPTION_KEY": PO_KEYS["subscription_key"],
        "CHARGEBEE_SITE": CB_SITE,
        "CHARGEBEE_API_KEY": CB_KEY,
        "CHARGEBEE_BASE_URL": f"{sims.cb.root_url}/api/v2",
        **overrides,
    }


# -- start-up --------------------------------------------------------------------------------


@pytest.mark.usefixtures("default_simulator_ports_free")
async def test_with_only_kafka_set_the_worker_names_the_missing_variables_and_writes_nothing(
    kafka_bootstrap: str, tmp_path: Path
):
    data_dir = tmp_path / "data"
    env = bare_env(
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        LEDGERLINK_DATA_DIR=str(data_dir),
        LEDGERLINK_WEB_PORT=str(free_port()),
    )
    line = assert_refused_in_one_line(await run_worker(env, cwd=tmp_path, within=40))
    for name in ("POWEROFFICE_CLIENT_KEY", "POWEROFFICE_BASE_URL", "CHARGEBEE_API_KEY"):
        assert name in line
    assert "chargebee.com" not in line  # no real host by default
    assert not data_dir.exists()


@pytest.mark.usefixtures("default_simulator_ports_free")
async def test_an_empty_environment_fails_before_creating_var(tmp_path: Path):
    outcome = await run_worker(bare_env(), cwd=tmp_path, within=40)
    line = assert_refused_in_one_line(outcome)
    assert "POWEROFFICE_" in line
    assert "CHARGEBEE_" in line
    assert not (tmp_path / "var").exists()


async def test_a_wrong_chargebee_key_is_named_and_never_shown(
    kafka_bootstrap: str, sims: SimulatorPair, tmp_path: Path, topic_name: str
):
    env = bare_env(
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        LEDGERLINK_TOPIC_PREFIX=f"{topic_name}.",
        LEDGERLINK_DATA_DIR=str(tmp_path / "data"),
        LEDGERLINK_WEB_PORT=str(free_port()),
        **simulator_env(sims, CHARGEBEE_API_KEY=WRONG_CHARGEBEE_KEY),
    )
    outcome = await run_worker(env, cwd=tmp_path)
    line = assert_refused_in_one_line(outcome)
    assert "CHARGEBEE_API_KEY" in line
    assert WRONG_CHARGEBEE_KEY not in outcome.output
    assert not (tmp_path / "data").exists()


async def test_a_wrong_poweroffice_client_key_is_named_and_never_shown(
    kafka_bootstrap: str, sims: SimulatorPair, tmp_path: Path, topic_name: str
):
    env = bare_env(
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        LEDGERLINK_TOPIC_PREFIX=f"{topic_name}.",
        LEDGERLINK_DATA_DIR=str(tmp_path / "data"),
        LEDGERLINK_WEB_PORT=str(free_port()),
        **simulator_env(sims, POWEROFFICE_CLIENT_KEY=WRONG_CLIENT_KEY),
    )
    outcome = await run_worker(env, cwd=tmp_path)
    line = assert_refused_in_one_line(outcome)
    assert "POWEROFFICE_CLIENT_KEY" in line
    assert WRONG_CLIENT_KEY not in outcome.output
    assert not (tmp_path / "data").exists()


# -- a Kafka outage ----------------------------------------------------------------------------

OUTAGE_SECONDS = 15.0
#: Lines the worker may write from stopping the broker until it says the broker is back.
MAX_OUTAGE_LINES = 50
#: Share of one core the worker may use while the broker is away (idle it uses ~3 %; a
#: client spinning on failed metadata updates uses all of it).
MAX_OUTAGE_CPU = 0.30


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
async def own_kafka(tmp_path: Path) -> AsyncIterator[tuple[str, Path, int]]:
    """A broker of this test alone, since the test stops it: (bootstrap, data dir, port)."""
    data_dir = tmp_path / "kafka"
    port = localkafka.find_free_port()
    status = await asyncio.to_thread(localkafka.start, data_dir=data_dir, port=port)
    try:
        yield status.bootstrap_servers, data_dir, port
    finally:
        await asyncio.to_thread(localkafka.stop, data_dir=data_dir)


def log_since(harness: Harness, offset: int) -> list[str]:
    with harness.log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace").splitlines()


async def lines_once(harness: Harness, offset: int, text: str, within: float) -> list[str]:
    """The log since ``offset`` once it holds ``text``, or after ``within`` seconds."""
    deadline = time.monotonic() + within
    lines = log_since(harness, offset)
    while time.monotonic() < deadline and not any(text in line for line in lines):
        await asyncio.sleep(0.2)
        lines = log_since(harness, offset)
    return lines


async def wait_linked(harness: Harness, entity: str, record_id: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        links = await harness.links_by_left()
        link = links.get((entity, str(record_id)))
        if link is not None and link["state"] == "linked":
            return
        await asyncio.sleep(0.25)
    raise WorkerProblem(f"{entity} {record_id} not linked; log tail:\n{harness.log_tail()}")


async def test_a_kafka_outage_costs_two_lines_and_the_worker_syncs_afterwards(
    own_kafka: tuple[str, Path, int], sims: SimulatorPair, tmp_path: Path, topic_name: str
):
    bootstrap, kafka_dir, kafka_port = own_kafka
    harness = Harness(
        po_store=sims.po_store,
        cb_store=sims.cb_store,
        po=sims.po,
        cb=sims.cb,
        kafka_bootstrap=bootstrap,
        prefix=f"{topic_name}.",
        data_dir=tmp_path / "data",
        log_path=tmp_path / "worker.log",
        poll_interval=1.0,
    )
    before = sims.po_store.add_employee(
        FirstName="Kari", LastName="Nordmann", EmailAddress="kari.nordmann@example.no"
    )
    try:
        await harness.start_worker()
        await wait_linked(harness, "Employee", before["Id"], within=30)

        offset = harness.log_path.stat().st_size
        assert harness.process is not None
        pid = harness.process.pid
        await asyncio.to_thread(localkafka.stop, data_dir=kafka_dir)
        cpu_before, clock_before = cpu_seconds(pid), time.monotonic()
        # A record added while the broker is away: its change event waits in the publisher.
        during_outage = sims.po_store.add_employee(
            FirstName="Ola", LastName="Nordmann", EmailAddress="ola.nordmann@example.no"
        )
        await asyncio.sleep(OUTAGE_SECONDS)
        cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - clock_before)
        during = log_since(harness, offset)
        await asyncio.to_thread(localkafka.start, data_dir=kafka_dir, port=kafka_port)

        # Afterwards the worker publishes, joins and writes again, and still answers.
        await wait_linked(harness, "Employee", during_outage["Id"], within=30)
        after = sims.po_store.add_employee(
            FirstName="Åse", LastName="Bakke", EmailAddress="ase.bakke@example.no"
        )
        await wait_linked(harness, "Employee", after["Id"], within=30)
        assert (await harness.status())["polls"]
        lines = await lines_once(harness, offset, "is reachable again", within=10)
    finally:
        with contextlib.suppress(Exception):
            await harness.close()

    shown = "\n".join(line[:200] for line in lines[-60:])
    assert len(during) < MAX_OUTAGE_LINES, f"{len(during)} lines during the outage:\n{shown}"
    assert cpu < MAX_OUTAGE_CPU, f"the worker used {cpu:.0%} of a core during the outage"
    assert sum("is unreachable; retrying with backoff" in line for line in lines) == 1, shown
    assert sum("is reachable again" in line for line in lines) == 1, shown
    back = next(i for i, line in enumerate(lines) if "is reachable again" in line)
    assert back < MAX_OUTAGE_LINES, f"{back} lines until the broker was back:\n{shown}"
    assert "Traceback" not in "\n".join(lines), shown
