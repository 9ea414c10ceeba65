"""Several connections in one worker (docs/worker.md, "Several connections").

One worker, configured by a `LEDGERLINK_CONNECTIONS_FILE` naming two connections, `acme`
and `fjord`: one PowerOffice Go integration (shared application and subscription keys)
but two client companies, each its own simulator with its own store and client key, and
two Chargebee sites, each its own simulator. Secrets reach the worker only through the
environment variables the file names. The connections must stay apart: each site gets
exactly its own company's records, an edit in one company reaches only its partner, and
a broken file stops the worker at start with a message that names what is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.chargebee.sim.store import ChargebeeStore
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.sim.store import PowerOfficeStore
from connectors.simkit import RunningSimulator
from connectors.simkit.limits import SlidingWindowLimiter
from tests.integration.simulators import start_simulator_pair

from .conftest import (
    CB_CLIENT_BUDGET_PER_MINUTE,
    CB_RATE_LIMIT_PER_MINUTE,
    PO_CLIENT_BUDGET_PER_SECOND,
    PO_RATE_LIMIT_PER_SECOND,
    PO_WRITE_METHODS,
    POLL_INTERVAL,
    REPO_ROOT,
    Harness,
    WorkerProblem,
    customer_values,
    expected_customer_values,
    free_port,
    left_key,
    person,
)

pytestmark = pytest.mark.integration

#: Shared by every connection: one PowerOffice Go integration.
APPLICATION_KEY = "multi-test-application-key-5b1e"
SUBSCRIPTION_KEY = "multi-test-subscription-key-9c2d"

#: The same Id in both companies: separate companies have separate id spaces.
SHARED_ID = 40_005
ACME_IDS = (40_001, 40_002, 40_003, 40_004, SHARED_ID)
FJORD_IDS = (SHARED_ID, 40_006, 40_007, 40_008, 40_009, 40_010, 40_011)

WORKER_COMMAND = (sys.executable, "-m", "streams.cli", "worker")


@dataclass
class Company:
    """One connection: a PowerOffice Go client company and its Chargebee site."""

    connection: str
    site: str
    client_key: str
    cb_api_key: str
    po_store: PowerOfficeStore
    cb_store: ChargebeeStore
    po: RunningSimulator
    cb: RunningSimulator
    employees: list[dict[str, Any]] = field(default_factory=list)

    @property
    def env_prefix(self) -> str:
        return self.connection.upper()

    def secrets_env(self) -> dict[str, str]:
        return {
            f"{self.env_prefix}_POWEROFFICE_CLIENT_KEY": self.client_key,
            f"{self.env_prefix}_CHARGEBEE_API_KEY": self.cb_api_key,
        }

    def toml(self) -> str:
        return (
            "[[connection]]\n"
            f'id = "{self.connection}"\n'
            f'poweroffice_client_key_env = "{self.env_prefix}_POWEROFFICE_CLIENT_KEY"\n'
            f'poweroffice_base_url = "{self.po.root_url}/v2"\n'
            f'poweroffice_token_url = "{self.po.root_url}/OAuth/Token"\n'
            f'chargebee_site = "{self.site}"\n'
            f'chargebee_api_key_env = "{self.env_prefix}_CHARGEBEE_API_KEY"\n'
            f'chargebee_base_url = "{self.cb.root_url}/api/v2"\n'
            f"chargebee_requests_per_minute = {CB_CLIENT_BUDGET_PER_MINUTE}\n"
        )

    async def stop(self) -> None:
        await self.po.stop()
        await self.cb.stop()


async def start_company(
    connection: str, *, po_limiter: SlidingWindowLimiter | None = None
) -> Company:
    """``po_limiter``: the PowerOffice Go rate window this company shares with others (one
    integration); by default its simulator counts its own."""
    client_key = f"{connection}-client-key-{os.urandom(4).hex()}"
    cb_api_key = f"test_{connection}_key_{os.urandom(4).hex()}"
    site = f"{connection}-test"
    pair = await start_simulator_pair(
        application_key=APPLICATION_KEY,
        client_key=client_key,
        subscription_key=SUBSCRIPTION_KEY,
        po_rate_limit=PO_RATE_LIMIT_PER_SECOND,
        site=site,
        api_key=cb_api_key,
        cb_rate_limit_per_minute=CB_RATE_LIMIT_PER_MINUTE,
        po_limiter=po_limiter,
    )
    return Company(
        connection=connection,
        site=site,
        client_key=client_key,
        cb_api_key=cb_api_key,
        po_store=pair.po_store,
        cb_store=pair.cb_store,
        po=pair.po,
        cb=pair.cb,
    )


def connections_toml(companies: list[Company], *, shared_root: str) -> str:
    head = (
        "[poweroffice]\n"
        f'base_url = "{shared_root}/v2"\n'
        f'token_url = "{shared_root}/OAuth/Token"\n'
        'application_key_env = "POWEROFFICE_APPLICATION_KEY"\n'
        'subscription_key_env = "POWEROFFICE_SUBSCRIPTION_KEY"\n'
    )
    return "\n".join([head, *(company.toml() for company in companies)])


# -- reading a simulator's request counts (any simulator, not only the harness's pair) -------


async def sim_writes(root_url: str, system: str) -> Counter[tuple[str, str]]:
    """Successful writes by (method, route template) since the last stats reset."""
    async with httpx.AsyncClient(base_url=root_url) as admin:
        response = await admin.get("/_sim/stats")
        response.raise_for_status()
        rows = response.json()["requests"]
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if not 200 <= int(row["status"]) < 300:
            continue
        if system == "chargebee":
            is_write = row["method"] == "POST" and row["route"].startswith("/api/v2/")
        else:
            is_write = row["method"] in PO_WRITE_METHODS and row["route"].startswith("/v2/")
        if is_write:
            counts[(row["method"], row["route"])] += int(row["count"])
    return counts


async def sim_stats(root_url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=root_url) as admin:
        response = await admin.get("/_sim/stats")
        response.raise_for_status()
        rows = response.json()["requests"]
    assert isinstance(rows, list)
    return rows


async def reset_stats(*roots: str) -> None:
    for root in roots:
        async with httpx.AsyncClient(base_url=root) as admin:
            (await admin.post("/_sim/stats/reset")).raise_for_status()


# -- the harness: one worker serving every company of ``companies`` --------------------------


@dataclass
class ConnectionsHarness(Harness):
    """The sync harness with a connections file instead of the single-connection variables.

    ``po``/``cb`` (and their stores) are the first company's, so that the inherited
    helpers still work; everything per connection goes through ``companies``."""

    companies: dict[str, Company] = field(default_factory=dict)
    connections_file: Path | None = None

    def env(self) -> dict[str, str]:
        """Only what docs/worker.md documents for a worker serving a connections file: no
        `POWEROFFICE_CLIENT_KEY`, no `CHARGEBEE_*` site, key or URL."""
        assert self.connections_file is not None
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "LEDGERLINK_CONNECTIONS_FILE": str(self.connections_file),
            "LEDGERLINK_TOPIC_PREFIX": self.prefix,
            "LEDGERLINK_DATA_DIR": str(self.data_dir),
            "LEDGERLINK_POLL_INTERVAL": str(self.poll_interval),
            "LEDGERLINK_WEB_PORT": str(self.web_port),
            "POWEROFFICE_APPLICATION_KEY": APPLICATION_KEY,
            "POWEROFFICE_SUBSCRIPTION_KEY": SUBSCRIPTION_KEY,
            "POWEROFFICE_REQUESTS_PER_SECOND": str(PO_CLIENT_BUDGET_PER_SECOND),
            "CHARGEBEE_REQUESTS_PER_MINUTE": str(CB_CLIENT_BUDGET_PER_MINUTE),
            "PYTHONUNBUFFERED": "1",
        }
        for company in self.companies.values():
            env.update(company.secrets_env())
        return {**env, **self.extra_env}

    async def status_of(self, connection: str) -> dict[str, Any]:
        self.check_alive(f"while the test read /ledgerlink/status?connection={connection}")
        response = await self.http.get("/ledgerlink/status", params={"connection": connection})
        assert response.status_code == 200, (
            f"status?connection={connection}: HTTP {response.status_code} {response.text}"
        )
        body = response.json()
        assert isinstance(body, dict)
        assert body.get("connection") == connection, (
            f"status?connection={connection} answered for another connection: {body}"
        )
        return body

    async def links_of(self, connection: str) -> dict[tuple[str, str], dict[str, Any]]:
        """Links of one connection keyed by (PowerOffice Go entity, id)."""
        self.check_alive(f"while the test read /ledgerlink/links?connection={connection}")
        response = await self.http.get("/ledgerlink/links", params={"connection": connection})
        assert response.status_code == 200, (
            f"links?connection={connection}: HTTP {response.status_code} {response.text}"
        )
        links = response.json()["links"]
        assert isinstance(links, list)
        counts = Counter(left_key(link) for link in links)
        doubled = {key: n for key, n in counts.items() if n > 1}
        assert not doubled, f"{connection}: records with more than one link: {doubled}"
        return {left_key(link): link for link in links}

    async def wait_all_converged(
        self, within: float = 90.0, *, fresh_polls: int = 2
    ) -> dict[str, dict[str, Any]]:
        """Wait until every connection reports `converged` *and* each of its sources
        completed ``fresh_polls`` polls that began after this call."""
        since_ms = int(time.time() * 1000)
        seen: dict[tuple[str, str], set[int]] = {}
        deadline = time.monotonic() + within
        last: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            done = True
            for connection in self.companies:
                status = last[connection] = await self.status_of(connection)
                marks = self._poll_marks(status)
                for name, mark in marks.items():
                    if mark > since_ms:
                        seen.setdefault((connection, name), set()).add(mark)
                fresh = bool(marks) and all(
                    len(seen.get((connection, name), ())) >= fresh_polls for name in marks
                )
                done = done and fresh and status.get("converged") is True
            if done:
                return last
            await asyncio.sleep(0.1)
        raise WorkerProblem(
            f"not every connection converged within {within:.0f} s; last statuses:\n"
            f"{orjson.dumps(last).decode()}\n"
            f"worker log tail:\n{self.log_tail()}"
        )


def connections_harness(
    companies: list[Company],
    *,
    kafka_bootstrap: str,
    topic_name: str,
    tmp_path: Path,
    poll_interval: float = POLL_INTERVAL,
) -> ConnectionsHarness:
    """A harness whose worker serves ``companies`` from a connections file in
    ``tmp_path``; the first company's PowerOffice Go URLs are the shared ones."""
    first = companies[0]
    connections_file = tmp_path / "connections.toml"
    connections_file.write_text(
        connections_toml(companies, shared_root=first.po.root_url), encoding="utf-8"
    )
    data_dir = tmp_path / "ledgerlink-data"
    data_dir.mkdir()
    return ConnectionsHarness(
        po_store=first.po_store,
        cb_store=first.cb_store,
        po=first.po,
        cb=first.cb,
        kafka_bootstrap=kafka_bootstrap,
        prefix=f"{topic_name}.",
        data_dir=data_dir,
        log_path=tmp_path / "worker.log",
        poll_interval=poll_interval,
        companies={company.connection: company for company in companies},
        connections_file=connections_file,
    )


