"""The simulator's list semantics: filters, sorting, limits and opaque offsets.

Pure functions over decoded parameters, shared by the customer and event lists.
Offsets are keyset positions (the last row's sort value and sequence number, as JSON-array
text like Chargebee's own ``["1717503600000","42"]``), so a row changed while a listing is
under way is never skipped, only possibly seen again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from connectors.chargebee.forms import FormError, parse_list_value

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Kind",
    "ListingError",
    "Row",
    "compile_filters",
    "paginate",
    "parse_bool",
    "parse_limit",
    "parse_sort",
]

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

Kind = Literal["string", "timestamp", "enum"]
Predicate = Callable[[Mapping[str, Any]], bool]

_OPERATORS: dict[str, frozenset[str]] = {
    "string": frozenset({"is", "is_not", "starts_with", "in", "not_in", "is_present"}),
    "enum": frozenset({"is", "is_not", "in", "not_in", "is_present"}),
    "timestamp": frozenset({"after", "before", "on", "between", "is_present"}),
}


class ListingError(ValueError):
    """A list parameter is wrong; ``param`` names it the way the request spelled it."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        self.message = message
        super().__init__(f"{param} : {message}")


@dataclass(frozen=True, slots=True)
class Row:
    """A listable record: its sequence number (insertion order) and its public form."""

    seq: int
    data: Mapping[str, Any]


def parse_bool(value: Any, *, param: str) -> bool:
    if value in ("true", True):
        return True
    if value in ("false", False, ""):
        return False
    raise ListingError(param, "must be true or false")


def parse_limit(value: Any) -> int:
    if value is None:
        return DEFAULT_LIMIT
    try:
        limit = int(str(value))
    except ValueError:
        raise ListingError("limit", "must be a number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ListingError("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def parse_sort(value: Any, *, allowed: frozenset[str], default: tuple[str, str]) -> tuple[str, str]:
    """``sort_by[asc]=updated_at`` → ``("updated_at", "asc")``."""
    if value is None:
        return default
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ListingError("sort_by", "give exactly one of sort_by[asc] or sort_by[desc]")
    ((direction, attribute),) = value.items()
    if direction not in ("asc", "desc"):
        raise ListingError(f"sort_by[{direction}]", "the direction must be asc or desc")
    if attribute not in allowed:
        raise ListingError(
            f"sort_by[{direction}]", f"cannot sort by {attribute!r}; use {sorted(allowed)}"
        )
    return str(attribute), str(direction)


def compile_filters(params: Mapping[str, Any], fields: Mapping[str, Kind]) -> list[Predicate]:
    """Predicates for every ``attr[op]`` filter among ``params`` whose attr is in ``fields``.

    A filter on a known attribute with an unknown operator, or a malformed value, is a
    `ListingError`. Parameters that are not filters (``limit``...) are the caller's.
    """
    predicates: list[Predicate] = []
    for attribute, kind in fields.items():
        value = params.get(attribute)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise ListingError(attribute, "filters are given as attribute[operator]")
        for operator, operand in value.items():
            param = f"{attribute}[{operator}]"
            if operator not in _OPERATORS[kind]:
                raise ListingError(param, f"unknown operator for a {kind} filter")
            if not isinstance(operand, str):
                raise ListingError(param, "expected a single value")
            predicates.append(_predicate(attribute, kind, operator, operand, param))
    return predicates


def _predicate(attribute: str, kind: Kind, operator: str, operand: str, param: str) -> Predicate:
    if operator == "is_present":
        wanted = parse_bool(operand, param=param)
        return lambda row: (row.get(attribute) is not None) == wanted
    if kind == "timestamp":
        return _timestamp_predicate(attribute, operator, operand, param)
    if operator in ("in", "not_in"):
        try:
            options = frozenset(parse_list_value(operand, param=param))
        except FormError as exc:
            raise ListingError(param, "expected a JSON array") from exc
        if operator == "in":
            return lambda row: row.get(attribute) in options
        return lambda row: row.get(attribute) not in options
    if operator == "is":
        return lambda row: row.get(attribute) == operand
    if operator == "is_not":
        return lambda row: row.get(attribute) != operand
    # starts_with
    return lambda row: str(row.get(attribute) or "").startswith(operand)


def _timestamp_predicate(attribute: str, operator: str, operand: str, param: str) -> Predicate:
    def stamp(row: Mapping[str, Any]) -> int | None:
        value = row.get(attribute)
        return value if isinstance(value, int) else None

    if operator == "between":
        try:
            bounds = [int(v) for v in parse_list_value(operand, param=param)]
        except (FormError, ValueError) as exc:
            raise ListingError(param, "expected [from, to] as Unix seconds") from exc
        if len(bounds) != 2:
            raise ListingError(param, "expected exactly two timestamps")
        low, high = bounds
        return lambda row: (s := stamp(row)) is not None and low <= s <= high
    try:
        moment = int(operand)
    except ValueError:
        raise ListingError(param, "expected Unix seconds") from None
    if operator == "after":
        return lambda row: (s := stamp(row)) is not None and s > moment
    if operator == "before":
        return lambda row: (s := stamp(row)) is not None and s < moment
    # on: the same UTC day
    day = moment // 86400
    return lambda row: (s := stamp(row)) is not None and s // 86400 == day


def _sort_key(row: Row, attribute: str) -> tuple[int, int]:
    value = row.data.get(attribute)
    return (value if isinstance(value, int) else 0, row.seq)


def paginate(
    rows: list[Row],
    *,
    sort: tuple[str, str],
    limit: int,
    offset: str | None,
) -> tuple[list[Mapping[str, Any]], str | None]:
    """One page of ``rows`` (already filtered) and the offset of the next page, if any."""
    attribute, direction = sort
    descending = direction == "desc"
    ordered = sorted(rows, key=lambda row: _sort_key(row, attribute), reverse=descending)
    if offset is not None:
        position = _decode_offset(offset)
        if descending:
            ordered = [row for row in ordered if _sort_key(row, attribute) < position]
        else:
            ordered = [row for row in ordered if _sort_key(row, attribute) > position]
    page = ordered[:limit]
    next_offset = None
    if len(ordered) > limit:
        value, seq = _sort_key(page[-1], attribute)
        next_offset = json.dumps([str(value), str(seq)], separators=(",", ":"))
    return [row.data for row in page], next_offset


def _decode_offset(offset: str) -> tuple[int, int]:
    try:
        value, seq = json.loads(offset)
        return int(value), int(seq)
    except (ValueError, TypeError):
        raise ListingError("offset", "invalid offset; use the next_offset of a list") from None
