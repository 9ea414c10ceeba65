"""What a recovery command reports at the end, and how the join's answers are counted.

The command publishes change events; the join answers each with upsert commands, dead
letters, or nothing. `Summary.count` folds those answers, matched by event id, into the
four figures of the closing line. Pure, tested without a broker.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Summary"]


@dataclass(frozen=True, slots=True)
class Summary:
    """``read``: records or messages read; ``redriven``: published on `changes.replay`;
    ``written``: of those, the ones the join sent a write for (the sinks write only the
    fields that still differ); ``unchanged``: the ones it sent nothing for;
    ``dead_lettered``: the ones dead-lettered again; ``pending``: not yet joined when the
    command stopped waiting (is the worker running?); ``skipped``: read but not re-driven."""

    read: int = 0
    redriven: int = 0
    written: int = 0
    unchanged: int = 0
    dead_lettered: int = 0
    pending: int = 0
    skipped: int = 0

    @classmethod
    def count(
        cls,
        *,
        read: int,
        published: Collection[str],
        upserts: Iterable[Mapping[str, Any]],
        dead_letters: Iterable[Mapping[str, Any]],
        joined: bool,
        skipped: int = 0,
    ) -> Summary:
        """``published``: the event ids sent; ``upserts`` and ``dead_letters``: what the
        join sent since; ``joined``: whether the join has read everything published."""
        ids = set(published)
        written = {str(u.get("source_event_id")) for u in upserts} & ids
        letters = {_letter_event_id(d) for d in dead_letters} & ids
        letters -= written
        rest = len(ids - written - letters)  # unchanged once joined, else still pending
        return cls(
            read=read,
            redriven=len(ids),
            written=len(written),
            unchanged=rest if joined else 0,
            dead_lettered=len(letters),
            pending=0 if joined else rest,
            skipped=skipped,
        )

    def line(self) -> str:
        parts = [
            f"read {self.read}",
            f"re-driven {self.redriven}",
            f"written {self.written}",
            f"unchanged {self.unchanged}",
        ]
        if self.dead_lettered:
            parts.append(f"dead-lettered again {self.dead_lettered}")
        if self.skipped:
            parts.append(f"skipped {self.skipped}")
        if self.pending:
            parts.append(f"not yet joined {self.pending} (is the worker running?)")
        return ", ".join(parts)


def _letter_event_id(letter: Mapping[str, Any]) -> str:
    event = letter.get("event")
    if not isinstance(event, Mapping):
        return ""
    upsert = event.get("upsert")
    if isinstance(upsert, Mapping):
        return str(upsert.get("source_event_id") or "")
    return str(event.get("event_id") or "")
