"""The messages the join agent sends on: upsert commands for the sinks, dead letters and
action items. All JSON (orjson), keyed by the connection like every topic."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

__all__ = ["ActionItem", "DeadLetter", "Upsert"]


@dataclass(frozen=True, slots=True)
class Upsert:
    """Make the ``target`` system's record hold ``fields``.

    ``create`` asks the Chargebee sink to create the customer with the deterministic id
    ``record_id`` (or to update it, should it exist already). ``source_ts_ms`` is when the
    change happened on the other side: the conflict rule compares it with the target's.
    """

    connection: str
    flow: str
    left_key: str
    target: str
    entity: str
    record_id: str
    fields: dict[str, str]
    source_ts_ms: int
    source_event_id: str
    create: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> bytes:
        return self.connection.encode()

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> Upsert:
        return cls(**orjson.loads(data))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A change that cannot be written, with the reason and the event that carried it."""

    connection: str
    reason: str
    flow: str
    record_key: str
    event: dict[str, Any]
    at_ms: int

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self))


@dataclass(frozen=True, slots=True)
class ActionItem:
    """Something a person has to do in one of the systems, e.g. create a business entity."""

    connection: str
    id: str
    kind: str  # create_business_entity | rename_business_entity | record_deleted
    message: str
    flow: str
    record_key: str
    name: str = ""
    resolved: bool = False
    at_ms: int = 0

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
