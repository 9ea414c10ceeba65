"""The four PowerOffice Go resources ledgerlink uses, the fields it maps, and their create rules.

Customers and Employees (and suppliers) are all *contacts*: they share one id space and
the same Id may be both a Customer and an Employee, so a record is only identified by
(resource, Id). ContactPersons hang under a contact and are addressed
`/ContactPersons/{contactId}/{id}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

__all__ = [
    "CHANGE_FILTER",
    "MAPPED_FIELDS",
    "Resource",
    "collection_path",
    "create_path",
    "missing_required_fields",
    "record_path",
    "route_template",
]


class Resource(StrEnum):
    """A PowerOffice Go v2 collection; the value is its path segment."""

    CUSTOMERS = "Customers"
    CONTACT_PERSONS = "ContactPersons"
    EMPLOYEES = "Employees"
    DEPARTMENTS = "Departments"


#: The query parameter every resource's list accepts for "changed strictly after".
CHANGE_FILTER = "lastChangedDateTimeOffsetGreaterThan"

#: The fields ledgerlink reads and writes, besides `LastChangedDateTimeOffset`.
MAPPED_FIELDS: Mapping[Resource, tuple[str, ...]] = {
    Resource.CUSTOMERS: ("Id", "IsPerson", "Name", "FirstName", "LastName", "EmailAddress"),
    Resource.CONTACT_PERSONS: ("Id", "ContactId", "FirstName", "LastName", "EmailAddress"),
    Resource.EMPLOYEES: ("Id", "FirstName", "LastName", "EmailAddress"),
    Resource.DEPARTMENTS: ("Id", "Code", "Name"),
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_required_fields(resource: Resource, record: Mapping[str, Any]) -> list[str]:
    """The fields a create (or the result of a patch) lacks, by the API's create rules.

    Customer: `Name` when `IsPerson` is false, `FirstName` and `LastName` when it is true;
    Employee and ContactPerson: `FirstName` and `LastName`; Department: `Name`.
    Field names in ``record`` must already be canonical (PascalCase).
    """
    if resource is Resource.CUSTOMERS:
        required: tuple[str, ...] = (
            ("FirstName", "LastName") if record.get("IsPerson") is True else ("Name",)
        )
    elif resource is Resource.DEPARTMENTS:
        required = ("Name",)
    else:
        required = ("FirstName", "LastName")
    return [name for name in required if _blank(record.get(name))]


def collection_path(resource: Resource) -> str:
    """`/Customers`: where the list lives (and where creates go, except ContactPersons)."""
    return f"/{resource.value}"


def create_path(resource: Resource, contact_id: int | None = None) -> str:
    """Where a new record is POSTed; ContactPersons need their contact's id."""
    if resource is Resource.CONTACT_PERSONS:
        if contact_id is None:
            raise ValueError("ContactPersons are created under a contact: pass contact_id")
        return f"/{resource.value}/{contact_id}"
    return collection_path(resource)


def record_path(resource: Resource, record_id: int, contact_id: int | None = None) -> str:
    """`/Customers/12`, or `/ContactPersons/{contactId}/{id}` for a contact person."""
    if resource is Resource.CONTACT_PERSONS:
        if contact_id is None:
            raise ValueError("ContactPersons are addressed under a contact: pass contact_id")
        return f"/{resource.value}/{contact_id}/{record_id}"
    return f"/{resource.value}/{record_id}"


def route_template(resource: Resource, *, one: bool, create: bool = False) -> str:
    """The route as the API documents it, for logs and error messages (never ids or keys)."""
    if resource is Resource.CONTACT_PERSONS:
        if create:
            return "/ContactPersons/{contactId}"
        return "/ContactPersons/{contactId}/{id}" if one else "/ContactPersons"
    if not one:
        return f"/{resource.value}"
    key = "employeeId" if resource is Resource.EMPLOYEES else "id"
    return f"/{resource.value}/{{{key}}}"