def group_worker(
    companies: list[Company],
    n: int,
    *,
    connections_file: Path,
    kafka_bootstrap: str,
    topic_name: str,
    tmp_path: Path,
    poll_interval: float = POLL_INTERVAL,
    extra_env: dict[str, str] | None = None,
) -> ConnectionsHarness:
    """Worker ``n`` of a consumer group (one topic prefix) serving ``companies`` from
    ``connections_file``, with its own data directory and log in ``tmp_path``."""
    data_dir = tmp_path / f"worker-{n}"
    data_dir.mkdir()
    return ConnectionsHarness(
        po_store=companies[0].po_store,
        cb_store=companies[0].cb_store,
        po=companies[0].po,
        cb=companies[0].cb,
        kafka_bootstrap=kafka_bootstrap,
        prefix=f"{topic_name}.",
        data_dir=data_dir,
        log_path=tmp_path / f"worker-{n}.log",
        poll_interval=poll_interval,
        companies={c.connection: c for c in companies},
        connections_file=connections_file,
        extra_env=dict(extra_env or {}),
    )


def group_workers(
    companies: list[Company],
    count: int,
    *,
    kafka_bootstrap: str,
    topic_name: str,
    tmp_path: Path,
    poll_interval: float = POLL_INTERVAL,
    extra_env: dict[str, str] | None = None,
) -> list[ConnectionsHarness]:
    """``count`` workers of one consumer group serving ``companies`` from one connections
    file written to ``tmp_path`` (the first company's PowerOffice Go URLs are shared)."""
    connections_file = tmp_path / "connections.toml"
    connections_file.write_text(
        connections_toml(companies, shared_root=companies[0].po.root_url), encoding="utf-8"
    )
    return [
        group_worker(
            companies,
            n,
            connections_file=connections_file,
            kafka_bootstrap=kafka_bootstrap,
            topic_name=topic_name,
            tmp_path=tmp_path,
            poll_interval=poll_interval,
            extra_env=extra_env,
        )
        for n in range(count)
    ]


