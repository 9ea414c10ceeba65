"""The change event: one envelope for every record version either system reports.

Shaped after Debezium's envelope — `op`, `before`, `after`, `source` — plus what a
two-way sync needs on top: the `connection` (tenant) the event belongs to, and an `origin`
tag saying which system the change came from and whether ledgerlink's own write caused it
(the first line of echo-loop prevention). Serialised with orjson; the Kafka key is the
connection id, so that every event of one connection lands on one partition.

`event_id` is derived from (connection, system, entity, id, version): the same record
version always gets the same id, so consumers can drop redeliveries.

Decoding checks the envelope's shape and types (`EventDecodeError` says what is wrong),
and encoding keeps every event small enough for Kafka: a record with a huge value (a
2 MiB name) is sent with that value cut to `MAX_VALUE_CHARS`, which no mapped field
accepts, so the join dead-letters it by its key instead of the event vanishing.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "MAX_EVENT_BYTES",
    "MAX_VALUE_CHARS",
    "ChangeEvent",
    "EventDecodeError",
    "Op",
    "Origin",
    "Source",
    "Writer",
    "json_object",
    "make_event_id",
]


# Kafka's default message.max.bytes is 1 MiB; an event stays well below it.
MAX_EVENT_BYTES = 512 * 1024
MAX_VALUE_CHARS = 16 * 1024


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
        data = orjson.dumps(asdict(self))
        for limit in (MAX_VALUE_CHARS, 1024, 64):
            if len(data) <= MAX_EVENT_BYTES:
                break
            shrunk = replace(self, after=_cut(self.after, limit), before=_cut(self.before, limit))
            data = orjson.dumps(asdict(shrunk))
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> ChangeEvent:
        return cls.from_json(json_object(data))

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ChangeEvent:
        """From the decoded JSON object; checks the shape as `from_bytes` does."""
        try:
            source = _object(raw, "source")
            origin = _object(raw, "origin")
            return cls(
                connection=_text(raw, "connection"),
                op=Op(raw["op"]),
                source=Source(
                    system=_text(source, "system", "source."),
                    entity=_text(source, "entity", "source."),
                    id=_text(source, "id", "source."),
                    version=_integer(source, "version", "source."),
                    ts_ms=_integer(source, "ts_ms", "source."),
                ),
                after=_record(raw, "after"),
                before=_record(raw, "before"),
                origin=Origin(
                    system=_text(origin, "system", "origin."), writer=Writer(origin["writer"])
                ),
                observed_ms=_integer(raw, "observed_ms"),
                event_id=_text(raw, "event_id"),
            )
        except KeyError as exc:
            raise EventDecodeError(f"{exc.args[0]} is missing") from exc
        except ValueError as exc:  # an unknown op or writer
            raise EventDecodeError(str(exc)) from exc


def json_object(data: bytes) -> dict[str, Any]:
    """``data`` decoded as a JSON object; `EventDecodeError` when it is none."""
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise EventDecodeError(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise EventDecodeError(f"not a JSON object but {type(raw).__name__}")
    return raw


def _object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw[key]
    if not isinstance(value, dict):
        raise EventDecodeError(f"{key} must be an object, got {type(value).__name__}")
    return value


def _text(raw: dict[str, Any], key: str, where: str = "") -> str:
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise EventDecodeError(f"{where}{key} must be non-empty text, got {_shown(value)}")
    return value


def _integer(raw: dict[str, Any], key: str, where: str = "") -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventDecodeError(f"{where}{key} must be an integer, got {_shown(value)}")
    return value


def _record(raw: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, dict):
        raise EventDecodeError(f"{key} must be an object or null, got {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _cut(value: Any, limit: int) -> Any:
    """``value`` with every text in it, however deeply nested, cut to ``limit`` characters."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, dict):
        return {key: _cut(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut(item, limit) for item in value]
    return value
