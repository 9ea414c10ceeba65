"""`ledgerlink status` and `ledgerlink links` as text: aligned columns, masked e-mails,
never 'converged' while the worker cannot reach its broker; and finding the worker."""

from __future__ import annotations

import re

import httpx
import pytest

from streams.cli import inspect
from tests.unit.streams.cli.conftest import LINKS, LONG_ID, STATUS


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_a_long_id_keeps_its_columns_apart():
    lines = inspect.format_links({"links": LINKS["links"][:2]}).splitlines()
    assert _cells(lines[1]) == [
        "contact_person",
        "linked",
        "ContactPerson 10055",
        f"customer {LONG_ID}",
        "a***@fjordkraft.no Åse",
    ]
    assert _cells(lines[2])[3] == "customer cb-0"
    # every row's columns start where the header's do
    starts = [lines[0].index(title) for title in ("state", "PowerOffice Go", "Chargebee")]
    for line in lines[1:3]:
        assert all(line[start - 2 : start] == "  " for start in starts)


def test_links_mask_every_email_whatever_its_field():
    text = inspect.format_links({"links": LINKS["links"][:1]})
    assert "ase.bjornstad@" not in text
    assert "a***@fjordkraft.no" in text


def test_status_is_never_converged_while_the_broker_is_unreachable():
    status = {**STATUS, "converged": True, "broker": {"reachable": False}}
    first = inspect.format_status(status).splitlines()[0]
    assert first == "connection default: broker unreachable"


def test_status_says_converged_with_a_reachable_broker():
    assert inspect.format_status(STATUS).splitlines()[0] == "connection default: converged"


def test_without_url_the_worker_is_on_the_local_web_port():
    assert str(inspect.worker_url(None, port=6066)) == "http://127.0.0.1:6066"


@pytest.mark.parametrize(
    ("given", "root"),
    [
        ("http://10.0.0.5:6066", "http://10.0.0.5:6066"),
        ("10.0.0.5:6066", "http://10.0.0.5:6066"),
        ("https://ops.example.no/worker/", "https://ops.example.no/worker/"),
    ],
)
def test_url_names_the_workers_web_root(given: str, root: str):
    assert str(inspect.worker_url(given, port=6066)) == root


@pytest.mark.parametrize("given", ["ftp://host:21", "http://", "http://[::1"])
def test_a_url_that_is_no_web_root_is_refused_naming_the_flag(given: str):
    with pytest.raises(inspect.InvalidWorkerUrlError, match="--url"):
        inspect.worker_url(given, port=6066)


def test_fetch_reads_under_a_path_prefix(proxied_worker_url: str):
    root = inspect.worker_url(proxied_worker_url, port=0)
    assert inspect.fetch(root, "/ledgerlink/status")["connection"] == "default"


def test_no_worker_at_the_url_says_how_to_point_at_one():
    with pytest.raises(inspect.WorkerUnreachableError, match="--url") as failed:
        inspect.fetch(httpx.URL("http://user:hunter2@127.0.0.1:1"), "/ledgerlink/status")
    assert "hunter2" not in str(failed.value)
