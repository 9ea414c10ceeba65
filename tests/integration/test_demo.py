"""`ledgerlink demo`, run for real: the session's Kafka broker, both simulators with the
sample data, the worker as a subprocess.

With ``--until-synced`` it must exit 0, its output masking e-mails and showing no key.
Left running, what it linked is read as the worker reports it — ``ledgerlink links
--json`` and ``ledgerlink status --json`` against its web port — not scraped from the
demo's own output; Ctrl-C then stops everything.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams import config as settings
from streams.dev.progress import CUSTOMER_FLOWS, ENTITY_FLOWS
from streams.dev.sample_data import build_sample_data

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

DEMO_TIMEOUT = 300
DATA = build_sample_data()
KEYS = (
    settings.LOCAL_POWEROFFICE_APPLICATION_KEY,
    settings.LOCAL_POWEROFFICE_CLIENT_KEY,
    settings.LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
    settings.LOCAL_CHARGEBEE_API_KEY,
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _demo_command(data_dir: Path, web_port: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "streams.cli", "demo", *extra,
        "--data-dir", str(data_dir),
        "--poweroffice-port", str(_free_port()),
        "--chargebee-port", str(_free_port()),
        "--web-port", str(web_port),
        "--timeout", str(DEMO_TIMEOUT),
    ]  # fmt: skip


def _ledgerlink_json(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args, "--json"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    answer: dict[str, Any] = orjson.loads(result.stdout)
    return answer


@pytest.fixture(scope="module")
def demo_run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """`ledgerlink demo --until-synced`: its exit code and everything it printed."""
    command = _demo_command(tmp_path_factory.mktemp("demo"), _free_port(), "--until-synced")
    result = subprocess.run(
        command,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT + 60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


@dataclass
class ServingDemo:
    """A demo left running, and what its worker reported while it ran."""

    links: list[dict[str, Any]]
    status: dict[str, Any]
    exit_code: int
    output: str


def _read_into(stream: Any, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


@pytest.fixture(scope="module")
def serving(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServingDemo]:
    """`ledgerlink demo` until it serves; the worker's links and status; then Ctrl-C."""
    web_port = _free_port()
    process = subprocess.Popen(
        _demo_command(tmp_path_factory.mktemp("demo"), web_port),
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=_read_into, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + DEMO_TIMEOUT + 30
        while not any("Press Ctrl-C" in line for line in lines):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        url = f"http://127.0.0.1:{web_port}"
        links = _ledgerlink_json("links", "--url", url)["links"]
        status = _ledgerlink_json("status", "--url", url)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=90)
        reader.join(timeout=10)
        yield ServingDemo(links, status, code, "".join(lines))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _linked(links: list[dict[str, Any]], flows: tuple[str, ...]) -> list[dict[str, Any]]:
    return [link for link in links if link["flow"] in flows and link["state"] == "linked"]


def test_demo_exits_0_once_synced(demo_run):
    code, output = demo_run
    assert code == 0, f"ledgerlink demo --until-synced exited {code}:\n{output}"


def test_demo_output_masks_emails_and_shows_no_keys(demo_run, serving):
    emails = [p.email for p in DATA.employees] + [p.email for p in DATA.contact_persons]
    emails += [p.email for p in DATA.person_customers]
    for output in (demo_run[1], serving.output):
        assert all(email not in output for email in emails)
        assert all(key not in output for key in KEYS)


def test_demo_links_every_person_to_a_chargebee_customer(serving):
    customers = _linked(serving.links, CUSTOMER_FLOWS)
    assert len(customers) == DATA.customer_count
    assert {link["right"]["entity"] for link in customers} == {"customer"}
    assert len({link["right"]["id"] for link in customers}) == DATA.customer_count


def test_demo_links_every_matched_company_and_department_to_its_entity(serving):
    entities = _linked(serving.links, ENTITY_FLOWS)
    assert len(entities) == DATA.entity_count - len(DATA.unmatched_entity_names())
    known = {entity.id for entity in DATA.business_entities}
    assert {link["right"]["id"] for link in entities} <= known


def test_demo_makes_the_shared_id_two_customers(serving):
    shared = str(DATA.employees[0].id)
    partners = {
        link["right"]["id"]
        for link in _linked(serving.links, CUSTOMER_FLOWS)
        if link["left"]["id"] == shared
    }
    assert len(partners) == 2, serving.links


def test_demo_reports_the_missing_business_entities_as_actions(serving):
    messages = " ".join(item["message"] for item in serving.status["action_items"])
    for name in DATA.unmatched_entity_names():
        assert f"'{name}'" in messages


def test_demo_reports_converged_with_a_reachable_broker(serving):
    assert serving.status["converged"] is True
    assert serving.status.get("broker", {}).get("reachable", True) is True


def test_demo_stops_everything_on_ctrl_c(serving):
    assert serving.exit_code == 0, serving.output
    assert "Worker: stopped" in serving.output
    assert "Stopped." in serving.output
