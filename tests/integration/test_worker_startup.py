"""`ledgerlink worker` as an operator meets it (issue 6): at start-up.

A worker that cannot do its job stops at once with one `ledgerlink:` line that names the
variables to set — no traceback, no secret, and nothing written to the disk.

Every worker runs as a real subprocess (`python -m streams.cli worker`) configured only by
its environment; the simulators run in this process on real HTTP.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.dev import localkafka
from tests.integration.simulators import SimulatorPair, start_simulator_pair
from tests.integration.sync.conftest import CB_KEY, CB_SITE, PO_KEYS, free_port

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
