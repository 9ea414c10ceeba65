"""The link table: which PowerOffice Go record is partnered with which Chargebee record,
and what each side last looked like.

A `Link` is stored under its left record's key. Besides links, the table keeps small
indexes — from a Chargebee record back to its link, from a normalised business-entity
name to the entity, and from a name to the PowerOffice Go records waiting for an entity
of that name. Every key starts with the connection id, and every write happens while
processing an event of that connection, so a connection's state stays on its partition
(design §3; Faust writes a table change to the changelog partition of the current event).

`LinkTable` wraps any mutable mapping of str → JSON-able dict: the Faust table on RocksDB
in the worker, a plain dict in unit tests. Values are always reassigned, never mutated in
place, because Faust only logs assignments.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import orjson

__all__ = ["Link", "LinkState", "LinkTable", "SideState"]


class LinkState(StrEnum):
    LINKED = "linked"
    CREATING = "creating"  # the Chargebee create is on its way
    AWAITING_ENTITY = "awaiting_entity"  # no business entity of that name yet
    DEAD_LETTER = "dead_letter"  # the values cannot be written; see the dead-letter topic
    UNLINKED = "unlinked"  # the partner was deleted


@dataclass(frozen=True, slots=True)
class SideState:
    """One side of a link: the record, and the newest version of it we know of."""

    system: str
    entity: str
    id: str
    version: int | None = None
    ts_ms: int | None = None
    values: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.system}:{self.entity}:{self.id}"


@dataclass(frozen=True, slots=True)
class Link:
    connection: str
    flow: str
    state: LinkState
    left: SideState
    right: SideState | None = None
    synced: dict[str, str] | None = None  # the values both sides were last seen to agree on
    updated_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        # through orjson (states as their values), much cheaper than asdict's deep copy
        data: dict[str, Any] = orjson.loads(orjson.dumps(self))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Link:
        right = data.get("right")
        return cls(
            connection=data["connection"],
            flow=data["flow"],
            state=LinkState(data["state"]),
            left=SideState(**data["left"]),
            right=SideState(**right) if right else None,
            synced=data.get("synced"),
            updated_ms=data.get("updated_ms", 0),
        )

    def with_side(self, side: SideState) -> Link:
        if side.system == self.left.system:
            return replace(self, left=side)
        return replace(self, right=side)


class LinkTable:
    """Typed access to the link table of all connections."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self._table = table

    @staticmethod
    def _k(connection: str, kind: str, name: str) -> str:
        return f"{connection}|{kind}|{name}"

    # -- links ---------------------------------------------------------------------------

    def get(self, connection: str, left: str) -> Link | None:
        raw = self._table.get(self._k(connection, "link", left))
        return Link.from_json(raw) if raw else None

    def put(self, link: Link) -> None:
        self._table[self._k(link.connection, "link", link.left.key)] = link.to_json()
        if link.right is not None:
            self._table[self._k(link.connection, "right", link.right.key)] = link.left.key

    def left_for(self, connection: str, right: str) -> str | None:
        value = self._table.get(self._k(connection, "right", right))
        return str(value) if value else None

    def forget_right(self, connection: str, right: str) -> None:
        key = self._k(connection, "right", right)
        if key in self._table:
            del self._table[key]

    def links(self, connection: str | None = None) -> Iterator[Link]:
        for key, value in list(self._table.items()):
            conn, kind, _ = str(key).split("|", 2)
            if kind == "link" and (connection is None or conn == connection):
                yield Link.from_json(value)

    # -- business entities learnt from Chargebee events ----------------------------------

    def entity_by_name(self, connection: str, normalised: str) -> dict[str, Any] | None:
        value = self._table.get(self._k(connection, "entity-name", normalised))
        return dict(value) if value else None

    def remember_entity(self, connection: str, entity_id: str, name: str, normalised: str) -> None:
        old = self._table.get(self._k(connection, "entity-id", entity_id))
        if old is not None and old != normalised:
            self._forget_name(connection, str(old), entity_id)
        self._table[self._k(connection, "entity-id", entity_id)] = normalised
        self._table[self._k(connection, "entity-name", normalised)] = {
            "id": entity_id,
            "name": name,
        }

    def forget_entity(self, connection: str, entity_id: str) -> None:
        key = self._k(connection, "entity-id", entity_id)
        old = self._table.get(key)
        if old is not None:
            self._forget_name(connection, str(old), entity_id)
            del self._table[key]

    def _forget_name(self, connection: str, normalised: str, entity_id: str) -> None:
        key = self._k(connection, "entity-name", normalised)
        current = self._table.get(key)
        if current and current.get("id") == entity_id:
            del self._table[key]

    # -- records waiting for a business entity of a name ---------------------------------

    def waiting(self, connection: str, normalised: str) -> list[str]:
        return list(self._table.get(self._k(connection, "waiting", normalised)) or [])

    def set_waiting(self, connection: str, normalised: str, lefts: list[str]) -> None:
        key = self._k(connection, "waiting", normalised)
        if lefts:
            self._table[key] = sorted(set(lefts))
        elif key in self._table:
            del self._table[key]
