"""What the agents refuse before any rule runs: refuse_change and refuse_upsert."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from connectors.events import ChangeEvent, Op, Origin, Source
from mappings import load_flows
from streams.sync.messages import Upsert
from streams.sync.validation import refuse_change, refuse_upsert

FLOWS = load_flows()
FLOWS_BY_NAME = {flow.name: flow for flow in FLOWS}
SERVED = {"acme"}


def poweroffice(
    entity: str = "Employee",
    rid: str = "7",
    *,
    connection: str = "acme",
    op: Op = Op.UPDATE,
    before: dict[str, Any] | None = None,
    **fields: Any,
) -> ChangeEvent:
    record = {"Id": 7, "FirstName": "Åse", "LastName": "Ørnes", "EmailAddress": "a@b.no"}
    record.update(fields)
    return ChangeEvent(
        connection=connection,
        op=op,
        source=Source("poweroffice", entity, rid, 1, 1),
        after=None if op is Op.DELETE else record,
        before=before,
        origin=Origin("poweroffice"),
        observed_ms=0,
    )


def chargebee(system: str = "chargebee", rid: str = "cus_7", **fields: Any) -> ChangeEvent:
    record = {"id": rid, "first_name": "Åse", "last_name": "Ørnes", "email": "a@b.no"}
    record.update(fields)
    return ChangeEvent(
        connection="acme",
        op=Op.UPDATE,
        source=Source(system, "customer", rid, 1, 1),
        after=record,
        origin=Origin(system),
        observed_ms=0,
    )


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        pytest.param(poweroffice(), None, id="good-poweroffice-employee"),
        pytest.param(poweroffice(FirstName=None), None, id="null-text-field"),
        pytest.param(poweroffice(Number=12, IsArchived=False), None, id="unmapped-non-text"),
        pytest.param(poweroffice(rid="9" * 19), None, id="19-digit-id"),
        pytest.param(poweroffice("ContactPerson", ContactId=12), None, id="contact-id-number"),
        pytest.param(poweroffice("ContactPerson", ContactId=None), None, id="contact-id-null"),
        pytest.param(
            poweroffice("Customer", IsPerson=False, Name="Nordlys AS"), None, id="company"
        ),
        pytest.param(chargebee(), None, id="good-chargebee-customer"),
        pytest.param(chargebee(ContactId="x"), None, id="chargebee-has-no-contact-id-rule"),
        pytest.param(
            poweroffice(connection="other"),
            "connection 'other' is not served by this worker",
            id="connection-not-served",
        ),
        pytest.param(
            chargebee(system="xero"),
            "source.system 'xero' is neither poweroffice nor chargebee",
            id="unknown-system",
        ),
        pytest.param(
            poweroffice(rid="abc"),
            "source.id 'abc' is not a PowerOffice Go id (a number)",
            id="id-letters",
        ),
        pytest.param(
            poweroffice(rid="-7"),
            "source.id '-7' is not a PowerOffice Go id (a number)",
            id="id-negative",
        ),
        pytest.param(
            poweroffice(rid="²"),
            "source.id '²' is not a PowerOffice Go id (a number)",
            id="id-non-ascii-digit",
        ),
        pytest.param(
            poweroffice(rid="1" * 20),
            f"source.id '{'1' * 20}' is not a PowerOffice Go id (a number)",
            id="id-20-digits",
        ),
        pytest.param(
            poweroffice(rid="a" * 100),
            f"source.id '{'a' * 40}' is not a PowerOffice Go id (a number)",
            id="long-id-shown-cut",
        ),
        pytest.param(
            poweroffice(FirstName=42),
            "poweroffice.Employee.FirstName is of type int, not text or null",
            id="first-name-int",
        ),
        pytest.param(
            poweroffice(LastName=True),
            "poweroffice.Employee.LastName is of type bool, not text or null",
            id="last-name-bool",
        ),
        pytest.param(
            poweroffice(EmailAddress={"a": 1}),
            "poweroffice.Employee.EmailAddress is of type dict, not text or null",
            id="email-object",
        ),
        pytest.param(
            poweroffice("Customer", IsPerson=False, Name=["Nordlys"]),
            "poweroffice.Customer.Name is of type list, not text or null",
            id="company-name-list",
        ),
        pytest.param(
            poweroffice(op=Op.DELETE, before={"Id": 7, "FirstName": 5}),
            "poweroffice.Employee.FirstName is of type int, not text or null",
            id="before-checked-too",
        ),
        pytest.param(
            poweroffice("ContactPerson", ContactId="12"),
            "ContactPerson.ContactId must be a number, got str",
            id="contact-id-text",
        ),
        pytest.param(
            poweroffice("ContactPerson", ContactId=True),
            "ContactPerson.ContactId must be a number, got bool",
            id="contact-id-bool",
        ),
        pytest.param(
            poweroffice("ContactPerson", ContactId=1.5),
            "ContactPerson.ContactId must be a number, got float",
            id="contact-id-float",
        ),
        pytest.param(
            chargebee(first_name=5),
            "chargebee.customer.first_name is of type int, not text or null",
            id="chargebee-first-name-int",
        ),
    ],
)
def test_refuse_change(event, reason):
    assert refuse_change(event, served=SERVED, flows=FLOWS) == reason


def command(**changes: Any) -> Upsert:
    good = Upsert(
        connection="acme",
        flow="employee",
        left_key="poweroffice:Employee:7",
        target="chargebee",
        entity="customer",
        record_id="ll-1234abcd-emp-7",
        fields={"email": "a@b.no", "first_name": "Åse"},
        source_ts_ms=1,
        source_event_id="ev",
    )
    return replace(good, **changes)


def to_poweroffice(**changes: Any) -> Upsert:
    return command(**{"target": "poweroffice", "entity": "Employee", "record_id": "7", **changes})


@pytest.mark.parametrize(
    ("upsert", "reason"),
    [
        pytest.param(command(), None, id="good-chargebee-command"),
        pytest.param(to_poweroffice(), None, id="good-poweroffice-command"),
        pytest.param(command(fields={}), None, id="no-fields"),
        pytest.param(
            command(connection="other"),
            "connection 'other' is not served by this worker",
            id="connection-not-served",
        ),
        pytest.param(
            command(connection="other", flow="retired"),
            "connection 'other' is not served by this worker",
            id="unserved-is-said-first",
        ),
        pytest.param(command(flow="retired"), "unknown flow 'retired'", id="unknown-flow"),
        pytest.param(
            to_poweroffice(record_id="abc"),
            "record_id 'abc' is not a PowerOffice Go id (a number)",
            id="poweroffice-id-letters",
        ),
        pytest.param(
            to_poweroffice(record_id="1" * 20),
            f"record_id '{'1' * 20}' is not a PowerOffice Go id (a number)",
            id="poweroffice-id-20-digits",
        ),
        pytest.param(
            to_poweroffice(record_id="x" * 100),
            f"record_id '{'x' * 40}' is not a PowerOffice Go id (a number)",
            id="long-id-shown-cut",
        ),
        pytest.param(
            command(fields={"email": "a@b.no", "phone": "1", "company": "Nordlys"}),
            "field(s) company, phone are not mapped by flow employee",
            id="unmapped-fields",
        ),
        pytest.param(
            to_poweroffice(fields={"EmailAddress": "a@b.no"}),
            "field(s) EmailAddress are not mapped by flow employee",
            id="left-side-field-name",
        ),
    ],
)
def test_refuse_upsert(upsert, reason):
    assert refuse_upsert(upsert, served=SERVED, flows=FLOWS_BY_NAME) == reason
