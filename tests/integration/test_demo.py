"""`ledgerlink demo --until-synced`, run for real: the session's Kafka broker, both
simulators with the sample data, the worker as a subprocess; it must exit 0 and end with
the table of links, e-mails masked and no key in sight."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from streams import config as settings
from streams.dev.sample_data import build_sample_data

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

DEMO_TIMEOUT = 300
DATA = build_sample_data()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def demo_run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    data_dir: Path = tmp_path_factory.mktemp("demo")
    command = [
        sys.executable, "-m", "streams.cli", "demo", "--until-synced",
        "--data-dir", str(data_dir),
        "--poweroffice-port", str(_free_port()),
        "--chargebee-port", str(_free_port()),
        "--web-port", str(_free_port()),
        "--timeout", str(DEMO_TIMEOUT),
    ]  # fmt: skip
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    result = subprocess.run(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT + 60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def _rows(output: str) -> list[str]:
    """The link table's rows (indented lines naming a PowerOffice Go record)."""
    return [
        line
        for line in output.splitlines()
        if re.match(r"^  \w+\s+(Customer|Employee|ContactPerson|Department) ", line)
    ]


def test_demo_exits_0_once_synced(demo_run):
    code, output = demo_run
    assert code == 0, f"ledgerlink demo --until-synced exited {code}:\n{output}"


def test_demo_links_every_person_to_a_chargebee_customer(demo_run):
    code, output = demo_run
    assert code == 0, output
    customers = [row for row in _rows(output) if " customer " in row]
    assert len(customers) == DATA.customer_count, output
    assert f"Linked {DATA.customer_count} Chargebee customers" in output


def test_demo_shows_the_shared_id_as_two_customers(demo_run):
    code, output = demo_run
    assert code == 0, output
    shared = DATA.employees[0].id
    partners = {
        row.split()[4]
        for row in _rows(output)
        if f"Employee {shared} " in row or f"Customer {shared} " in row
    }
    assert len(partners) == 2, output


def test_demo_reports_the_missing_business_entities_as_actions(demo_run):
    code, output = demo_run
    assert code == 0, output
    for name in DATA.unmatched_entity_names():
        assert f"'{name}'" in output, output


def test_demo_output_masks_emails_and_shows_no_keys(demo_run):
    _, output = demo_run
    emails = [p.email for p in DATA.employees] + [p.email for p in DATA.contact_persons]
    emails += [p.email for p in DATA.person_customers]
    for email in emails:
        assert email not in output
    for key in (
        settings.LOCAL_POWEROFFICE_APPLICATION_KEY,
        settings.LOCAL_POWEROFFICE_CLIENT_KEY,
        settings.LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
        settings.LOCAL_CHARGEBEE_API_KEY,
    ):
        assert key not in output
