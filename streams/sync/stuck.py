"""Links left `creating` too long: which create commands to send again.

A link is `creating` from the moment the join sent the Chargebee create until the sink
recorded the customer. Should that command be lost (a crash at the wrong moment), the
link would wait forever; `creates_to_redrive` finds the links that have waited longer
than the timeout and makes their create command again. That is safe: the customer id
is deterministic and the create carries an idempotency key, so a create that did go
through becomes an update of nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping

from mappings import Flow
from streams.sync.links import Link, LinkState
from streams.sync.messages import Upsert

__all__ = ["creates_to_redrive"]


def creates_to_redrive(
    links: Iterable[Link],
    flows: Mapping[str, Flow],
    *,
    now_ms: int,
    timeout_ms: int,
    redriven: MutableMapping[str, int],
    parked: Callable[[str, str, str], bool] = lambda connection, target, left_key: False,
) -> list[Upsert]:
    """Create commands for links `creating` for over ``timeout_ms``.

    ``redriven`` remembers when each link was last driven (keyed by connection and
    record), so a link is driven again only after another timeout. A link whose create
    is ``parked`` (connection, target, record) is waiting for its target, not lost.
    """
    commands: list[Upsert] = []
    for link in links:
        if link.state is not LinkState.CREATING or link.right is None:
            continue
        flow = flows.get(link.flow)
        if flow is None or parked(link.connection, link.right.system, link.left.key):
            continue
        key = f"{link.connection}|{link.left.key}"
        since = max(link.updated_ms, redriven.get(key, 0))
        if now_ms - since < timeout_ms:
            continue
        redriven[key] = now_ms
        commands.append(
            Upsert(
                connection=link.connection,
                flow=link.flow,
                left_key=link.left.key,
                target=link.right.system,
                entity=link.right.entity,
                record_id=link.right.id,
                fields=flow.right_update(link.left.values or {}),
                source_ts_ms=link.left.ts_ms or link.updated_ms,
                source_event_id=f"redrive-{link.left.version or 0}",
                create=True,
            )
        )
    return commands
