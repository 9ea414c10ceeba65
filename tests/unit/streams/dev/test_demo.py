"""The demo's orchestration without a broker: its pure pieces, and a whole run against a
stand-in worker that serves the documented status and links endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from connectors.exceptions import LedgerlinkError
from streams import config as defaults
from streams.dev import demo

KEYS = (
    defaults.LOCAL_POWEROFFICE_APPLICATION_KEY,
    defaults.LOCAL_POWEROFFICE_CLIENT_KEY,
    defaults.LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
    defaults.LOCAL_CHARGEBEE_API_KEY,
)

# Answers like the worker of docs/worker.md: converged after about a second, with every
# link the sample data should make (STAND_IN_SHORT: converged with 70 customers and no
# entities, as a worker whose tables were deleted under it; STAND_IN_BROKER_DOWN: its
# broker is unreachable).
STAND_IN_WORKER = textwrap.dedent(
    """
    import os, sys, time
    from aiohttp import web
    from streams.dev.expected import ExpectedLinks
    from streams.dev.sample_data import build_sample_data
    began = time.monotonic()
    never = os.environ.get("STAND_IN_NEVER_CONVERGES") == "1"
    short = os.environ.get("STAND_IN_SHORT") == "1"
    broker_down = os.environ.get("STAND_IN_BROKER_DOWN") == "1"
    expected = ExpectedLinks.of(build_sample_data())
    customers = 70 if short else expected.customers
    entities = 0 if short else expected.entities
    if os.environ.get("STAND_IN_CRASHES") == "1":
        print("stand-in worker: cannot reach Kafka", flush=True)
        sys.exit(3)

    async def status(request):
        done = time.monotonic() - began > 1.0 and not never
        answer = {
            "connection": "default", "converged": done,
            "flows": {"employee": {"linked": customers if done else 10, "pending": 0},
                      "company": {"linked": entities if done else 0, "pending": 0}},
            "dead_letters": 0, "conflicts": 0, "actions": {"open": 1, "resolved": 0},
            "action_items": [{"id": "a", "kind": "create_business_entity", "message":
                              "create business entity 'Nordlys Regnskap AS' in Chargebee"}],
        }
        if broker_down:
            answer["broker"] = {"reachable": False}
        return web.json_response(answer)

    def row(flow, entity, rid, partner, values):
        return {"flow": flow, "state": "linked",
                "left": {"system": "poweroffice", "entity": entity, "id": str(rid)},
                "right": {"system": "chargebee", "entity": partner[0], "id": partner[1]},
                "values": values}

    async def links(request):
        rows = [row("employee", "Employee", 10013, ("customer", "cb-10013"),
                    {"email": "kjaersti.haugen@fjellsyn.no", "first_name": "Kjærsti",
                     "last_name": "Haugen"})]
        rows += [row("employee", "Employee", 20000 + n, ("customer", f"cb-{n}"), {})
                 for n in range(customers - 1)]
        rows += [row("company", "Customer", 30000 + n, ("business_entity", f"be-{n}"), {})
                 for n in range(entities)]
        return web.json_response({"links": rows})

    app = web.Application()
    app.router.add_get("/ledgerlink/status", status)
    app.router.add_get("/ledgerlink/links", links)
    print("stand-in worker env:", sorted(os.environ), flush=True)
    web.run_app(app, host="127.0.0.1", port=int(os.environ["LEDGERLINK_WEB_PORT"]),
                print=None)
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _options(tmp_path: Path, **overrides: object) -> demo.DemoOptions:
    values: dict[str, object] = {
        "until_synced": True,
        "data_dir": tmp_path / "demo",
        "poweroffice_port": _free_port(),
        "chargebee_port": _free_port(),
        "web_port": _free_port(),
        "kafka_bootstrap": "127.0.0.1:1",  # the stand-in never connects
        "timeout": 20.0,
        "worker_command": (sys.executable, "-c", STAND_IN_WORKER),
        "broker_probe": lambda bootstrap: True,
    }
    values.update(overrides)
    return demo.DemoOptions(**values)  # type: ignore[arg-type]


# -- pure pieces ----------------------------------------------------------------------------


