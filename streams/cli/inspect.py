"""`ledgerlink status` and `ledgerlink links`: ask a running worker and print its answer.

The worker is found at ``--url`` (its web root, e.g. ``http://10.0.0.5:6066``) or else at
127.0.0.1 on ``LEDGERLINK_WEB_PORT``. E-mail addresses are always shown masked.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from connectors.exceptions import LedgerlinkError
from connectors.secrets import mask_email

__all__ = [
    "InvalidWorkerUrlError",
    "WorkerUnreachableError",
    "fetch",
    "fetch_text",
    "format_lag",
    "format_links",
    "format_status",
    "lag_view",
    "worker_url",
]

_GAP = "  "


class WorkerUnreachableError(LedgerlinkError):
    """No worker answered at the URL asked."""


class InvalidWorkerUrlError(LedgerlinkError):
    """``--url`` is not the URL of a web server."""


def worker_url(url: str | None, *, port: int) -> httpx.URL:
    """The worker's web root: ``url`` (``http://`` when it names no scheme), else
    127.0.0.1 on ``port``."""
    if url is None:
        return httpx.URL(f"http://127.0.0.1:{port}")
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise InvalidWorkerUrlError(f"--url: {exc}; expected e.g. http://127.0.0.1:6066") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidWorkerUrlError(
            "--url: expected the worker's web root, e.g. http://127.0.0.1:6066, "
            f"got {_shown(parsed)}"
        )
    return parsed


def _shown(url: httpx.URL) -> str:
    """``url`` without credentials, for messages."""
    return str(url.copy_with(username=None, password=None)) if url.userinfo else str(url)


def _get(
    root: httpx.URL, path: str, *, connection: str | None = None
) -> tuple[httpx.URL, httpx.Response]:
    """GET ``path`` under the worker's web root; a missing worker is one clear error."""
    url = root.copy_with(path=root.path.rstrip("/") + path)
    params = {"connection": connection} if connection else None
    try:
        response = httpx.get(url, params=params, timeout=10.0)
        if response.status_code == 404 and connection:
            raise WorkerUnreachableError(str(response.json().get("error")))
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise WorkerUnreachableError(
            f"no worker answered at {_shown(url)} ({type(exc).__name__}); start one with "
            "`ledgerlink worker`, or point at one with --url (or LEDGERLINK_WEB_PORT)"
        ) from exc
    return url, response


def fetch_text(root: httpx.URL, path: str) -> str:
    """GET ``path`` under the worker's web root; its text (e.g. /metrics)."""
    return _get(root, path)[1].text


def lag_view(exposition: str, *, connection: str | None = None) -> dict[str, Any]:
    """Sync lag per connection and consumer lag per topic partition, from /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    sync: dict[str, float] = {}
    consumer: dict[str, dict[str, int]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "ledgerlink_sync_lag_seconds":
                conn = sample.labels.get("connection", "")
                if connection is None or conn == connection:
                    sync[conn] = float(sample.value)
            elif sample.name == "ledgerlink_consumer_lag_messages":
                topic = consumer.setdefault(sample.labels.get("topic", ""), {})
                topic[sample.labels.get("partition", "")] = int(sample.value)
    if connection is not None and connection not in sync:
        known = ", ".join(sorted(sync)) or "none"
        raise WorkerUnreachableError(
            f"unknown connection {connection!r}; this worker serves {known}"
        )
    return {"sync_lag_seconds": sync, "consumer_lag_messages": consumer}


def format_lag(view: Mapping[str, Any]) -> str:
    lines = ["sync lag (seconds)"]
    for conn, seconds in sorted(view["sync_lag_seconds"].items()):
        lines.append(f"{_GAP}{conn}{_GAP}{seconds:.1f}")
    lines.append("consumer lag (messages)")
    for topic, partitions in sorted(view["consumer_lag_messages"].items()):
        total = sum(partitions.values())
        lines.append(f"{_GAP}{topic}{_GAP}{total}")
    return "\n".join(lines)


def fetch(root: httpx.URL, path: str, *, connection: str | None = None) -> dict[str, object]:
    """GET ``path`` under the worker's web root ``root``; its JSON object."""
    url, response = _get(root, path, connection=connection)
    data = orjson.loads(response.content)
    if not isinstance(data, dict):
        raise WorkerUnreachableError(f"{_shown(url)} did not answer a JSON object")
    return data


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as columns as wide as their widest cell, two spaces apart."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        _GAP.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _state(status: Mapping[str, Any]) -> str:
    broker = status.get("broker")
    if isinstance(broker, Mapping) and broker.get("reachable") is False:
        # Never "converged" while the worker cannot reach its broker.
        return "broker unreachable"
    refused = status.get("refused")
    if isinstance(refused, Mapping) and refused:
        return f"keys refused by {', '.join(sorted(refused))}"
    return "converged" if status.get("converged") else "syncing"


