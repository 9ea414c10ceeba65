"""Commands that cannot be applied now, parked per record until their target answers.

A write that fails for now (5xx, a timeout, a 429 beyond the budget, 401/403 while a key
is being rotated) must not hold up other connections, nor other records of its own
connection (issue 7). The sink parks the command instead of retrying it in place; any
later command for the same record queues behind it, so each record keeps its order.
Parked records are retried after growing delays and, past the give-up time, sent to
the dead-letter topic with the reason.

`ParkingLot` wraps a mutable mapping (a Faust table in the worker, a dict in tests) with
one entry per (connection, target, record); the arithmetic is plain functions.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from streams.sync.messages import Upsert

__all__ = [
    "RETRY_DELAYS_MS",
    "Parked",
    "ParkingLot",
    "first_parking",
    "parked_key",
    "retry_delay_ms",
]

#: Growing delays between attempts; the last one repeats until the give-up time.
RETRY_DELAYS_MS = (2_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000)


def retry_delay_ms(attempt: int) -> int:
    """The wait after the ``attempt``-th failure (1 for the first)."""
    return RETRY_DELAYS_MS[min(max(attempt, 1), len(RETRY_DELAYS_MS)) - 1]


@dataclass(frozen=True, slots=True)
class Parked:
    """The commands of one record waiting for its target, oldest first."""

    connection: str
    target: str
    left_key: str
    commands: tuple[dict[str, Any], ...]
    attempts: int
    first_failed_ms: int
    next_attempt_ms: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["commands"] = list(self.commands)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Parked:
        return cls(**{**data, "commands": tuple(data["commands"])})

    @property
    def first(self) -> Upsert:
        return Upsert.from_json(self.commands[0])

    def queued(self, upsert: Upsert) -> Parked:
        """``upsert`` waits behind the commands already parked."""
        return replace(self, commands=(*self.commands, upsert.to_json()))

    def failed(self, *, now_ms: int, reason: str) -> Parked:
        attempts = self.attempts + 1
        return replace(
            self,
            attempts=attempts,
            next_attempt_ms=now_ms + retry_delay_ms(attempts),
            reason=reason,
        )

    def without_first(self) -> Parked:
        return replace(self, commands=self.commands[1:])

    def given_up(self, *, now_ms: int, give_up_ms: int) -> bool:
        return now_ms - self.first_failed_ms >= give_up_ms


def parked_key(connection: str, target: str, left_key: str) -> str:
    return f"{connection}|parked|{target}|{left_key}"


def first_parking(upsert: Upsert, *, now_ms: int, reason: str, failed: bool) -> Parked:
    """A new entry for ``upsert``; ``failed``: its own write failed (not just held back)."""
    parked = Parked(
        connection=upsert.connection,
        target=upsert.target,
        left_key=upsert.left_key,
        commands=(upsert.to_json(),),
        attempts=0,
        first_failed_ms=now_ms,
        next_attempt_ms=now_ms,
        reason=reason,
    )
    return parked.failed(now_ms=now_ms, reason=reason) if failed else parked


class ParkingLot:
    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self._table = table

    def get(self, connection: str, target: str, left_key: str) -> Parked | None:
        raw = self._table.get(parked_key(connection, target, left_key))
        return Parked.from_json(raw) if raw else None

    def put(self, parked: Parked) -> None:
        key = parked_key(parked.connection, parked.target, parked.left_key)
        if parked.commands:
            self._table[key] = parked.to_json()
        elif key in self._table:
            del self._table[key]

    def entries(self, connection: str | None = None) -> Iterator[Parked]:
        for key, value in list(self._table.items()):
            conn, kind, _ = str(key).split("|", 2)
            if kind == "parked" and (connection is None or conn == connection):
                yield Parked.from_json(value)

    def count(self, connection: str) -> int:
        return sum(len(parked.commands) for parked in self.entries(connection))
