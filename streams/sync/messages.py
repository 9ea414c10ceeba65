"""The messages the join agent sends on: upsert commands for the sinks, dead letters and
action items. All JSON (orjson), keyed by the connection like every topic.

A dead letter must always be sendable, whatever it carries: its encoding keeps the
reason and the record key and cuts what it carries (`DeadLetter.MAX_BYTES`). An upsert
read back from its topic is checked field by field (`MessageError` says what is wrong).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar

import orjson

__all__ = ["ActionItem", "DeadLetter", "MessageError", "Upsert"]


class MessageError(ValueError):
    """A message on one of ledgerlink's topics does not have the shape it must have."""


_UPSERT_TEXT = (
    "connection",
    "flow",
    "left_key",
    "target",
    "entity",
    "record_id",
    "source_event_id",
)
_TARGETS = ("chargebee", "poweroffice")


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
        # orjson writes a dataclass as asdict() would, without copying it first (the
        # join sends one per change event: asdict's deep copy was a hot spot)
        return orjson.dumps(self)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upsert:
        return cls(**data)

    @classmethod
    def from_bytes(cls, data: bytes) -> Upsert:
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise MessageError(f"not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise MessageError(f"not a JSON object but {type(raw).__name__}")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise MessageError(f"unknown field(s) {', '.join(unknown)}")
        for name in _UPSERT_TEXT:
            if not isinstance(raw.get(name), str) or not raw[name]:
                raise MessageError(f"{name} must be non-empty text")
        if raw["target"] not in _TARGETS:
            raise MessageError(f"target must be one of {', '.join(_TARGETS)}")
        fields = raw.get("fields")
        if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            raise MessageError("fields must be an object of text values")
        stamp = raw.get("source_ts_ms")
        if isinstance(stamp, bool) or not isinstance(stamp, int):
            raise MessageError("source_ts_ms must be an integer")
        if not isinstance(raw.get("create", False), bool):
            raise MessageError("create must be true or false")
        if not isinstance(raw.get("extra", {}), dict):
            raise MessageError("extra must be an object")
        return cls(**raw)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A change that cannot be written, with the reason and the event that carried it."""

    connection: str
    reason: str
    flow: str
    record_key: str
    event: dict[str, Any]
    at_ms: int

    @classmethod
    def for_upsert(cls, upsert: Upsert, reason: str, *, at_ms: int) -> DeadLetter:
        """A command that could not be carried out, carrying the command itself."""
        return cls(
            connection=upsert.connection,
            reason=reason,
            flow=upsert.flow,
            record_key=upsert.left_key,
            event={"upsert": upsert.to_json()},
            at_ms=at_ms,
        )

    # Far below Kafka's default 1 MiB limit, so a dead letter is never too large to send.
    MAX_BYTES: ClassVar[int] = 64 * 1024
    MAX_TEXT: ClassVar[int] = 2_000

    def to_bytes(self) -> bytes:
        data = orjson.dumps(asdict(self))
        if len(data) <= self.MAX_BYTES:
            return data
        carried = orjson.dumps(self.event)
        excerpt = carried[: self.MAX_BYTES // 2].decode("utf-8", errors="ignore")
        while True:
            cut = replace(
                self,
                reason=self.reason[: self.MAX_TEXT],
                record_key=self.record_key[: self.MAX_TEXT],
                flow=self.flow[: self.MAX_TEXT],
                connection=self.connection[: self.MAX_TEXT],
                event={"truncated": True, "bytes": len(carried), "excerpt": excerpt},
            )
            data = orjson.dumps(asdict(cut))
            if len(data) <= self.MAX_BYTES or not excerpt:
                return data
            excerpt = excerpt[: len(excerpt) // 2]  # escapes made it longer than the bytes


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
