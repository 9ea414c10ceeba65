"""Which consumed messages may be acknowledged: per partition, the finished prefix.

Commands run concurrently and finish out of order, but a Kafka offset may only be
committed once every message before it is carried out, or a SIGKILL would lose the
unfinished ones. Faust commits the run of consecutive offsets it was told are acked, yet
checks the head of that run against the last commit loosely (it would step over one
missing offset), so the agents never tell it about a message out of order: they ack the
finished prefix of each partition, in offset order, and nothing past an unfinished one.

Pure bookkeeping: no Faust and no asyncio, so it is tested on its own.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["InOrderAcks"]

T = TypeVar("T")


@dataclass
class _Open(Generic[T]):
    partition: Hashable
    offset: int
    item: T
    finished: bool = False


@dataclass
class InOrderAcks(Generic[T]):
    """Messages started and not yet acknowledged, per partition in offset order."""

    _open: dict[int, _Open[T]] = field(default_factory=dict)
    _order: dict[Hashable, list[tuple[int, int]]] = field(default_factory=dict)
    _tickets: int = 0

    def started(self, partition: Hashable, offset: int, item: T) -> int:
        """``item`` (what to acknowledge later) began; the ticket to finish it with."""
        self._tickets += 1
        ticket = self._tickets
        self._open[ticket] = _Open(partition, offset, item)
        bisect.insort(self._order.setdefault(partition, []), (offset, ticket))
        return ticket

    def finished(self, ticket: int) -> list[T]:
        """The items that may be acknowledged now, in offset order: the ticket's own and
        those after it that finished earlier, once nothing before them is still open.
        Nothing for a ticket of a forgotten partition."""
        entry = self._open.get(ticket)
        if entry is None:
            return []
        entry.finished = True
        order = self._order[entry.partition]
        ready: list[T] = []
        while order and self._open[order[0][1]].finished:
            _, head = order.pop(0)
            ready.append(self._open.pop(head).item)
        if not order:
            del self._order[entry.partition]
        return ready

    def forget(self, partitions: Iterable[Hashable]) -> None:
        """The partitions were taken away: their open messages are never acknowledged
        here (the next owner reads them again from the last commit)."""
        for partition in partitions:
            for _, ticket in self._order.pop(partition, []):
                self._open.pop(ticket, None)

    def waiting(self, partition: Hashable) -> int:
        """Messages of ``partition`` started and not yet acknowledged."""
        return len(self._order.get(partition, ()))
