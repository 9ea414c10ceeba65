"""A compiled flow: pure functions between a record on one side and the other side's write.

Mapped values are a dict keyed by the right-hand (Chargebee) field name, with every value
a string (`None` and missing become ""), so the same edit seen from either side compares
equal and hashes the same — which is what echo-loop prevention needs. E-mail addresses are
normalised there too (surrounding whitespace stripped), so the limits are checked on, the
hashes taken of and Chargebee sent the address itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

__all__ = ["FieldPair", "Flow", "LinkMode", "Values", "hash_values"]

Values = dict[str, str]
LinkMode = Literal["create", "match_by_name"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


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

    def value(self, raw: Any) -> str:
        """The mapped value of this field: text, an e-mail address without spaces around it."""
        text = _text(raw)
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

    def applies_to(self, left_record: Mapping[str, Any]) -> bool:
        """Whether a record of the left entity belongs to this flow (its `where` holds)."""
        return all(left_record.get(key) == value for key, value in self.where.items())

    def values_from_left(self, record: Mapping[str, Any]) -> Values:
        return {pair.right: pair.value(record.get(pair.left)) for pair in self.fields}

    def values_from_right(self, record: Mapping[str, Any]) -> Values:
        return {pair.right: pair.value(record.get(pair.right)) for pair in self.fields}

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
