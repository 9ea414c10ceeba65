"""Harness for the sync engine's acceptance tests (issue 3).

Both simulators run in this process on real HTTP sockets, seeded through their stores;
the worker runs as a real subprocess (`python -m streams.cli worker`) configured only by
the environment `docs/worker.md` documents, against the real Kafka broker. The harness
reads what the worker promises to the outside: `GET /ledgerlink/status`,
`GET /ledgerlink/links`, the `deadletters` and `actions` topics, and the simulators'
`/_sim/stats` request counts. The worker's output goes to a file whose tail is attached
to every failing test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.chargebee.sim.store import ChargebeeStore
from connectors.poweroffice.sim.store import PowerOfficeStore
from connectors.simkit import RunningSimulator
from tests.integration.simulators import start_simulator_pair

REPO_ROOT = Path(__file__).resolve().parents[3]

PO_KEYS = {
    "application_key": "sync-test-app",
    "client_key": "sync-test-client",
    "subscription_key": "sync-test-sub",
}
#: The real API's limit; the worker's client-side budget stays just under it.
PO_RATE_LIMIT_PER_SECOND = 10
PO_CLIENT_BUDGET_PER_SECOND = 9
CB_SITE = "sync-test"
CB_KEY = "test_sync_key"
#: Chargebee's limit is per minute; high here so that only the engine's speed matters.
CB_RATE_LIMIT_PER_MINUTE = 60_000
CB_CLIENT_BUDGET_PER_MINUTE = 60_000

POLL_INTERVAL = 0.5
WORKER_READY_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 20.0

#: Writes counted per system: (method, route template) pairs of 2xx answers only. A 429
#: or 5xx changed nothing, so it is not a write (it is shown in failure messages).
PO_WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE", "PUT"})


class WorkerProblem(AssertionError):
    """The worker did not do what the contract promises in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def left_key(link: Mapping[str, Any]) -> tuple[str, str]:
    """(PowerOffice Go entity, id) of a link, e.g. ("Employee", "10001")."""
    return (str(link["left"]["entity"]), str(link["left"]["id"]))


def customer_values(customer: Mapping[str, Any]) -> dict[str, Any]:
    """The mapped fields of a Chargebee customer."""
    return {name: customer.get(name) for name in ("first_name", "last_name", "email")}


