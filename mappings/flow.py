"""A compiled flow: pure functions between a record on one side and the other side's write.

Mapped values are a dict keyed by the right-hand (Chargebee) field name, with every value
a string (`None` and missing become ""), so the same edit seen from either side compares
equal and hashes the same — which is what echo-loop prevention needs. E-mail addresses are
normalised there too (surrounding whitespace stripped), so the limits are checked on, the
hashes taken of and Chargebee sent the address itself.

Records arrive from the wire, so a flow does not trust their shape: `Flow.check_record`
says why a record cannot be mapped (not an object; a mapped field that is neither text nor
null — all mapped fields are strings, design §1), for the join to dead-letter it with that
reason. `values_from_left`/`values_from_right` raise `InvalidRecordError` with the same
reason rather than map such a record, and `applies_to` says no to anything not an object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from connectors.exceptions import LedgerlinkError

__all__ = [
    "FieldPair",
    "Flow",
    "InvalidRecordError",
    "LinkMode",
    "Side",
    "Values",
    "hash_values",
]

Values = dict[str, str]
LinkMode = Literal["create", "match_by_name"]
#: Which side of a flow a record comes from: PowerOffice Go (left) or Chargebee (right).
Side = Literal["left", "right"]


class InvalidRecordError(LedgerlinkError):
    """A record cannot be mapped: ``reason`` says which part has the wrong type.

    The record itself is wrong, not the flow: dead-letter its event with the reason. The
    reason names fields and types, never values, so no address reaches the logs.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def hash_values(values: Mapping[str, str]) -> str:
    """A short stable digest of mapped values."""
    return hashlib.sha256(orjson.dumps(dict(values), option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class FieldPair:
    """One mapped field; ``email`` marks an address, whose surrounding spaces are dropped."""

    left: str
    right: str
    max_length: int | None = None
    email: bool = False

    def value(self, raw: str | None) -> str:
        """The mapped value of this field: text ("" for null), an e-mail address without
        the spaces around it."""
        text = "" if raw is None else raw
        return text.strip() if self.email else text


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    source: str  # the file it was loaded from, for messages
    left_system: str
    left_entity: str
    right_system: str
    right_entity: str
    link: LinkMode
    where: Mapping[str, Any]
    fields: tuple[FieldPair, ...]

    def applies_to(self, left_record: object) -> bool:
        """Whether a record of the left entity belongs to this flow (its `where` holds).

        Anything that is not an object belongs to no flow.
        """
        if not isinstance(left_record, Mapping):
            return False
        return all(left_record.get(key) == value for key, value in self.where.items())

    def check_record(self, record: object, side: Side) -> str | None:
        """Why ``record``, a record of this flow's ``side``, cannot be mapped; None if it can.

        It must be an object; each mapped field must hold text or null (or be missing);
        on the left, each `where` field must hold the type the flow compares it with.
        """
        if not isinstance(record, Mapping):
            return self._not_an_object(record, side)
        return self._field_problem(record, side)

    def values_from_left(self, record: object) -> Values:
        """The mapped values of a PowerOffice Go record; `InvalidRecordError` if it has none."""
        checked = self._checked(record, "left")
        return {pair.right: pair.value(checked.get(pair.left)) for pair in self.fields}

    def values_from_right(self, record: object) -> Values:
        """The mapped values of a Chargebee record; `InvalidRecordError` if it has none."""
        checked = self._checked(record, "right")
        return {pair.right: pair.value(checked.get(pair.right)) for pair in self.fields}

    def _label(self, side: Side) -> str:
        if side == "left":
            return f"{self.left_system}.{self.left_entity}"
        return f"{self.right_system}.{self.right_entity}"

    def _field_problem(self, record: Mapping[Any, Any], side: Side) -> str | None:
        label = self._label(side)
        if side == "left":
            for key, expected in self.where.items():
                value = record.get(key)
                if value is not None and type(value) is not type(expected):
                    return (
                        f"{label}.{key} is of type {type(value).__name__}, "
                        f"not {type(expected).__name__}"
                    )
        for pair in self.fields:
            name = pair.left if side == "left" else pair.right
            value = record.get(name)
            if value is not None and not isinstance(value, str):
                return f"{label}.{name} is of type {type(value).__name__}, not text or null"
        return None

    def _not_an_object(self, record: object, side: Side) -> str:
        return f"{self._label(side)} record is of type {type(record).__name__}, not an object"

    def _checked(self, record: object, side: Side) -> Mapping[Any, Any]:
        if not isinstance(record, Mapping):
            raise InvalidRecordError(self._not_an_object(record, side))
        reason = self._field_problem(record, side)
        if reason is not None:
            raise InvalidRecordError(reason)
        return record

    def changed_fields(self, old: Mapping[str, str] | None, new: Mapping[str, str]) -> list[str]:
        """Right-hand field names whose value differs (all of them when ``old`` is None)."""
        return [p.right for p in self.fields if old is None or old.get(p.right) != new[p.right]]

    def right_update(self, values: Mapping[str, str], only: Iterable[str] | None = None) -> Values:
        """The Chargebee fields to send: all mapped ones, or ``only`` those named."""
        keep = set(only) if only is not None else None
        return {p.right: values[p.right] for p in self.fields if keep is None or p.right in keep}

    def left_patch(
        self, values: Mapping[str, str], only: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """A JSON Patch for PowerOffice Go: one `replace` per changed field."""
        keep = set(only) if only is not None else None
        return [
            {"op": "replace", "path": f"/{p.left}", "value": values[p.right]}
            for p in self.fields
            if keep is None or p.right in keep
        ]

    def limit_violations(self, values: Mapping[str, str]) -> list[str]:
        """Why the values cannot be written to the right side (empty when they can)."""
        problems = []
        for pair in self.fields:
            value = values.get(pair.right, "")
            if pair.max_length is not None and len(value) > pair.max_length:
                problems.append(
                    f"{pair.right} is {len(value)} characters; "
                    f"{self.right_system} allows at most {pair.max_length}"
                )
        return problems
