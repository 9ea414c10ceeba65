"""A write buffer over a mapping: reads see the buffered writes, `commit` applies them.

The join agent plans against a `StagedMapping` and commits only after every message it
planned was acknowledged by Kafka. A crash in between leaves the table as it was, so the
replayed event plans — and sends — the same messages again (at-least-once, never lost).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

__all__ = ["StagedMapping"]

_DELETED = object()


class StagedMapping(MutableMapping[str, Any]):
    def __init__(self, base: MutableMapping[str, Any]) -> None:
        self._base = base
        self._writes: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self._writes:
            value = self._writes[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self._base[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._writes[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._writes[key] = _DELETED

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and key in self._writes:
            return self._writes[key] is not _DELETED
        return key in self._base

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for key, value in self._writes.items():
            seen.add(key)
            if value is not _DELETED:
                yield key
        for key in list(self._base):
            if key not in seen:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def commit(self) -> None:
        """Apply the buffered writes to the base mapping, in the order they were made."""
        self.apply(self._base)
        self._writes.clear()

    def apply(self, target: MutableMapping[str, Any]) -> None:
        """Apply the buffered writes to ``target`` and keep them buffered (a stage over
        another stage hands its writes to the table, not to the stage below it)."""
        for key, value in self._writes.items():
            if value is _DELETED:
                if key in target:
                    del target[key]
            else:
                target[key] = value
