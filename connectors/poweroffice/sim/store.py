"""The PowerOffice Go simulator's data: an in-memory client company with four resources.

`PowerOfficeStore` owns the records, the id counters, the clock and every rule the real
API applies to data: create rules, JSON Patch, "in use" conflicts, the change filter,
ordering, paging and field selection. The HTTP layer (`simulator.py`) only translates
requests into these calls and `Problem`s into RFC 7807 answers. Tests use it in-process:
freeze the clock, seed thousands of records sharing one `LastChangedDateTimeOffset`,
seed an Employee and a Customer with the same Id.

Behaviours the simulator picked where the reference is silent or *unverified*:

- One id counter for contacts (Customers, Employees, and suppliers if they were
  simulated); seeding with an explicit Id is allowed even when the Id is already a
  contact of the other kind. ContactPersons and Departments have their own counters.
- Only a modelled subset of each DTO's fields exists (the mapped ones and a few more);
  a create or patch naming any other field is answered 400 naming the field.
- JSON Patch: `add`, `replace`, `remove`, `test`, `copy`, `move` on top-level fields,
  paths matched case-insensitively; `remove` sets the field to null. Read-only fields
  (Id, ContactId, timestamps, IsActive of a Customer) cannot be patched. The document
  is applied atomically and the result must still satisfy the create rules.
- `LastChangedDateTimeOffset` moves only when a patch changed a value. A Customer's does
  not move when its contact persons change.
- Deleting a Customer with contact persons, or a Department an Employee or Customer
  points at (`DepartmentId`), is 409. Contact persons hang under Customers only.
- Lists with no `OrderBy` are ordered by (LastChangedDateTimeOffset, Id). `OrderBy` takes
  comma-separated field names each optionally followed by `asc` or `desc`; ties are
  always broken by Id ascending, so every order is stable across pages.
- `Fields` takes comma-separated field names (case-insensitive); unknown names are 400.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.poweroffice.resources import Resource, missing_required_fields
from connectors.poweroffice.timestamps import format_timestamp

__all__ = [
    "ListQuery",
    "PowerOfficeStore",
    "Problem",
    "apply_json_patch",
    "canonical_field",
    "fields_of",
    "parse_fields",
    "parse_id_list",
    "parse_order_by",
]


class Problem(Exception):
    """A rule the request broke; the HTTP layer answers it as RFC 7807 problem details."""

    def __init__(self, status: int, title: str, detail: str, *, field: str | None = None):
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field


@dataclass(frozen=True, slots=True)
class _Field:
    kind: type
    writable: bool = True


_STR, _BOOL, _INT = str, bool, int

# Field names and types as the official v2 schema spells them (a modelled subset).
_FIELDS: dict[Resource, dict[str, _Field]] = {
    Resource.CUSTOMERS: {
        "Id": _Field(_INT, writable=False),
        "Number": _Field(_INT),
        "IsPerson": _Field(_BOOL),
        "Name": _Field(_STR),
        "FirstName": _Field(_STR),
        "LastName": _Field(_STR),
        "EmailAddress": _Field(_STR),
        "PhoneNumber": _Field(_STR),
        "OrganizationNumber": _Field(_STR),
        "DepartmentId": _Field(_INT),
        "IsArchived": _Field(_BOOL),
        "IsActive": _Field(_BOOL, writable=False),
        "ContactCreatedDateTimeOffset": _Field(_STR, writable=False),
        "CustomerCreatedDateTimeOffset": _Field(_STR, writable=False),
        "LastChangedDateTimeOffset": _Field(_STR, writable=False),
    },
    Resource.CONTACT_PERSONS: {
        "Id": _Field(_INT, writable=False),
        "ContactId": _Field(_INT, writable=False),
        "FirstName": _Field(_STR),
        "LastName": _Field(_STR),
        "EmailAddress": _Field(_STR),
        "PhoneNumber": _Field(_STR),
        "Title": _Field(_STR),
        "ExternalCode": _Field(_STR),
        "IsActive": _Field(_BOOL),
        "IsDefault": _Field(_BOOL),
        "CreatedDateTimeOffset": _Field(_STR, writable=False),
        "LastChangedDateTimeOffset": _Field(_STR, writable=False),
    },
    Resource.EMPLOYEES: {
        "Id": _Field(_INT, writable=False),
        "Number": _Field(_INT),
        "FirstName": _Field(_STR),
        "LastName": _Field(_STR),
        "EmailAddress": _Field(_STR),
        "PhoneNumber": _Field(_STR),
        "JobTitle": _Field(_STR),
        "DepartmentId": _Field(_INT),
        "IsArchived": _Field(_BOOL),
        "ContactCreatedDateTimeOffset": _Field(_STR, writable=False),
        "EmployeeCreatedDateTimeOffset": _Field(_STR, writable=False),
        "LastChangedDateTimeOffset": _Field(_STR, writable=False),
    },
    Resource.DEPARTMENTS: {
        "Id": _Field(_INT, writable=False),
        "Code": _Field(_STR),
        "Name": _Field(_STR),
        "IsActive": _Field(_BOOL),
        "CreatedDateTimeOffset": _Field(_STR, writable=False),
        "LastChangedDateTimeOffset": _Field(_STR, writable=False),
    },
}

_LOWER: dict[Resource, dict[str, str]] = {
    resource: {name.lower(): name for name in fields} for resource, fields in _FIELDS.items()
}

_CREATED_FIELD = {
    Resource.CUSTOMERS: "CustomerCreatedDateTimeOffset",
    Resource.CONTACT_PERSONS: "CreatedDateTimeOffset",
    Resource.EMPLOYEES: "EmployeeCreatedDateTimeOffset",
    Resource.DEPARTMENTS: "CreatedDateTimeOffset",
}

_DEFAULTS: dict[Resource, dict[str, Any]] = {
    Resource.CUSTOMERS: {"IsPerson": False, "IsArchived": False, "IsActive": True},
    Resource.CONTACT_PERSONS: {"IsActive": True, "IsDefault": False},
    Resource.EMPLOYEES: {"IsArchived": False},
    Resource.DEPARTMENTS: {"IsActive": True},
}


def fields_of(resource: Resource) -> tuple[str, ...]:
    """The field names a record of ``resource`` has in the simulator, in schema spelling."""
    return tuple(_FIELDS[resource])


def canonical_field(resource: Resource, name: str) -> str | None:
    """The schema spelling of ``name`` (matched case-insensitively), or None if unknown."""
    return _LOWER[resource].get(name.lower())


def _check_value(resource: Resource, name: str, value: Any) -> None:
    kind = _FIELDS[resource][name].kind
    if value is None:
        return
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise Problem(
            400,
            f"{resource.value[:-1]} validation error(s)",
            f"The value of {name} must be a {kind.__name__} or null.",
            field=name,
        )


def _patch_target(resource: Resource, path: Any, *, op: str) -> str:
    if not isinstance(path, str) or not path.startswith("/") or path.count("/") != 1:
        raise Problem(400, "Invalid patch document", f"The path {path!r} of '{op}' is not valid.")
    name = canonical_field(resource, path[1:])
    if name is None:
        raise Problem(
            400,
            "Invalid patch document",
            f"The target location specified by path {path!r} was not found.",
        )
    return name


def apply_json_patch(
    resource: Resource, record: Mapping[str, Any], operations: Any
) -> dict[str, Any]:
    """Apply an RFC 6902 document to a copy of ``record`` and return the copy.

    Paths name top-level fields, case-insensitively. Raises `Problem` (400) on a malformed
    document, an unknown or read-only path, an unsupported op, a wrong value type or a
    failed `test`; ``record`` is never modified.
    """
    if not isinstance(operations, list):
        raise Problem(400, "Invalid patch document", "The body must be a JSON Patch array.")
    result = dict(record)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise Problem(400, "Invalid patch document", f"Operation {index} is not an object.")
        op = operation.get("op")
        if op not in ("add", "replace", "remove", "test", "copy", "move"):
            raise Problem(400, "Invalid patch document", f"Operation {index}: op {op!r} invalid.")
        target = _patch_target(resource, operation.get("path"), op=op)
        if op == "test":
            if result.get(target) != operation.get("value"):
                raise Problem(400, "Invalid patch document", f"Test of {target} failed.")
            continue
        if not _FIELDS[resource][target].writable:
            raise Problem(
                400, "Invalid patch document", f"{target} is read-only and cannot be patched."
            )
        if op in ("add", "replace"):
            if "value" not in operation:
                raise Problem(400, "Invalid patch document", f"Operation {index} has no value.")
            value = operation["value"]
        elif op == "remove":
            value = None
        else:
            source = _patch_target(resource, operation.get("from"), op=op)
            value = result.get(source)
            if op == "move":
                if not _FIELDS[resource][source].writable:
                    raise Problem(400, "Invalid patch document", f"{source} is read-only.")
                result[source] = None
        _check_value(resource, target, value)
        result[target] = value
    return result


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A parsed list request. Timestamps are ticks; `order_by` is (field, descending)."""

    changed_after: int | None = None
    created_after: int | None = None
    contact_ids: frozenset[int] | None = None
    page_number: int = 1
    page_size: int = 5000
    order_by: tuple[tuple[str, bool], ...] = ()
    fields: tuple[str, ...] | None = None