def seed(company: Company, ids: tuple[int, ...], *, offset: int, domain: str) -> None:
    for n, record_id in enumerate(ids):
        company.employees.append(
            company.po_store.add_employee(id=record_id, **person(offset + n, domain))
        )


@pytest.fixture
async def harness(
    kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> AsyncIterator[ConnectionsHarness]:
    """Named like conftest's fixture so that a failing test gets the worker log's tail."""
    companies: list[Company] = []
    the_harness: ConnectionsHarness | None = None
    try:
        for connection in ("acme", "fjord"):
            companies.append(await start_company(connection))
        acme, fjord = companies
        the_harness = connections_harness(
            companies, kafka_bootstrap=kafka_bootstrap, topic_name=topic_name, tmp_path=tmp_path
        )
        seed(acme, ACME_IDS, offset=0, domain="acme.no")
        seed(fjord, FJORD_IDS, offset=20, domain="fjord.no")
        yield the_harness
    finally:
        if the_harness is not None:
            await the_harness.close()
        for company in companies:
            await company.stop()


def assert_site_holds_exactly(company: Company) -> None:
    """The company's Chargebee site holds one customer per employee, with its values."""
    customers = company.cb_store.customer_rows(include_deleted=True)
    assert len(customers) == len(company.employees), (
        f"{company.connection}: {len(customers)} customers on its site, "
        f"expected {len(company.employees)}: {[dict(row.data) for row in customers]}"
    )
    held = sorted(
        orjson.dumps(customer_values(row.data), option=orjson.OPT_SORT_KEYS) for row in customers
    )
    expected = sorted(
        orjson.dumps(expected_customer_values(record), option=orjson.OPT_SORT_KEYS)
        for record in company.employees
    )
    assert held == expected, f"{company.connection}: its site holds other values"


def assert_links_are_own(
    company: Company, links: Mapping[tuple[str, str], Mapping[str, Any]]
) -> None:
    """The connection's links are exactly its own employees, each linked to a customer of
    its own site that holds that employee's values."""
    expected_keys = {("Employee", str(record["Id"])) for record in company.employees}
    assert set(links) == expected_keys, (
        f"{company.connection}: links {sorted(links)}, expected {sorted(expected_keys)}"
    )
    by_id = {str(record["Id"]): record for record in company.employees}
    for key, link in links.items():
        assert (link["flow"], link["state"]) == ("employee", "linked"), (company.connection, link)
        assert link["right"]["system"] == "chargebee", (company.connection, link)
        partner = company.cb_store.get_customer(str(link["right"]["id"]))
        assert partner is not None, f"{company.connection}: {link} points off its own site"
        assert customer_values(partner) == expected_customer_values(by_id[key[1]]), (
            company.connection,
            link,
        )


async def test_two_connections_in_one_worker_stay_apart(harness: ConnectionsHarness):
    acme, fjord = harness.companies["acme"], harness.companies["fjord"]
    await harness.start_worker()
    statuses = await harness.wait_all_converged(within=90)

    assert statuses["acme"]["flows"]["employee"]["linked"] == len(ACME_IDS), statuses["acme"]
    assert statuses["fjord"]["flows"]["employee"]["linked"] == len(FJORD_IDS), statuses["fjord"]

    assert_site_holds_exactly(acme)
    assert_site_holds_exactly(fjord)

    acme_links = await harness.links_of("acme")
    fjord_links = await harness.links_of("fjord")
    assert_links_are_own(acme, acme_links)
    assert_links_are_own(fjord, fjord_links)

    # The shared Id is two records of two companies: two customers, two ids.
    shared = ("Employee", str(SHARED_ID))
    assert acme_links[shared]["right"]["id"] != fjord_links[shared]["right"]["id"], (
        acme_links[shared],
        fjord_links[shared],
    )
    acme_ids = {str(row.data["id"]) for row in acme.cb_store.customer_rows(include_deleted=True)}
    fjord_ids = {str(row.data["id"]) for row in fjord.cb_store.customer_rows(include_deleted=True)}
    assert not acme_ids & fjord_ids, (
        f"customer ids used in both connections: {acme_ids & fjord_ids}"
    )


async def test_an_edit_in_one_connection_reaches_only_its_partner(harness: ConnectionsHarness):
    acme, fjord = harness.companies["acme"], harness.companies["fjord"]
    await harness.start_worker()
    await harness.wait_all_converged(within=90)
    acme_partner = str(
        (await harness.links_of("acme"))[("Employee", str(SHARED_ID))]["right"]["id"]
    )
    fjord_partner = str(
        (await harness.links_of("fjord"))[("Employee", str(SHARED_ID))]["right"]["id"]
    )
    fjord_before = fjord.cb_store.get_customer(fjord_partner)
    assert fjord_before is not None
    await reset_stats(acme.po.root_url, acme.cb.root_url, fjord.po.root_url, fjord.cb.root_url)

    # The employee whose Id fjord's company uses too: a mix-up of keys would show here.
    edited = acme.po_store.edit(Resource.EMPLOYEES, SHARED_ID, EmailAddress="ny.epost@acme.no")
    assert edited["EmailAddress"] == "ny.epost@acme.no"
    await harness.wait_all_converged(within=60)
    await harness.wait_poll_cycles(2)

    acme_customer = acme.cb_store.get_customer(acme_partner)
    assert acme_customer is not None
    assert acme_customer["email"] == "ny.epost@acme.no", acme_customer

    fjord_writes = await sim_writes(fjord.cb.root_url, "chargebee")
    fjord_posts = [row for row in await sim_stats(fjord.cb.root_url) if row["method"] == "POST"]
    assert not fjord_posts, f"fjord's Chargebee site saw POSTs after acme's edit: {fjord_posts}"
    assert fjord_writes == Counter(), fjord_writes
    po_writes = await sim_writes(fjord.po.root_url, "poweroffice")
    assert po_writes == Counter(), f"fjord's PowerOffice Go company saw writes: {po_writes}"
    assert fjord.cb_store.get_customer(fjord_partner) == fjord_before
    acme_cb_writes = await sim_writes(acme.cb.root_url, "chargebee")
    assert acme_cb_writes == Counter({("POST", "/api/v2/customers/{id}"): 1}), await sim_stats(
        acme.cb.root_url
    )


async def test_a_connections_file_naming_an_unset_variable_stops_the_worker(
    kafka_bootstrap: str, topic_name: str, tmp_path: Path
):
    secrets = {
        "POWEROFFICE_APPLICATION_KEY": "app-secret-value-7f3a91",
        "POWEROFFICE_SUBSCRIPTION_KEY": "sub-secret-value-2c8e44",
        "ACME_POWEROFFICE_CLIENT_KEY": "acme-client-secret-b61d05",
        "ACME_CHARGEBEE_API_KEY": "test_acme_secret_e93f12",
        "FJORD_POWEROFFICE_CLIENT_KEY": "fjord-client-secret-40aa7c",
        # FJORD_CHARGEBEE_API_KEY is named in the file but not set.
    }
    connections_file = tmp_path / "bad-connections.toml"
    connections_file.write_text(
        "[poweroffice]\n"
        'base_url = "http://127.0.0.1:9/v2"\n'
        'token_url = "http://127.0.0.1:9/OAuth/Token"\n'
        "\n"
        "[[connection]]\n"
        'id = "acme"\n'
        'poweroffice_client_key_env = "ACME_POWEROFFICE_CLIENT_KEY"\n'
        'chargebee_site = "acme"\n'
        'chargebee_api_key_env = "ACME_CHARGEBEE_API_KEY"\n'
        'chargebee_base_url = "http://127.0.0.1:9/api/v2"\n'
        "\n"
        "[[connection]]\n"
        'id = "fjord"\n'
        'poweroffice_client_key_env = "FJORD_POWEROFFICE_CLIENT_KEY"\n'
        'chargebee_site = "fjord"\n'
        'chargebee_api_key_env = "FJORD_CHARGEBEE_API_KEY"\n'
        'chargebee_base_url = "http://127.0.0.1:9/api/v2"\n',
        encoding="utf-8",
    )
    data_dir = tmp_path / "ledgerlink-data"
    data_dir.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POWEROFFICE_", "CHARGEBEE_", "LEDGERLINK_", "FJORD_", "ACME_"))
    }
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "LEDGERLINK_CONNECTIONS_FILE": str(connections_file),
            "LEDGERLINK_TOPIC_PREFIX": f"{topic_name}.",
            "LEDGERLINK_DATA_DIR": str(data_dir),
            "LEDGERLINK_WEB_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
            **secrets,
        }
    )
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *WORKER_COMMAND,
        cwd=REPO_ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output_bytes, _ = await asyncio.wait_for(process.communicate(), 30.0)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        pytest.fail(
            "the worker kept running for 30 s with a connections file naming an unset variable"
        )
    elapsed = time.monotonic() - started
    output = output_bytes.decode(errors="replace")
    details = f"exit code {process.returncode} after {elapsed:.1f} s; output:\n{output[-4000:]}"

    assert process.returncode not in (None, 0), details
    assert connections_file.name in output, f"the message does not name the file; {details}"
    assert "fjord" in output, f"the message does not name the connection; {details}"
    assert "FJORD_CHARGEBEE_API_KEY" in output, f"the message does not name the variable; {details}"
    leaked = [name for name, value in secrets.items() if value in output]
    assert not leaked, f"the output shows the values of {leaked}; {details}"


