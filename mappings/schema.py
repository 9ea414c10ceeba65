"""What the flow files may name: the entities of both systems and their mappable fields.

Types and limits come from the two API references: PowerOffice Go's DTO fields, and
Chargebee's customer limits (email ≤70, names ≤150, company ≤250) and business entity name.
E-mail fields are marked: spaces around an address are not part of it, and Chargebee
refuses an address that keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ENTITIES", "FieldSpec", "entity_fields"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    type: type
    max_length: int | None = None
    writable: bool = True
    email: bool = False


_STR = FieldSpec(str)
_EMAIL = FieldSpec(str, email=True)

ENTITIES: Mapping[tuple[str, str], Mapping[str, FieldSpec]] = {
    ("poweroffice", "Customer"): {
        "Id": FieldSpec(int, writable=False),
        "IsPerson": FieldSpec(bool),
        "Name": _STR,
        "FirstName": _STR,
        "LastName": _STR,
        "EmailAddress": _EMAIL,
    },
    ("poweroffice", "ContactPerson"): {
        "Id": FieldSpec(int, writable=False),
        "ContactId": FieldSpec(int, writable=False),
        "FirstName": _STR,
        "LastName": _STR,
        "EmailAddress": _EMAIL,
    },
    ("poweroffice", "Employee"): {
        "Id": FieldSpec(int, writable=False),
        "FirstName": _STR,
        "LastName": _STR,
        "EmailAddress": _EMAIL,
    },
    ("poweroffice", "Department"): {
        "Id": FieldSpec(int, writable=False),
        "Code": _STR,
        "Name": _STR,
    },
    ("chargebee", "customer"): {
        "id": FieldSpec(str, max_length=50, writable=False),
        "first_name": FieldSpec(str, max_length=150),
        "last_name": FieldSpec(str, max_length=150),
        "email": FieldSpec(str, max_length=70, email=True),
        "company": FieldSpec(str, max_length=250),
    },
    ("chargebee", "business_entity"): {
        "id": FieldSpec(str, max_length=50, writable=False),
        "name": _STR,
    },
}


def entity_fields(system: str, entity: str) -> Mapping[str, FieldSpec] | None:
    return ENTITIES.get((system, entity))
