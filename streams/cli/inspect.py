"""`ledgerlink status` and `ledgerlink links`: ask a running worker and print its answer."""

from __future__ import annotations

import time

import httpx
import orjson

from connectors.exceptions import LedgerlinkError
from connectors.secrets import mask_email

__all__ = ["fetch", "format_links", "format_status"]


class WorkerUnreachableError(LedgerlinkError):
    """No worker answered on the status port."""


def fetch(port: int, path: str, *, connection: str | None = None) -> dict[str, object]:
    url = f"http://127.0.0.1:{port}{path}"
    params = {"connection": connection} if connection else None
    try:
        response = httpx.get(url, params=params, timeout=10.0)
        if response.status_code == 404 and connection:
            raise WorkerUnreachableError(str(response.json().get("error")))
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise WorkerUnreachableError(
            f"no worker answered at {url} ({type(exc).__name__}); start one with "
            "`ledgerlink worker` or set LEDGERLINK_WEB_PORT to its port"
        ) from exc
    data = orjson.loads(response.content)
    if not isinstance(data, dict):
        raise WorkerUnreachableError(f"{url} did not answer a JSON object")
    return data


def format_status(status: dict[str, object]) -> str:
    lines = [
        f"connection {status.get('connection')}: "
        + ("converged" if status.get("converged") else "syncing"),
        "",
        f"{'flow':<18}{'linked':>8}{'pending':>9}{'dead':>6}{'unlinked':>10}",
    ]
    flows = status.get("flows") or {}
    assert isinstance(flows, dict)
    for name, counts in sorted(flows.items()):
        lines.append(
            f"{name:<18}{counts['linked']:>8}{counts['pending']:>9}"
            f"{counts['dead_letter']:>6}{counts['unlinked']:>10}"
        )
    lines.append("")
    polls = status.get("polls") or {}
    assert isinstance(polls, dict)
    now_ms = time.time() * 1000
    for name, poll in sorted(polls.items()):
        age = (now_ms - poll["last_poll_ms"]) / 1000
        lines.append(f"last poll {name:<28} {age:6.1f} s ago, published {poll['published']}")
    actions = status.get("actions") or {}
    assert isinstance(actions, dict)
    lines.append(
        f"dead letters {status.get('dead_letters')}   conflicts {status.get('conflicts')}   "
        f"action items open {actions.get('open')} resolved {actions.get('resolved')}"
    )
    items = status.get("action_items") or []
    assert isinstance(items, list)
    lines.extend(f"  action: {item['message']}" for item in items)
    return "\n".join(lines)


def format_links(data: dict[str, object]) -> str:
    rows = data.get("links") or []
    assert isinstance(rows, list)
    lines = [f"{'flow':<16}{'state':<16}{'PowerOffice Go':<28}{'Chargebee':<36}values"]
    for row in rows:
        left = row["left"]
        right = row["right"]
        values = dict(row.get("values") or {})
        if "email" in values:
            values["email"] = mask_email(values["email"])
        shown = " ".join(v for v in values.values() if v)
        lines.append(
            f"{row['flow']:<16}{row['state']:<16}"
            f"{left['entity'] + ' ' + left['id']:<28}"
            f"{(right['entity'] + ' ' + right['id']) if right else '-':<36}{shown}"
        )
    lines.append(f"{len(rows)} link(s)")
    return "\n".join(lines)
