"""The change event: one envelope for every record version either system reports.

Shaped after Debezium's envelope — `op`, `before`, `after`, `source` — plus what a
two-way sync needs on top: the `connection` (tenant) the event belongs to, and an `origin`
tag saying which system the change came from and whether ledgerlink's own write caused it
(the first line of echo-loop prevention). Serialised with orjson; the Kafka key is the
connection id, so that every event of one connection lands on one partition.

`event_id` is derived from (connection, system, entity, id, version): the same record
version always gets the same id, so consumers can drop redeliveries.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "ChangeEvent",
    "EventDecodeError",
    "Op",
    "Origin",
    "Source",
    "Writer",
    "make_event_id",
]


class Op(StrEnum):
    """What happened to the record (Debezium's letters)."""

    CREATE = "c"
    UPDATE = "u"
    DELETE = "d"
    READ = "r"  # seen without knowing whether it is new (a snapshot or a first load)


class Writer(StrEnum):
    """Who made the change, as far as the observer can tell."""

    EXTERNAL = "external"  # a person or another integration
    LEDGERLINK = "ledgerlink"  # our own write, reported back by the system


@dataclass(frozen=True, slots=True)
class Source:
    """Where the record version comes from.

    ``entity`` is the system's own name (`Employee`, `ContactPerson`, `customer`,
    `business_entity`); ``id`` is the record id as text; ``version`` is what orders
    versions of one record (PowerOffice Go: `LastChangedDateTimeOffset` in 100-ns ticks;
    Chargebee: `resource_version` in ms); ``ts_ms`` is the change time in ms.
    """

    system: str
    entity: str
    id: str
    version: int
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Origin:
    system: str
    writer: Writer = Writer.EXTERNAL


class EventDecodeError(ValueError):
    """A message on a change topic is not a change event."""


def make_event_id(connection: str, system: str, entity: str, record_id: str, version: int) -> str:
    """The stable id of one record version in one connection."""
    raw = f"{connection}\x1f{system}\x1f{entity}\x1f{record_id}\x1f{version}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    connection: str
    op: Op
    source: Source
    after: dict[str, Any] | None
    origin: Origin
    observed_ms: int
    before: dict[str, Any] | None = None
    event_id: str = ""

    def __post_init__(self) -> None:
        if not self.event_id:
            object.__setattr__(
                self,
                "event_id",
                make_event_id(
                    self.connection,
                    self.source.system,
                    self.source.entity,
                    self.source.id,
                    self.source.version,
                ),
            )

    @property
    def key(self) -> bytes:
        """The Kafka message key: the connection, so one connection stays on one partition."""
        return self.connection.encode()

    @property
    def record_key(self) -> str:
        """`system:entity:id` — unique per record within a connection."""
        return f"{self.source.system}:{self.source.entity}:{self.source.id}"

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> ChangeEvent:
        try:
            raw = orjson.loads(data)
            return cls(
                connection=raw["connection"],
                op=Op(raw["op"]),
                source=Source(**raw["source"]),
                after=raw["after"],
                before=raw.get("before"),
                origin=Origin(
                    system=raw["origin"]["system"], writer=Writer(raw["origin"]["writer"])
                ),
                observed_ms=int(raw["observed_ms"]),
                event_id=raw["event_id"],
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise EventDecodeError(f"not a change event: {exc}") from exc
