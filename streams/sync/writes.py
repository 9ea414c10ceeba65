"""The conflict rule, as a plan for one sink write.

A sink reads the target record first (neither API has optimistic locking, so we compare
ourselves). For every field the upsert wants to set:

- the target already holds the wanted value → nothing to write (`agreed`);
- the target still holds the value both sides last agreed on → write it;
- otherwise the target was edited too since the last sync — a conflict. The later change
  wins: the incoming value is written when its source time is later than the target's
  change, else the target keeps its value (`kept`), and its own change event carries it
  to the other side. On equal times PowerOffice Go, the accounting master, wins.

The target's change time is the one we saw in its change event when that event carried
the value the target holds now; otherwise (an edit we have not polled yet) the record's
own last-changed time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["FieldConflict", "WritePlan", "plan_write"]


@dataclass(frozen=True, slots=True)
class FieldConflict:
    field: str
    incoming: str
    target: str
    incoming_ts_ms: int
    target_ts_ms: int
    winner: str  # "incoming" | "target"


@dataclass(frozen=True, slots=True)
class WritePlan:
    write: dict[str, str] = field(default_factory=dict)
    agreed: dict[str, str] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    conflicts: tuple[FieldConflict, ...] = ()


def plan_write(
    wanted: Mapping[str, str],
    *,
    target_now: Mapping[str, str],
    target_now_ts_ms: int,
    synced: Mapping[str, str] | None,
    target_seen: Mapping[str, str] | None,
    target_seen_ts_ms: int | None,
    incoming_ts_ms: int,
    incoming_wins_ties: bool,
) -> WritePlan:
    write: dict[str, str] = {}
    agreed: dict[str, str] = {}
    kept: dict[str, str] = {}
    conflicts: list[FieldConflict] = []
    for name, value in wanted.items():
        current = target_now.get(name, "")
        if current == value:
            agreed[name] = value
            continue
        if synced is None or synced.get(name) == current:
            write[name] = value
            continue
        if target_seen is not None and target_seen.get(name) == current and target_seen_ts_ms:
            target_ts = target_seen_ts_ms
        else:
            target_ts = target_now_ts_ms
        incoming_wins = incoming_ts_ms > target_ts or (
            incoming_ts_ms == target_ts and incoming_wins_ties
        )
        conflicts.append(
            FieldConflict(
                field=name,
                incoming=value,
                target=current,
                incoming_ts_ms=incoming_ts_ms,
                target_ts_ms=target_ts,
                winner="incoming" if incoming_wins else "target",
            )
        )
        if incoming_wins:
            write[name] = value
        else:
            kept[name] = current
    return WritePlan(write=write, agreed=agreed, kept=kept, conflicts=tuple(conflicts))