async def set_faults(root_url: str, faults: Mapping[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=root_url) as admin:
        (await admin.post("/_sim/faults", json=dict(faults))).raise_for_status()


async def test_one_sites_outage_does_not_stall_the_other_and_it_catches_up_after(
    harness: ConnectionsHarness,
):
    """Issue 7, isolation: acme's Chargebee answers 503 to everything; fjord's new
    employees still reach fjord's site, acme's commands are parked (not retried in
    place), and once acme's site is back it catches up with no duplicate."""
    acme, fjord = harness.companies["acme"], harness.companies["fjord"]
    await harness.start_worker()
    await harness.wait_all_converged(within=90)
    await set_faults(acme.cb.root_url, {"error_rate": 1.0, "status": 503})

    for n in range(3):
        acme.employees.append(acme.po_store.add_employee(**person(100 + n, "acme.no")))
        fjord.employees.append(fjord.po_store.add_employee(**person(200 + n, "fjord.no")))
    started = time.monotonic()
    deadline = started + 60
    while fjord.cb_store.customer_count(include_deleted=True) < len(fjord.employees):
        harness.check_alive("while fjord's new employees were on their way")
        assert time.monotonic() < deadline, (
            f"fjord's site holds {fjord.cb_store.customer_count(include_deleted=True)} of "
            f"{len(fjord.employees)} customers 60 s into acme's outage"
        )
        await asyncio.sleep(0.2)
    print(f"fjord's new employees arrived {time.monotonic() - started:.1f} s into acme's outage")
    while (await harness.status_of("acme"))["parked"] != 3:
        assert time.monotonic() < deadline, await harness.status_of("acme")
        await asyncio.sleep(0.2)
    assert_site_holds_exactly(fjord)

    await set_faults(acme.cb.root_url, {})
    statuses = await harness.wait_all_converged(within=120)
    assert statuses["acme"]["parked"] == 0, statuses["acme"]
    assert_site_holds_exactly(acme)
    assert_links_are_own(acme, await harness.links_of("acme"))
    assert_site_holds_exactly(fjord)
