"""The worker's status and links views (docs/worker.md), composed from the tables' counts
(`streams.sync.counts`), the links and the process's runtime. Pure functions of their
inputs, so they are tested without a broker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from streams.runtime import Runtime
from streams.sync.counts import LINK_GROUPS, Bucket
from streams.sync.links import Link
from streams.sync.messages import ActionItem

__all__ = ["links_view", "status_view"]


def status_view(
    *,
    connection: str,
    flow_names: Iterable[str],
    links: Mapping[Bucket, int],
    reports: Mapping[Bucket, int],
    open_actions: Iterable[ActionItem],
    runtime: Runtime,
    broker: Mapping[str, Any] | None = None,
    parked: int = 0,
    recovering: bool = False,
) -> dict[str, Any]:
    """``links`` and ``reports``: the connection's counts (`streams.sync.counts`, by
    `link_buckets` and `report_buckets`); ``open_actions``: its open action items;
    ``recovering``: a rebalance is under way and those counts may be out of date.
    ``broker``: `BrokerHealth.snapshot()`; while Kafka is unreachable nothing this worker
    sees can be called converged; nor while a system refuses the connection's keys
    (``refused``: per system, since when and when they are tried next)."""
    flows: dict[str, dict[str, int]] = {name: dict.fromkeys(LINK_GROUPS, 0) for name in flow_names}
    for bucket, count in links.items():
        if bucket[0] == "flow":
            _, flow, group = bucket
            flows.setdefault(flow, dict.fromkeys(LINK_GROUPS, 0))[group] += count
    creating = links.get(("creating",), 0)
    open_items = list(open_actions)
    reachable = broker is None or bool(broker.get("reachable"))
    refused = runtime.refused.get(connection, {})
    converged = (
        reachable
        and not refused
        and not recovering
        and runtime.idle_cycles >= 1
        and runtime.caught_up()
        and creating == 0
        and parked == 0
    )
    return {
        "connection": connection,
        "converged": converged,
        "recovering": recovering,
        "broker": dict(broker) if broker is not None else {"reachable": True},
        "flows": flows,
        "polls": {
            name: {"last_poll_ms": p.last_poll_ms, "published": p.published, "read": p.read}
            for name, p in sorted(runtime.polls.get(connection, {}).items())
        },
        "poll_cycles": runtime.cycles,
        "schedule": {
            system: {
                "cycle_seconds": None
                if lane.cycle_seconds is None
                else round(lane.cycle_seconds, 3),
                "target_seconds": round(lane.target_seconds, 3),
                "mode": lane.mode,
            }
            for system, lane in sorted(runtime.schedule.get(connection, {}).items())
        },
        "refused": {
            system: {
                "since_ms": keys.since_ms,
                "retry_at_ms": keys.retry_at_ms,
                "message": keys.message,
            }
            for system, keys in sorted(refused.items())
        },
        "dead_letters": reports.get(("dead-letter",), 0),
        "parked": parked,
        "conflicts": reports.get(("conflict",), 0),
        "actions": {
            "open": reports.get(("action", "open"), 0),
            "resolved": reports.get(("action", "resolved"), 0),
        },
        "action_items": [
            {"id": a.id, "kind": a.kind, "message": a.message, "record_key": a.record_key}
            for a in sorted(open_items, key=lambda a: a.id)
        ],
    }


def _side(side: Any) -> dict[str, str] | None:
    if side is None:
        return None
    return {"system": side.system, "entity": side.entity, "id": side.id}


def links_view(links: Iterable[Link]) -> dict[str, Any]:
    rows: list[Mapping[str, Any]] = [
        {
            "flow": link.flow,
            "state": link.state.value,
            "left": _side(link.left),
            "right": _side(link.right),
            "values": link.synced or link.left.values or {},
        }
        for link in sorted(links, key=lambda item: (item.flow, item.left.entity, int(item.left.id)))
    ]
    return {"links": rows}
