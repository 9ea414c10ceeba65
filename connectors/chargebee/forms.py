"""Chargebee's form encoding, both ways, as pure functions.

Chargebee takes request parameters as ``application/x-www-form-urlencoded`` pairs with
nested keys in brackets (``billing_address[city]=Oslo``), indexed arrays (``ids[0]=a``;
arrays of objects as ``items[id][0]=...`` like the official SDK), booleans as
``true``/``false``, and filters as ``attr[op]=value`` where ``in``/``between`` take
JSON-array text. The client encodes with `encode_form` and `filter_param`; the simulator
reads requests back with `decode_form` and `parse_list_value`.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "JSON_ENCODED_KEYS",
    "LIST_OPERATORS",
    "FormError",
    "decode_form",
    "encode_form",
    "encode_value",
    "filter_param",
    "parse_list_value",
    "split_key",
]

#: Operators whose value is a list, sent as JSON-array text.
LIST_OPERATORS = frozenset({"in", "not_in", "between"})

#: Parameters Chargebee takes as one JSON text rather than bracketed keys.
JSON_ENCODED_KEYS = frozenset({"meta_data", "exemption_details"})

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """A form key or value could not be read; ``param`` names the offending parameter."""

    def __init__(self, param: str, problem: str) -> None:
        self.param = param
        super().__init__(f"{param}: {problem}")


def encode_value(value: Any) -> str:
    """One scalar as Chargebee expects it: booleans lower-case, ``None`` as empty text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_form(
    fields: Mapping[str, Any], *, json_keys: frozenset[str] = JSON_ENCODED_KEYS
) -> list[tuple[str, str]]:
    """Flatten ``fields`` into form pairs, in order.

    >>> encode_form({"billing_address": {"city": "Oslo"}, "ids": ["a", "b"], "vip": True})
    [('billing_address[city]', 'Oslo'), ('ids[0]', 'a'), ('ids[1]', 'b'), ('vip', 'true')]
    """
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if name in json_keys and isinstance(value, (Mapping, list, tuple)):
            pairs.append((name, json.dumps(value, separators=(",", ":"))))
        else:
            _flatten(name, value, pairs)
    return pairs


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}[{key}]", inner, out)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                # Chargebee's multi-valued objects put the index last: items[id][0].
                for key, inner in item.items():
                    out.append((f"{prefix}[{key}][{index}]", encode_value(inner)))
            else:
                out.append((f"{prefix}[{index}]", encode_value(item)))
    else:
        out.append((prefix, encode_value(value)))


def filter_param(attribute: str, operator: str, value: Any) -> tuple[str, str]:
    """One list filter as a form pair: ``updated_at[after]=1700000000``.

    ``in``, ``not_in`` and ``between`` take a sequence and send it as JSON-array text.
    """
    key = f"{attribute}[{operator}]"
    if operator in LIST_OPERATORS:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise TypeError(f"{key} takes a list of values")
        if operator == "between" and len(value) != 2:
            raise ValueError(f"{key} takes exactly two values")
        return key, json.dumps(list(value), separators=(",", ":"))
    return key, encode_value(value)


def split_key(key: str) -> list[str]:
    """``billing_address[city]`` → ``["billing_address", "city"]``; FormError if malformed."""
    match = _KEY.match(key)
    if match is None:
        raise FormError(key, "malformed parameter name")
    return [match.group(1), *_PART.findall(match.group(2))]


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild nested parameters from form pairs (the inverse of `encode_form`).

    Objects whose keys are all indexes become lists. A key given twice, or given both as a
    value and as an object, is a `FormError`.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = split_key(key)
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise FormError(key, "given both as a value and as an object")
            node = child
        last = parts[-1]
        if last in node:
            raise FormError(key, "given more than once")
        node[last] = value
    return {name: _listify(value) for name, value in root.items()}


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _listify(inner) for key, inner in value.items()}
    if converted and all(key.isdigit() for key in converted):
        ordered = sorted(converted.items(), key=lambda item: int(item[0]))
        return [inner for _, inner in ordered]
    return converted


def parse_list_value(text: str, *, param: str) -> list[str]:
    """The values of an ``in``/``between`` filter, as strings.

    Accepts JSON-array text (``["a","b"]``, ``[1,2]``) and, because the official Python
    SDK sends ``str()`` of a Python list, its repr (``['a', 'b']``) too.
    """
    parsed: Any
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise FormError(param, "expected a JSON array") from None
    if not isinstance(parsed, (list, tuple)):
        raise FormError(param, "expected a JSON array")
    values: list[str] = []
    for item in parsed:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            values.append(str(item))
        else:
            raise FormError(param, "array items must be strings or numbers")
    return values