def expected_customer_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the Chargebee partner of a PowerOffice Go person-like record must hold."""
    return {
        "first_name": record["FirstName"],
        "last_name": record["LastName"],
        "email": record["EmailAddress"],
    }


async def wait_until(
    check: Callable[[], object],
    *,
    within: float,
    what: str,
    logs: Callable[[], str] | None = None,
    every: float = 0.25,
) -> float:
    """Wait until ``check()`` (or the awaitable it returns) is true; the seconds taken.
    Past ``within`` seconds: an AssertionError saying ``what``, with ``logs()`` if given."""
    started = time.monotonic()
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > within:
            detail = f"\n{logs()}" if logs is not None else ""
            raise AssertionError(f"{what}: not within {within:.0f} s{detail}")
        await asyncio.sleep(every)


@dataclass
class Harness:
    """Two simulators, one worker subprocess, and readers for what the worker promises."""

    po_store: PowerOfficeStore
    cb_store: ChargebeeStore
    po: RunningSimulator
    cb: RunningSimulator
    kafka_bootstrap: str
    prefix: str
    data_dir: Path
    log_path: Path
    web_port: int = field(default_factory=free_port)
    poll_interval: float = POLL_INTERVAL
    extra_env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(
        default_factory=lambda: [sys.executable, "-m", "streams.cli", "worker"]
    )
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    _http: httpx.AsyncClient | None = None

    # -- the worker ------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The worker's environment, exactly the variables of docs/worker.md."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "LEDGERLINK_CONNECTION_ID": "default",
            "LEDGERLINK_TOPIC_PREFIX": self.prefix,
            "LEDGERLINK_DATA_DIR": str(self.data_dir),
            "LEDGERLINK_POLL_INTERVAL": str(self.poll_interval),
            "LEDGERLINK_WEB_PORT": str(self.web_port),
            "POWEROFFICE_BASE_URL": f"{self.po.root_url}/v2",
            "POWEROFFICE_TOKEN_URL": f"{self.po.root_url}/OAuth/Token",
            "POWEROFFICE_APPLICATION_KEY": PO_KEYS["application_key"],
            "POWEROFFICE_CLIENT_KEY": PO_KEYS["client_key"],
            "POWEROFFICE_SUBSCRIPTION_KEY": PO_KEYS["subscription_key"],
            "POWEROFFICE_REQUESTS_PER_SECOND": str(PO_CLIENT_BUDGET_PER_SECOND),
            "CHARGEBEE_SITE": CB_SITE,
            "CHARGEBEE_API_KEY": CB_KEY,
            "CHARGEBEE_BASE_URL": f"{self.cb.root_url}/api/v2",
            "CHARGEBEE_REQUESTS_PER_MINUTE": str(CB_CLIENT_BUDGET_PER_MINUTE),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{self.web_port}", timeout=10.0
            )
        return self._http

    async def start_worker(self, *, ready_within: float = WORKER_READY_TIMEOUT) -> None:
        """Start `ledgerlink worker` and return once it answers `/ledgerlink/status`."""
        assert self.process is None or self.process.returncode is not None, "already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== ledgerlink worker, start #{self.starts} =====\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                cwd=REPO_ROOT,
                env={**os.environ, **self.env()},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        await self.wait_ready(ready_within)

    async def wait_ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            self.check_alive("before answering /ledgerlink/status")
            try:
                response = await self.http.get("/ledgerlink/status")
                if response.status_code == 200:
                    return
                last_problem = f"HTTP {response.status_code}: {response.text[:300]}"
            except httpx.TransportError as exc:
                last_problem = repr(exc)
            await asyncio.sleep(0.25)
        raise WorkerProblem(
            f"worker did not answer GET /ledgerlink/status on port {self.web_port} within "
            f"{within:.0f} s (last: {last_problem}); log tail:\n{self.log_tail()}"
        )

    def check_alive(self, doing: str) -> None:
        if self.process is not None and self.process.returncode is not None:
            raise WorkerProblem(
                f"worker exited with code {self.process.returncode} {doing}; "
                f"log tail:\n{self.log_tail()}"
            )

    async def stop_worker(self, grace: float = WORKER_STOP_TIMEOUT) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit code."""
        process = self.process
        if process is None or process.returncode is not None:
            return None if process is None else process.returncode
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            return await process.wait()

    async def kill_worker(self) -> None:
        """SIGKILL: no clean-up, no commit, no flush."""
        assert self.process is not None
        assert self.process.returncode is None
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no worker log)"
        # Faust's start-up tables (lines of '|' and '+') would crowd out what matters.
        kept = [line for line in text.splitlines() if not line.lstrip().startswith(("|", "+"))]
        return "\n".join(kept[-lines:]) or "(worker log is empty)"

    # -- what the worker reports over HTTP ---------------------------------------------------

    async def status(self) -> dict[str, Any]:
        self.check_alive("while the test read /ledgerlink/status")
        response = await self.http.get("/ledgerlink/status")
        assert response.status_code == 200, f"status: HTTP {response.status_code} {response.text}"
        body = response.json()
        assert isinstance(body, dict)
        return body

    async def links(self) -> list[dict[str, Any]]:
        self.check_alive("while the test read /ledgerlink/links")
        response = await self.http.get("/ledgerlink/links")
        assert response.status_code == 200, f"links: HTTP {response.status_code} {response.text}"
        links = response.json()["links"]
        assert isinstance(links, list)
        return links

    async def links_by_left(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Links keyed by (PowerOffice Go entity, id); fails if a record has two links."""
        links = await self.links()
        counts = Counter(left_key(link) for link in links)
        doubled = {key: n for key, n in counts.items() if n > 1}
        assert not doubled, f"records with more than one link: {doubled}"
        return {left_key(link): link for link in links}

    @staticmethod
    def _poll_marks(status: Mapping[str, Any]) -> dict[str, int]:
        """`last_poll_ms` per source; empty before the first poll cycle ended."""
        polls = status.get("polls") or {}
        assert isinstance(polls, dict), f"status.polls is not an object: {status}"
        marks = {}
        for name, poll in polls.items():
            assert isinstance(poll, dict), f"status.polls[{name!r}] is {poll!r}"
            assert "last_poll_ms" in poll, f"status.polls[{name!r}] has no last_poll_ms: {poll}"
            marks[name] = int(poll["last_poll_ms"] or 0)
        return marks

    async def wait_converged(self, within: float = 60.0, *, fresh_polls: int = 2) -> dict[str, Any]:
        """Wait until `converged` is true *and* every source has completed ``fresh_polls``
        polls that began after this call (so edits made before it were seen)."""
        since_ms = int(time.time() * 1000)
        seen: dict[str, set[int]] = {}
        deadline = time.monotonic() + within
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            last = await self.status()
            for name, mark in self._poll_marks(last).items():
                if mark > since_ms:
                    seen.setdefault(name, set()).add(mark)
            marks = self._poll_marks(last)
            fresh = bool(marks) and all(len(seen.get(name, ())) >= fresh_polls for name in marks)
            if last.get("converged") is True and fresh:
                return last
            await asyncio.sleep(0.1)
        raise WorkerProblem(
            f"not converged within {within:.0f} s; last status:\n"
            f"{orjson.dumps(last).decode()}\n"
            f"worker log tail:\n{self.log_tail()}"
        )

    async def wait_poll_cycles(self, cycles: int, within: float = 30.0) -> dict[str, Any]:
        """Wait until every source's `last_poll_ms` advanced ``cycles`` times."""
        start = self._poll_marks(await self.status())
        seen: dict[str, set[int]] = {name: set() for name in start}
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            status = await self.status()
            for name, mark in self._poll_marks(status).items():
                if mark != start.get(name):
                    seen.setdefault(name, set()).add(mark)
            if all(len(marks) >= cycles for marks in seen.values()):
                return status
            await asyncio.sleep(0.05)
        raise WorkerProblem(
            f"polls did not advance {cycles} times within {within:.0f} s: "
            f"{ {name: sorted(marks) for name, marks in seen.items()} }; "
            f"log tail:\n{self.log_tail()}"
        )

    # -- the simulators' request counts -------------------------------------------------------

    async def sim_stats(self, system: str) -> list[dict[str, Any]]:
        root = self.po.root_url if system == "poweroffice" else self.cb.root_url
        async with httpx.AsyncClient(base_url=root) as admin:
            response = await admin.get("/_sim/stats")
            response.raise_for_status()
            requests = response.json()["requests"]
        assert isinstance(requests, list)
        return requests

    async def reset_stats(self) -> None:
        for root in (self.po.root_url, self.cb.root_url):
            async with httpx.AsyncClient(base_url=root) as admin:
                (await admin.post("/_sim/stats/reset")).raise_for_status()

    async def writes(self, system: str) -> Counter[tuple[str, str]]:
        """Successful writes by (method, route template) since the last stats reset."""
        counts: Counter[tuple[str, str]] = Counter()
        for row in await self.sim_stats(system):
            if not 200 <= int(row["status"]) < 300:
                continue
            if system == "chargebee":
                is_write = row["method"] == "POST" and row["route"].startswith("/api/v2/")
            else:
                is_write = row["method"] in PO_WRITE_METHODS and row["route"].startswith("/v2/")
            if is_write:
                counts[(row["method"], row["route"])] += int(row["count"])
        return counts

    async def lag(self, max_seconds: float) -> tuple[int, str, str]:
        """`ledgerlink lag --max-seconds N` against this worker: exit code, stdout, stderr."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "streams.cli",
            "lag",
            "--max-seconds",
            f"{max_seconds:g}",
            "--url",
            f"http://127.0.0.1:{self.web_port}",
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def set_faults(self, system: str, faults: Mapping[str, Any]) -> None:
        root = self.po.root_url if system == "poweroffice" else self.cb.root_url
        async with httpx.AsyncClient(base_url=root) as admin:
            (await admin.post("/_sim/faults", json=dict(faults))).raise_for_status()

    # -- the worker's topics -----------------------------------------------------------------

    async def read_topic(
        self, name: str, *, at_least: int = 0, wait_seconds: float = 30.0
    ) -> list[dict[str, Any]]:
        """Every JSON value on ``{prefix}{name}`` from the beginning."""
        return await read_json_topic(
            self.kafka_bootstrap, self.topic(name), at_least=at_least, wait_seconds=wait_seconds
        )

    async def close(self) -> None:
        await self.stop_worker()
        if self._http is not None:
            await self._http.aclose()


async def read_json_topic(
    bootstrap: str, topic: str, *, at_least: int = 0, wait_seconds: float = 30.0
) -> list[dict[str, Any]]:
    """Every JSON value on ``topic`` once at least ``at_least`` arrived and the end of the
    topic was reached. A topic that never appears is empty (when ``at_least`` is 0)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + wait_seconds
        partitions: set[int] | None = None
        while not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                if time.monotonic() > deadline:
                    if at_least == 0:
                        return []
                    raise AssertionError(f"topic {topic} never appeared")
                await asyncio.sleep(0.2)
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        values: list[dict[str, Any]] = []
        while True:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                values.extend(orjson.loads(r.value) for r in records if r.value is not None)
            if len(values) >= at_least:
                ends = await consumer.end_offsets(assigned)
                positions = [await consumer.position(tp) for tp in assigned]
                if all(pos >= ends[tp] for pos, tp in zip(positions, assigned, strict=True)):
                    return values
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"only {len(values)} of at least {at_least} messages on {topic}: {values}"
                )
    finally:
        await consumer.stop()