def format_status(status: dict[str, object]) -> str:
    lines = [f"connection {status.get('connection')}: {_state(status)}", ""]
    flows = status.get("flows") or {}
    assert isinstance(flows, dict)
    rows = [("flow", "linked", "pending", "dead", "unlinked")]
    rows += [
        (
            name,
            str(counts["linked"]),
            str(counts["pending"]),
            str(counts["dead_letter"]),
            str(counts["unlinked"]),
        )
        for name, counts in sorted(flows.items())
    ]
    lines += _table(rows)
    lines.append("")
    polls = status.get("polls") or {}
    assert isinstance(polls, dict)
    now_ms = time.time() * 1000
    for name, poll in sorted(polls.items()):
        age = (now_ms - poll["last_poll_ms"]) / 1000
        lines.append(f"last poll {name:<28} {age:6.1f} s ago, published {poll['published']}")
    lines.extend(_schedule_lines(status.get("schedule")))
    lines.extend(_refused_lines(status.get("refused"), now_ms=now_ms))
    actions = status.get("actions") or {}
    assert isinstance(actions, dict)
    lines.append(
        f"dead letters {status.get('dead_letters')}   parked {status.get('parked', 0)}   "
        f"conflicts {status.get('conflicts')}   "
        f"action items open {actions.get('open')} resolved {actions.get('resolved')}"
    )
    items = status.get("action_items") or []
    assert isinstance(items, list)
    lines.extend(f"  action: {item['message']}" for item in items)
    return "\n".join(lines)


def _schedule_lines(schedule: object) -> list[str]:
    """One line per polled system: the achieved cycle, the budget's target, the mode."""
    if not isinstance(schedule, Mapping):
        return []
    lines = []
    for system, lane in sorted(schedule.items()):
        cycle = lane.get("cycle_seconds")
        achieved = "-" if cycle is None else f"{cycle:.1f} s"
        lines.append(
            f"poll cycle {system:<27} {achieved:>8} (target {lane['target_seconds']:.1f} s, "
            f"{lane['mode']})"
        )
    return lines


def _refused_lines(refused: object, *, now_ms: float) -> list[str]:
    """One line per system that refused the connection's keys: since when, when they are
    tried next, and what to check (the worker's sentence, naming variables, not values)."""
    if not isinstance(refused, Mapping):
        return []
    lines = []
    for system, keys in sorted(refused.items()):
        since = (now_ms - keys["since_ms"]) / 1000
        retry = max(keys["retry_at_ms"] - now_ms, 0) / 1000
        lines.append(
            f"keys refused {system:<25} since {since:.0f} s ago, next try in {retry:.0f} s: "
            f"{keys['message']}"
        )
    return lines


def _record(side: Any) -> str:
    if not isinstance(side, Mapping):
        return "-"
    return f"{side.get('entity', '?')} {side.get('id', '?')}"


def _shown_value(value: Any) -> str:
    text = "" if value is None else str(value)
    return mask_email(text) if "@" in text else text


def format_links(data: dict[str, object]) -> str:
    links = data.get("links") or []
    assert isinstance(links, list)
    rows = [("flow", "state", "PowerOffice Go", "Chargebee", "values")]
    for row in links:
        values = row.get("values") or {}
        shown = " ".join(_shown_value(v) for v in values.values() if v)
        rows.append(
            (
                str(row["flow"]),
                str(row["state"]),
                _record(row["left"]),
                _record(row["right"]),
                shown,
            )
        )
    return "\n".join([*_table(rows), f"{len(links)} link(s)"])
