"""The /metrics exposition (streams.metrics), read back with prometheus-client's parser,
and `ledgerlink lag`'s view of it."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.transport.observe import notify, observe_requests
from streams.cli.inspect import WorkerUnreachableError, format_lag, lag_view
from streams.metrics import Metrics, TableCounts
from streams.runtime import Runtime
from streams.sync.parking import Parked

NOW = 1_000_000


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def parked(conn: str, first_failed_ms: int) -> Parked:
    return Parked(
        connection=conn,
        target="chargebee",
        left_key="Employee:1",
        commands=({"x": 1},),
        attempts=1,
        first_failed_ms=first_failed_ms,
        next_attempt_ms=NOW,
        reason="503",
    )


def build(runtime: Runtime, parked_entries: list[Parked] | None = None) -> Metrics:
    return Metrics(
        runtime=runtime,
        served=["a", "b"],
        clock_ms=lambda: NOW,
        tables=TableCounts(
            parked=lambda: list(parked_entries or []),
            dead_letters=lambda c: 2 if c == "a" else 0,
            conflicts=lambda c: 1,
            open_actions=lambda c: 0,
        ),
    )


def test_idle_worker_has_zero_sync_lag_and_every_family():
    got = samples(build(Runtime()))
    assert got[("ledgerlink_sync_lag_seconds", (("connection", "a"),))] == 0
    assert got[("ledgerlink_sync_lag_seconds", (("connection", "b"),))] == 0
    assert got[("ledgerlink_dead_letters", (("connection", "a"),))] == 2
    assert got[("ledgerlink_conflicts", (("connection", "b"),))] == 1
    assert got[("ledgerlink_parked_commands", (("connection", "a"),))] == 0
    names = {name for name, _ in got}
    assert "ledgerlink_action_items_open" in names


def test_sync_lag_is_the_oldest_in_flight_or_parked_change():
    runtime = Runtime()
    runtime.record_sent("changes", 0, 5, connection="a", since_ms=NOW - 4000)
    runtime.record_sent("changes", 0, 6, connection="a", since_ms=NOW - 1000)
    runtime.record_sent("upserts", 0, 1, connection="b", since_ms=NOW - 3000)
    metrics = build(runtime, [parked("b", NOW - 9000)])
    got = samples(metrics)
    assert got[("ledgerlink_sync_lag_seconds", (("connection", "a"),))] == 4.0
    assert got[("ledgerlink_sync_lag_seconds", (("connection", "b"),))] == 9.0
    assert got[("ledgerlink_parked_commands", (("connection", "b"),))] == 1
    runtime.record_done("changes", 0, 5)
    assert metrics.sync_lag_seconds() == {"a": 1.0, "b": 3.0}
    runtime.record_done("changes", 0, 6)
    runtime.record_done("upserts", 0, 1)
    assert metrics.sync_lag_seconds() == {"a": 0.0, "b": 0.0}


def test_poll_age_and_consumer_lag():
    runtime = Runtime()
    runtime.polls["a"] = {}
    from streams.runtime import PollStatus

    runtime.polls["a"]["poweroffice:Employee"] = PollStatus(NOW - 2500, 0, 0, None)
    metrics = build(runtime)
    metrics.consumer_lag = {("p-changes", 0): 7, ("p-changes", 1): 0}
    got = samples(metrics)
    key = (("connection", "a"), ("source", "poweroffice:Employee"))
    assert got[("ledgerlink_poll_age_seconds", key)] == 2.5
    assert (
        got[("ledgerlink_consumer_lag_messages", (("partition", "0"), ("topic", "p-changes")))] == 7
    )


def test_consumer_offset_is_the_next_to_process_on_partitions_processed_since_start():
    runtime = Runtime()
    metrics = build(runtime)
    metrics.consumer_lag = {("p-changes", 0): 2, ("p-changes", 1): 5}
    runtime.record_done("p-changes", 0, 41)
    runtime.record_done("p-other", 0, 9)  # not a consumed partition: no series
    got = samples(metrics)
    offsets = {k[1]: v for k, v in got.items() if k[0] == "ledgerlink_consumer_offset"}
    assert offsets == {(("partition", "0"), ("topic", "p-changes")): 42}
    runtime.record_done("p-changes", 1, 0)
    got = samples(metrics)
    assert got[("ledgerlink_consumer_offset", (("partition", "1"), ("topic", "p-changes")))] == 1


def test_writes_latency_and_requests_are_counted():
    metrics = build(Runtime())
    metrics.wrote("a", "chargebee", "written", source_ts_ms=NOW - 3000)
    metrics.wrote("a", "chargebee", "unchanged", source_ts_ms=NOW - 3000)
    remove = observe_requests(metrics.observe_request)
    try:
        notify("chargebee", 429, True)
        notify("chargebee", 200, False)
        notify("poweroffice", None, False)
    finally:
        remove()
    notify("chargebee", 200, False)  # no longer observed
    got = samples(metrics)
    w = (
        "ledgerlink_writes_total",
        (("connection", "a"), ("outcome", "written"), ("system", "chargebee")),
    )
    assert got[w] == 1
    lat = (("connection", "a"), ("system", "chargebee"))
    assert got[("ledgerlink_sync_latency_seconds_count", lat)] == 1
    assert got[("ledgerlink_sync_latency_seconds_sum", lat)] == 3.0
    assert got[("ledgerlink_sync_latency_seconds_bucket", (*lat[:1], ("le", "2.5"), lat[1]))] == 0
    assert got[("ledgerlink_sync_latency_seconds_bucket", (*lat[:1], ("le", "5.0"), lat[1]))] == 1
    assert got[("ledgerlink_api_requests_total", (("status", "200"), ("system", "chargebee")))] == 1
    assert got[("ledgerlink_api_requests_total", (("status", "429"), ("system", "chargebee")))] == 1
    assert (
        got[("ledgerlink_api_requests_total", (("status", "error"), ("system", "poweroffice")))]
        == 1
    )
    assert got[("ledgerlink_api_rate_limited_total", (("system", "chargebee"),))] == 1
    assert got[("ledgerlink_api_retries_total", (("system", "chargebee"),))] == 1


def test_two_engines_do_not_share_a_registry():
    one, two = build(Runtime()), build(Runtime())
    one.echoes.labels("a").inc()
    assert samples(one)[("ledgerlink_echoes_suppressed_total", (("connection", "a"),))] == 1
    assert ("ledgerlink_echoes_suppressed_total", (("connection", "a"),)) not in samples(two)


def test_lag_view_reads_the_exposition():
    runtime = Runtime()
    runtime.record_sent("changes", 0, 1, connection="b", since_ms=NOW - 30_000)
    metrics = build(runtime)
    metrics.consumer_lag = {("p-changes", 0): 3, ("p-changes", 1): 4}
    view: dict[str, Any] = lag_view(metrics.exposition().decode())
    assert view == {
        "sync_lag_seconds": {"a": 0.0, "b": 30.0},
        "consumer_lag_messages": {"p-changes": {"0": 3, "1": 4}},
    }
    assert lag_view(metrics.exposition().decode(), connection="a")["sync_lag_seconds"] == {"a": 0.0}
    assert "p-changes  7" in format_lag(view)
    with pytest.raises(WorkerUnreachableError):
        lag_view(metrics.exposition().decode(), connection="zz")


def test_lag_command_exits_2_with_one_line_when_no_worker_answers(capsys):
    import socket

    from streams.cli.main import main

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["lag", "--url", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ledgerlink: no worker answered")
    assert "\n" not in err


def test_lag_command_exits_1_past_max_seconds(monkeypatch, capsys):
    from streams.cli import inspect
    from streams.cli.main import main

    runtime = Runtime()
    runtime.record_sent("changes", 0, 1, connection="b", since_ms=NOW - 30_000)
    text = build(runtime).exposition().decode()
    monkeypatch.setattr(inspect, "fetch_text", lambda root, path: text)
    assert main(["lag", "--url", "http://127.0.0.1:1", "--max-seconds", "20"]) == 1
    assert main(["lag", "--url", "http://127.0.0.1:1", "--max-seconds", "40"]) == 0
    assert (
        main(["lag", "--url", "http://127.0.0.1:1", "--connection", "a", "--max-seconds", "20"])
        == 0
    )
    assert "b  30.0" in capsys.readouterr().out