def test_worker_environment_points_at_the_demo_and_drops_other_settings():
    env = demo.worker_environment(
        {"PATH": "/bin", "CHARGEBEE_SITE": "prod", "LEDGERLINK_CONNECTIONS_FILE": "x.toml"},
        bootstrap="127.0.0.1:9092",
        data_dir=Path("/tmp/d"),
        topic_prefix="demo-x-",
        poweroffice_root="http://127.0.0.1:8101",
        chargebee_root="http://127.0.0.1:8102",
        web_port=6066,
    )
    assert env["PATH"] == "/bin"
    assert "LEDGERLINK_CONNECTIONS_FILE" not in env
    assert env["CHARGEBEE_SITE"] == defaults.LOCAL_CHARGEBEE_SITE
    assert env["POWEROFFICE_BASE_URL"] == "http://127.0.0.1:8101/v2"
    assert env["POWEROFFICE_TOKEN_URL"] == "http://127.0.0.1:8101/OAuth/Token"
    assert env["CHARGEBEE_BASE_URL"] == "http://127.0.0.1:8102/api/v2"
    assert env["LEDGERLINK_POLL_INTERVAL"] == "1"
    assert env["LEDGERLINK_TOPIC_PREFIX"] == "demo-x-"
    assert env["LEDGERLINK_DATA_DIR"] == "/tmp/d"


def test_topic_prefix_is_fresh_and_a_valid_kafka_name():
    first, second = demo.demo_topic_prefix(), demo.demo_topic_prefix()
    assert first != second
    assert re.fullmatch(r"demo-\d{8}-\d{6}-[0-9a-f]{4}-", first)


def test_data_dir_of_another_worker_is_refused(tmp_path):
    (tmp_path / "cursors").mkdir()
    with pytest.raises(demo.DemoError, match="--data-dir"):
        demo.prepare_data_dir(tmp_path)
    assert (tmp_path / "cursors").exists()


def test_data_dir_of_an_earlier_demo_is_cleared_of_worker_state(tmp_path):
    demo.prepare_data_dir(tmp_path)
    (tmp_path / "faust").mkdir()
    (tmp_path / "cursors").mkdir()
    demo.prepare_data_dir(tmp_path)
    assert not (tmp_path / "faust").exists()
    assert not (tmp_path / "cursors").exists()


def test_try_it_lines_read_keys_from_the_env_file_and_never_show_them(tmp_path):
    env_file = demo.write_demo_env(tmp_path)
    text = "\n".join(
        demo.try_it_lines(
            poweroffice_root="http://127.0.0.1:8101",
            chargebee_root="http://127.0.0.1:8102",
            status_url="http://127.0.0.1:6066/ledgerlink/status",
            env_file=env_file,
            employee_id=10038,
            missing_entity=("nordlys-regnskap-as", "Nordlys Regnskap AS"),
        )
    )
    assert all(key not in text for key in KEYS)
    assert all(key in env_file.read_text() for key in KEYS)
    assert env_file.stat().st_mode & 0o077 == 0
    assert "/v2/Employees/10038" in text
    assert "nordlys-regnskap-as" in text


def test_a_port_in_use_names_its_flag(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        options = _options(tmp_path, chargebee_port=port)
        with pytest.raises(LedgerlinkError, match="--chargebee-port"):
            demo.run(
                until_synced=True,
                data_dir=options.data_dir,
                poweroffice_port=options.poweroffice_port,
                chargebee_port=port,
                web_port=options.web_port,
                env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
            )


# -- whole runs against the stand-in --------------------------------------------------------


async def test_until_synced_prints_the_report_and_exits_0(tmp_path):
    out = io.StringIO()
    code = await demo.run_demo(_options(tmp_path), out)
    text = out.getvalue()
    assert code == 0, text
    assert "synced customers 95/95" in text
    assert "Employee 10013" in text
    assert "customer cb-10013" in text
    assert "k***@fjellsyn.no" in text
    assert "kjaersti.haugen@" not in text
    assert "create business entity 'Nordlys Regnskap AS' in Chargebee" in text
    assert "Worker: stopped" in text
    assert all(key not in text for key in KEYS)


async def test_the_worker_gets_the_documented_environment(tmp_path):
    await demo.run_demo(_options(tmp_path), io.StringIO())
    log = (tmp_path / "demo" / "worker.log").read_text()
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "LEDGERLINK_TOPIC_PREFIX", "POWEROFFICE_BASE_URL"):
        assert name in log