async def assert_one_customer_per_record(
    harness: Harness, records: list[dict[str, Any]], entity: str = "Employee"
) -> None:
    """Every record is linked to its own Chargebee customer holding its values, and
    Chargebee holds no other customer."""
    links = await harness.links_by_left()
    partners: dict[str, int] = {}
    for record in records:
        link = links.get((entity, str(record["Id"])))
        assert link is not None, f"{entity} {record['Id']} has no link"
        assert link["state"] == "linked", link
        customer_id = str(link["right"]["id"])
        assert customer_id not in partners, (
            f"{entity} {partners[customer_id]} and {record['Id']} share {customer_id}"
        )
        partners[customer_id] = record["Id"]
        customer = harness.cb_store.get_customer(customer_id)
        assert customer is not None, f"{entity} {record['Id']}: no customer {customer_id}"
        assert not customer["deleted"], customer
        assert customer_values(customer) == expected_customer_values(record)
    all_ids = {row.data["id"] for row in harness.cb_store.customer_rows(include_deleted=True)}
    assert all_ids == set(partners)


def latest_by_id(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last message per `id` (an action item's latest state)."""
    latest: dict[str, dict[str, Any]] = {}
    for message in messages:
        latest[str(message["id"])] = message
    return latest


# -- seed data: Norwegian names, æ/ø/å included ---------------------------------------------

FIRST_NAMES = (
    "Åse", "Bjørn", "Kari", "Ola", "Sigrid", "Øystein", "Ingrid", "Håkon", "Solveig", "Torbjørn",
    "Ragnhild", "Even", "Mari", "Ærling", "Liv", "Jørgen", "Astrid", "Eirik", "Gunnhild", "Pål",
)  # fmt: skip
LAST_NAMES = (
    "Nordmann", "Bakke", "Ødegård", "Hansen", "Solberg", "Kvåle", "Strøm", "Lien", "Haugen",
    "Dahl", "Ås", "Berg", "Sæther", "Lund", "Moe", "Fjeld", "Røed", "Vik", "Brække", "Tveit",
)  # fmt: skip


def ascii_mail(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def person(i: int, domain: str) -> dict[str, Any]:
    first = FIRST_NAMES[i % len(FIRST_NAMES)]
    last = LAST_NAMES[(i // len(FIRST_NAMES) + i) % len(LAST_NAMES)]
    return {
        "FirstName": first,
        "LastName": last,
        "EmailAddress": f"{ascii_mail(first)}.{ascii_mail(last)}.{i}@{domain}",
    }


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
async def harness(kafka_bootstrap: str, topic_name: str, tmp_path: Path) -> AsyncIterator[Harness]:
    pair = await start_simulator_pair(
        application_key=PO_KEYS["application_key"],
        client_key=PO_KEYS["client_key"],
        subscription_key=PO_KEYS["subscription_key"],
        po_rate_limit=PO_RATE_LIMIT_PER_SECOND,
        site=CB_SITE,
        api_key=CB_KEY,
        cb_rate_limit_per_minute=CB_RATE_LIMIT_PER_MINUTE,
    )
    data_dir = tmp_path / "ledgerlink-data"
    data_dir.mkdir()
    the_harness = Harness(
        po_store=pair.po_store,
        cb_store=pair.cb_store,
        po=pair.po,
        cb=pair.cb,
        kafka_bootstrap=kafka_bootstrap,
        prefix=f"{topic_name}.",
        data_dir=data_dir,
        log_path=tmp_path / "worker.log",
    )
    try:
        yield the_harness
    finally:
        await the_harness.close()
        await pair.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed:
        harness = getattr(item, "funcargs", {}).get("harness")
        if isinstance(harness, Harness):
            report.sections.append(
                ("ledgerlink worker log (tail)", f"{harness.log_path}\n{harness.log_tail(120)}")
            )