FIRST_CONTACT_ID = 10001


def _ticks_now() -> int:
    return time.time_ns() // 100


@dataclass(slots=True)
class _Row:
    values: dict[str, Any]
    created: int
    last_changed: int


class PowerOfficeStore:
    """One simulated client company. ``clock`` returns ticks (100 ns since the epoch, UTC);
    replace it (or the attribute) to freeze time."""

    def __init__(self, *, clock: Callable[[], int] = _ticks_now) -> None:
        self.clock = clock
        self._rows: dict[Resource, dict[int, _Row]] = {resource: {} for resource in Resource}
        self._next_contact_id = FIRST_CONTACT_ID
        self._next_ids: dict[Resource, int] = {Resource.CONTACT_PERSONS: 1, Resource.DEPARTMENTS: 1}

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every record and restart the id counters."""
        for rows in self._rows.values():
            rows.clear()
        self._next_contact_id = FIRST_CONTACT_ID
        self._next_ids = {Resource.CONTACT_PERSONS: 1, Resource.DEPARTMENTS: 1}

    def count(self, resource: Resource) -> int:
        return len(self._rows[resource])

    def ids(self, resource: Resource) -> list[int]:
        return sorted(self._rows[resource])

    def allocate_contact_id(self) -> int:
        """The next Id of the contact id space (Customers, Employees, suppliers)."""
        value = self._next_contact_id
        self._next_contact_id += 1
        return value

    def _allocate(self, resource: Resource, explicit: int | None) -> int:
        contacts = resource in (Resource.CUSTOMERS, Resource.EMPLOYEES)
        if explicit is not None:
            if explicit in self._rows[resource]:
                raise ValueError(f"{resource.value} {explicit} already exists")
            if contacts:
                self._next_contact_id = max(self._next_contact_id, explicit + 1)
            else:
                self._next_ids[resource] = max(self._next_ids[resource], explicit + 1)
            return explicit
        if contacts:
            return self.allocate_contact_id()
        value = self._next_ids[resource]
        self._next_ids[resource] = value + 1
        return value

    def _render(self, resource: Resource, row: _Row) -> dict[str, Any]:
        record = dict(row.values)
        stamp_created = format_timestamp(row.created)
        record[_CREATED_FIELD[resource]] = stamp_created
        if resource in (Resource.CUSTOMERS, Resource.EMPLOYEES):
            record["ContactCreatedDateTimeOffset"] = stamp_created
        record["LastChangedDateTimeOffset"] = format_timestamp(row.last_changed)
        return {name: record.get(name) for name in _FIELDS[resource]}

    def _row(self, resource: Resource, record_id: int, contact_id: int | None) -> _Row:
        row = self._rows[resource].get(record_id)
        if row is None or (
            resource is Resource.CONTACT_PERSONS and row.values["ContactId"] != contact_id
        ):
            noun = resource.value[:-1]
            raise Problem(404, "Object(s) not found", f"{noun} with id = {record_id} not found.")
        return row

    def _canonical_body(self, resource: Resource, body: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in body.items():
            name = canonical_field(resource, str(key))
            if name is None:
                raise Problem(
                    400,
                    f"{resource.value[:-1]} validation error(s)",
                    f"The field {key!r} is not supported.",
                    field=str(key),
                )
            if not _FIELDS[resource][name].writable:
                raise Problem(
                    400,
                    f"{resource.value[:-1]} validation error(s)",
                    f"{name} is read-only and cannot be set.",
                    field=name,
                )
            _check_value(resource, name, value)
            values[name] = value
        return values

    def _validate(self, resource: Resource, values: Mapping[str, Any]) -> None:
        missing = missing_required_fields(resource, values)
        if missing:
            raise Problem(
                400,
                f"{resource.value[:-1]} validation error(s)",
                f"{', '.join(missing)} is required.",
                field=missing[0],
            )
        department = values.get("DepartmentId")
        if department is not None and department not in self._rows[Resource.DEPARTMENTS]:
            raise Problem(
                404,
                f"{resource.value[:-1]} validation error(s)",
                f"Department with id = {department} not found.",
                field="DepartmentId",
            )
        code = values.get("Code")
        if resource is Resource.DEPARTMENTS and code:
            for other_id, row in self._rows[resource].items():
                if row.values.get("Code") == code and other_id != values.get("Id"):
                    raise Problem(
                        400,
                        "Department validation error(s)",
                        f"Code '{code}' is already in use.",
                        field="Code",
                    )

    def _insert(
        self,
        resource: Resource,
        values: dict[str, Any],
        *,
        record_id: int | None,
        contact_id: int | None,
        last_changed: int | None,
        created: int | None,
    ) -> dict[str, Any]:
        if resource is Resource.CONTACT_PERSONS and (
            contact_id is None or contact_id not in self._rows[Resource.CUSTOMERS]
        ):
            raise Problem(404, "Object(s) not found", f"Contact with id = {contact_id} not found.")
        merged = {**_DEFAULTS[resource], **values}
        self._validate(resource, merged)
        new_id = self._allocate(resource, record_id)
        merged["Id"] = new_id
        if resource is Resource.CONTACT_PERSONS:
            merged["ContactId"] = contact_id
        now = self.clock()
        changed = now if last_changed is None else last_changed
        row = _Row(
            values=merged, created=changed if created is None else created, last_changed=changed
        )
        self._rows[resource][new_id] = row
        return self._render(resource, row)

    # -- the API's operations ----------------------------------------------------------------

    def create(
        self, resource: Resource, body: Mapping[str, Any], *, contact_id: int | None = None
    ) -> dict[str, Any]:
        """`POST`: validate the body by the create rules and store a new record."""
        values = self._canonical_body(resource, body)
        return self._insert(
            resource,
            values,
            record_id=None,
            contact_id=contact_id,
            last_changed=None,
            created=None,
        )

    def get(
        self, resource: Resource, record_id: int, *, contact_id: int | None = None
    ) -> dict[str, Any]:
        return self._render(resource, self._row(resource, record_id, contact_id))

    def patch(
        self,
        resource: Resource,
        record_id: int,
        operations: Any,
        *,
        contact_id: int | None = None,
    ) -> dict[str, Any]:
        """`PATCH`: apply the JSON Patch atomically; LastChanged moves if a value changed."""
        row = self._row(resource, record_id, contact_id)
        patched = apply_json_patch(resource, row.values, operations)
        self._validate(resource, patched)
        if patched != row.values:
            row.values = patched
            row.last_changed = self.clock()
        return self._render(resource, row)

    def delete(self, resource: Resource, record_id: int, *, contact_id: int | None = None) -> None:
        """`DELETE`: 409 while a Customer has contact persons or a Department is used."""
        self._row(resource, record_id, contact_id)
        if resource is Resource.CUSTOMERS and any(
            row.values["ContactId"] == record_id
            for row in self._rows[Resource.CONTACT_PERSONS].values()
        ):
            raise Problem(
                409,
                "Customer conflict",
                f"Customer with id = {record_id} is in use and "
                "cannot be deleted (it has contact persons).",
            )
        if resource is Resource.DEPARTMENTS and any(
            row.values.get("DepartmentId") == record_id
            for users in (Resource.CUSTOMERS, Resource.EMPLOYEES)
            for row in self._rows[users].values()
        ):
            raise Problem(
                409,
                "Department conflict",
                f"Department with id = {record_id} is in use and cannot be deleted.",
            )
        del self._rows[resource][record_id]

    def list_page(self, resource: Resource, query: ListQuery) -> list[dict[str, Any]]:
        """One page of records matching ``query``, ordered stably, fields selected."""
        rows = [
            (record_id, row)
            for record_id, row in self._rows[resource].items()
            if (query.changed_after is None or row.last_changed > query.changed_after)
            and (query.created_after is None or row.created > query.created_after)
            and (query.contact_ids is None or row.values.get("ContactId") in query.contact_ids)
        ]
        rows.sort(key=lambda item: item[0])
        order = query.order_by or (("LastChangedDateTimeOffset", False),)
        for name, descending in reversed(order):
            rows.sort(key=functools.partial(_row_sort_key, name), reverse=descending)
        start = (query.page_number - 1) * query.page_size
        page = rows[start : start + query.page_size]
        rendered = [self._render(resource, row) for _, row in page]
        if query.fields is None:
            return rendered
        return [{name: record[name] for name in query.fields} for record in rendered]

    # -- seeding, for tests and the demo ------------------------------------------------------

    def _seed(
        self,
        resource: Resource,
        *,
        id: int | None,
        last_changed: int | None,
        created: int | None = None,
        contact_id: int | None = None,
        fields: Mapping[str, Any],
    ) -> dict[str, Any]:
        try:
            values = self._canonical_body(resource, fields)
            return self._insert(
                resource,
                values,
                record_id=id,
                contact_id=contact_id,
                last_changed=last_changed,
                created=created,
            )
        except Problem as exc:
            raise ValueError(exc.detail) from exc

    def add_customer(
        self, *, id: int | None = None, last_changed: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Seed one Customer (PascalCase ``fields``); ``id`` may equal an Employee's Id."""
        return self._seed(Resource.CUSTOMERS, id=id, last_changed=last_changed, fields=fields)

    def add_employee(
        self, *, id: int | None = None, last_changed: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Seed one Employee (PascalCase ``fields``); ``id`` may equal a Customer's Id."""
        return self._seed(Resource.EMPLOYEES, id=id, last_changed=last_changed, fields=fields)

    def add_department(
        self, *, id: int | None = None, last_changed: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Seed one Department (PascalCase ``fields``)."""
        return self._seed(Resource.DEPARTMENTS, id=id, last_changed=last_changed, fields=fields)

    def add_contact_person(
        self,
        contact_id: int,
        *,
        id: int | None = None,
        last_changed: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Seed one ContactPerson under the Customer ``contact_id``."""
        return self._seed(
            Resource.CONTACT_PERSONS,
            id=id,
            last_changed=last_changed,
            contact_id=contact_id,
            fields=fields,
        )

    def seed_customers(
        self, n: int, *, last_changed: int | None = None, is_person: bool = False
    ) -> list[dict[str, Any]]:
        """``n`` Customers: companies `Company {i} AS`, or persons when ``is_person``."""
        out = []
        for i in range(1, n + 1):
            if is_person:
                fields: dict[str, Any] = {
                    "IsPerson": True,
                    "FirstName": f"Person{i}",
                    "LastName": "Kunde",
                    "EmailAddress": f"person{i}@example.no",
                }
            else:
                fields = {"IsPerson": False, "Name": f"Company {i} AS"}
            out.append(self.add_customer(last_changed=last_changed, **fields))
        return out

    def seed_employees(self, n: int, *, last_changed: int | None = None) -> list[dict[str, Any]]:
        """``n`` Employees `Employee{i} Ansatt <employee{i}@example.no>`."""
        return [
            self.add_employee(
                last_changed=last_changed,
                FirstName=f"Employee{i}",
                LastName="Ansatt",
                EmailAddress=f"employee{i}@example.no",
            )
            for i in range(1, n + 1)
        ]

    def seed_departments(self, n: int, *, last_changed: int | None = None) -> list[dict[str, Any]]:
        """``n`` Departments `Department {i}` with codes `D{i}`."""
        start = self._next_ids[Resource.DEPARTMENTS]
        return [
            self.add_department(
                last_changed=last_changed, Code=f"D{start + i}", Name=f"Department {start + i}"
            )
            for i in range(n)
        ]

    def seed_contact_persons(
        self, contact_id: int, n: int, *, last_changed: int | None = None
    ) -> list[dict[str, Any]]:
        """``n`` ContactPersons under the Customer ``contact_id``."""
        return [
            self.add_contact_person(
                contact_id,
                last_changed=last_changed,
                FirstName=f"Contact{i}",
                LastName=f"Of{contact_id}",
                EmailAddress=f"contact{i}.{contact_id}@example.no",
            )
            for i in range(1, n + 1)
        ]

    def edit(
        self,
        resource: Resource,
        record_id: int,
        *,
        contact_id: int | None = None,
        at: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """What a person editing in the web app does: set ``fields``, move LastChanged
        (to ``at`` when given, else the clock), whether or not a value changed."""
        row = self._row(resource, record_id, contact_id)
        try:
            values = {**row.values, **self._canonical_body(resource, fields)}
            self._validate(resource, values)
        except Problem as exc:
            raise ValueError(exc.detail) from exc
        row.values = values
        row.last_changed = self.clock() if at is None else at
        return self._render(resource, row)

    def remove(self, resource: Resource, record_id: int) -> None:
        """A hard delete behind the API's back (no conflict checks), as in the web app."""
        self._rows[resource].pop(record_id, None)


def _row_sort_key(name: str, item: tuple[int, _Row]) -> tuple[int, Any]:
    return _sort_key(name, item[1])


def _sort_key(name: str, row: _Row) -> tuple[int, Any]:
    if name == "LastChangedDateTimeOffset":
        return (0, row.last_changed)
    if name in (
        "CreatedDateTimeOffset",
        "CustomerCreatedDateTimeOffset",
        "EmployeeCreatedDateTimeOffset",
        "ContactCreatedDateTimeOffset",
    ):
        return (0, row.created)
    value = row.values.get(name)
    if value is None:
        return (1, 0)
    return (0, value.lower() if isinstance(value, str) else value)


def parse_order_by(resource: Resource, text: str) -> tuple[tuple[str, bool], ...]:
    """`"LastChangedDateTimeOffset desc, Id"` → ((field, descending), ...); 400 on junk."""
    order: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise Problem(400, "Invalid OrderBy", f"Cannot order by {part.strip()!r}.")
        name = canonical_field(resource, words[0])
        if name is None:
            raise Problem(400, "Invalid OrderBy", f"Unknown field {words[0]!r} in OrderBy.")
        order.append((name, len(words) == 2 and words[1].lower() == "desc"))
    return tuple(order)


def parse_fields(resource: Resource, text: str) -> tuple[str, ...] | None:
    """`"id,firstName"` → ("Id", "FirstName"); None for an empty value; 400 on unknown."""
    names: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name = canonical_field(resource, part)
        if name is None:
            raise Problem(400, "Invalid Fields", f"Unknown field {part!r} in Fields.")
        if name not in names:
            names.append(name)
    return tuple(names) or None


def parse_id_list(text: str, *, parameter: str) -> frozenset[int]:
    """`"1, 2,3"` → {1, 2, 3}; 400 when an item is not a positive integer."""
    ids: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise Problem(
                400,
                "Unable to cast object(s)",
                f"{parameter} contains {part!r}; only comma-separated positive numbers are "
                "allowed.",
            )
        ids.add(int(part))
    return frozenset(ids)
