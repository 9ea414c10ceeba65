"""What the sync reports rather than does: action items, dead letters and conflicts.

Kept in a changelogged table keyed by a stable id per report, so a replayed event
rewrites the same entry instead of counting it twice (counting by incrementing a table
value doubles on replay; counting keys does not).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from streams.sync.messages import ActionItem

__all__ = ["ReportBook"]


class ReportBook:
    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self._table = table

    @staticmethod
    def _k(connection: str, kind: str, name: str) -> str:
        return f"{connection}|{kind}|{name}"

    def put_action(self, item: ActionItem) -> None:
        self._table[self._k(item.connection, "action", item.id)] = item.to_json()

    def action(self, connection: str, action_id: str) -> ActionItem | None:
        raw = self._table.get(self._k(connection, "action", action_id))
        return ActionItem(**raw) if raw else None

    def dead_letter(self, connection: str, event_id: str, reason: str, record_key: str) -> None:
        self._table[self._k(connection, "dead-letter", event_id)] = {
            "reason": reason,
            "record_key": record_key,
        }

    def clear_dead_letters(self, connection: str, record_key: str) -> int:
        """Forget the dead letters of a record that has since been taken (fixed at the
        source, or re-driven by `ledgerlink dlq replay`); returns how many. The topic keeps
        them: this only stops counting them as open."""
        prefix = f"{connection}|dead-letter|"
        gone = [
            k
            for k, v in list(self._table.items())
            if str(k).startswith(prefix)
            and isinstance(v, dict)
            and v.get("record_key") == record_key
        ]
        for key in gone:
            del self._table[key]
        return len(gone)

    def conflict(self, connection: str, conflict_id: str, detail: dict[str, Any]) -> None:
        self._table[self._k(connection, "conflict", conflict_id)] = detail

    def entries(self, connection: str, kind: str) -> list[dict[str, Any]]:
        prefix = f"{connection}|{kind}|"
        return [dict(v) for k, v in list(self._table.items()) if str(k).startswith(prefix)]