async def test_a_worker_that_dies_fails_with_its_log_tail(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STAND_IN_CRASHES", "1")
    code = await demo.run_demo(_options(tmp_path), io.StringIO())
    assert code == 1
    error = capsys.readouterr().err
    assert "exited with code 3" in error
    assert "cannot reach Kafka" in error


async def test_no_convergence_within_the_timeout_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STAND_IN_NEVER_CONVERGES", "1")
    out = io.StringIO()
    code = await demo.run_demo(_options(tmp_path, timeout=2.0), out)
    assert code == 1
    assert "--timeout" in capsys.readouterr().err
    assert "Worker: stopped" in out.getvalue()


# -- one demo per data directory ------------------------------------------------------------


async def _until(predicate, seconds: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _stop(task: asyncio.Task[int]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_second_demo_on_the_same_data_dir_is_refused_before_it_deletes_anything(
    tmp_path,
):
    first_out = io.StringIO()
    first = asyncio.create_task(demo.run_demo(_options(tmp_path, until_synced=False), first_out))
    try:
        await _until(lambda: "Press Ctrl-C" in first_out.getvalue() or first.done())
        tables = tmp_path / "demo" / "faust" / "tables.sst"  # the running worker's state
        tables.parent.mkdir(parents=True, exist_ok=True)
        tables.write_text("rocksdb")
        second_out = io.StringIO()
        with pytest.raises(demo.DataDirInUseError, match="--data-dir") as refused:
            await demo.run_demo(_options(tmp_path), second_out)
        assert "\n" not in str(refused.value)
        assert tables.read_text() == "rocksdb"
        assert second_out.getvalue() == ""
    finally:
        await _stop(first)


async def test_a_data_dir_is_free_again_once_its_demo_ended(tmp_path):
    assert await demo.run_demo(_options(tmp_path), io.StringIO()) == 0
    assert await demo.run_demo(_options(tmp_path), io.StringIO()) == 0


# -- exit 0 only when every expected link exists --------------------------------------------


async def test_until_synced_fails_and_says_what_is_missing_when_links_fall_short(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("STAND_IN_SHORT", "1")
    out = io.StringIO()
    code = await demo.run_demo(_options(tmp_path, shortfall_grace=1.0), out)
    assert code == 1, out.getvalue()
    error = capsys.readouterr().err
    assert "25 of 95 Chargebee customers and 15 of 15 business entities are not linked" in error
    assert "Linked 70 Chargebee customers (expected 95)" in out.getvalue()
    assert "Worker: stopped" in out.getvalue()


async def test_without_until_synced_a_shortfall_is_reported_and_the_demo_keeps_running(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("STAND_IN_SHORT", "1")
    out = io.StringIO()
    task = asyncio.create_task(
        demo.run_demo(_options(tmp_path, until_synced=False, shortfall_grace=1.0), out)
    )
    try:
        await _until(lambda: "Press Ctrl-C" in out.getvalue() or task.done())
        assert not task.done()
        assert "Missing: 25 of 95 Chargebee customers" in out.getvalue()
    finally:
        await _stop(task)


# -- never converged while the broker is unreachable ----------------------------------------


async def test_converged_is_never_reported_while_the_worker_cannot_reach_its_broker(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("STAND_IN_BROKER_DOWN", "1")
    out = io.StringIO()
    code = await demo.run_demo(_options(tmp_path, timeout=3.0), out)
    assert code == 1
    assert "synced customers" not in out.getvalue()
    assert "Links (" not in out.getvalue()
    assert "Kafka unreachable" in capsys.readouterr().err


async def test_converged_is_never_reported_while_the_broker_probe_fails(tmp_path, capsys):
    probed: list[str] = []

    def broker_down(bootstrap: str) -> bool:
        probed.append(bootstrap)
        return False

    out = io.StringIO()
    code = await demo.run_demo(_options(tmp_path, timeout=3.0, broker_probe=broker_down), out)
    assert code == 1
    assert set(probed) == {"127.0.0.1:1"}
    assert "synced customers" not in out.getvalue()
    assert "Kafka unreachable" in capsys.readouterr().err


# -- the terminal shows progress and results; the log goes to the log file -------------------


async def test_log_records_go_to_the_demo_log_not_the_terminal(tmp_path):
    terminal = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(terminal)  # what `ledgerlink` sets up: the log on stderr
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    chatty = logging.getLogger("streams.dev.localkafka")

    async def log_while_running() -> None:
        while True:
            chatty.info("Starting Kafka (a line for the log file)")
            await asyncio.sleep(0.05)

    talker = asyncio.create_task(log_while_running())
    try:
        out = io.StringIO()
        code = await demo.run_demo(_options(tmp_path), out)
    finally:
        talker.cancel()
        root.removeHandler(handler)
        root.setLevel(level)
    assert code == 0, out.getvalue()
    log_file = tmp_path / "demo" / "demo.log"
    assert "Starting Kafka (a line for the log file)" in log_file.read_text()
    assert "Started the worker" in log_file.read_text()
    assert terminal.getvalue() == ""
    assert "Starting Kafka" not in out.getvalue()
