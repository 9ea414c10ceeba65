"""Deterministic identifiers, so that a repeated or retried create never makes a second record.

A Chargebee customer created for a PowerOffice Go record gets an id derived from the
connection, the PowerOffice Go entity type and its id — the type matters because a
Customer and an Employee may share an Id. Chargebee allows at most 50 characters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import orjson

__all__ = ["ENTITY_CODES", "chargebee_customer_id", "create_idempotency_key"]

ENTITY_CODES = {"Employee": "emp", "ContactPerson": "cp", "Customer": "cus", "Department": "dep"}
MAX_ID_LENGTH = 50


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def chargebee_customer_id(connection: str, entity: str, record_id: str) -> str:
    """`ll-3f2a9c1b-emp-10042`: stable for one PowerOffice Go record of one connection."""
    code = ENTITY_CODES.get(entity)
    if code is None:
        raise ValueError(f"no Chargebee customers are made from {entity!r} records")
    if not record_id.isdigit():
        raise ValueError(f"PowerOffice Go ids are integers, got {record_id!r}")
    customer_id = f"ll-{_digest(connection, 8)}-{code}-{record_id}"
    if len(customer_id) > MAX_ID_LENGTH:  # only for absurd ids; int64 fits easily
        raise ValueError(f"customer id {customer_id!r} exceeds {MAX_ID_LENGTH} characters")
    return customer_id


def create_idempotency_key(customer_id: str, values: Mapping[str, str]) -> str:
    """The same create of the same values always sends the same key (≤100 characters)."""
    digest = _digest(orjson.dumps(dict(values), option=orjson.OPT_SORT_KEYS).decode(), 16)
    return f"create-{customer_id}-{digest}"
