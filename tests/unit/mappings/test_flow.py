"""Compiled flows as pure functions: values, changes, writes, limits, hashes."""

from __future__ import annotations

import pytest

from mappings import InvalidRecordError, hash_values, load_flows

FLOWS = {f.name: f for f in load_flows()}


@pytest.fixture
def employee():
    return FLOWS["employee"]


def test_values_from_both_sides_compare_equal_for_the_same_person(employee):
    left = {"Id": 7, "FirstName": "Åse", "LastName": "Ørnes", "EmailAddress": "ase@fjord.no"}
    right = {"id": "x", "first_name": "Åse", "last_name": "Ørnes", "email": "ase@fjord.no"}
    assert employee.values_from_left(left) == employee.values_from_right(right)
    assert hash_values(employee.values_from_left(left)) == hash_values(
        employee.values_from_right(right)
    )


def test_missing_and_null_values_are_empty_text(employee):
    assert employee.values_from_left({"FirstName": None}) == {
        "email": "",
        "first_name": "",
        "last_name": "",
    }


def test_only_changed_fields_are_reported(employee):
    old = {"email": "a@b.no", "first_name": "Kari", "last_name": "Nordmann"}
    new = {**old, "last_name": "Nordkvinne"}
    assert employee.changed_fields(old, new) == ["last_name"]
    assert employee.changed_fields(None, new) == ["email", "first_name", "last_name"]


def test_the_right_update_holds_only_the_fields_asked_for(employee):
    values = {"email": "a@b.no", "first_name": "Kari", "last_name": "Nordmann"}
    assert employee.right_update(values, ["email"]) == {"email": "a@b.no"}


def test_the_left_patch_is_json_patch_with_poweroffice_paths(employee):
    values = {"email": "a@b.no", "first_name": "Kari", "last_name": "Nordmann"}
    assert employee.left_patch(values, ["first_name"]) == [
        {"op": "replace", "path": "/FirstName", "value": "Kari"}
    ]


def test_chargebee_limits_are_reported(employee):
    values = {"email": "x" * 59 + "@example.com", "first_name": "K" * 151, "last_name": "N"}
    assert len(values["email"]) == 71
    assert employee.limit_violations(values) == [
        "email is 71 characters; chargebee allows at most 70",
        "first_name is 151 characters; chargebee allows at most 150",
    ]


def test_where_splits_customers_between_companies_and_persons():
    company = {"Id": 1, "IsPerson": False, "Name": "Fjord AS"}
    person = {"Id": 2, "IsPerson": True, "FirstName": "Kari"}
    assert FLOWS["company"].applies_to(company)
    assert not FLOWS["company"].applies_to(person)
    assert FLOWS["person_customer"].applies_to(person)
    assert not FLOWS["person_customer"].applies_to(company)


def test_an_email_is_mapped_without_the_spaces_around_it(employee):
    record = {"Id": 7, "FirstName": "Kari", "LastName": "Nordmann", "EmailAddress": " a@b.no "}
    values = employee.values_from_left(record)
    assert values == {"email": "a@b.no", "first_name": "Kari", "last_name": "Nordmann"}
    assert employee.limit_violations(values) == []
    assert employee.right_update(values) == values


def test_spaces_around_an_email_do_not_count_against_the_limit(employee):
    address = "x" * 58 + "@example.com"
    assert len(address) == 70
    values = employee.values_from_left({"EmailAddress": f"\t {address} \n"})
    assert values["email"] == address
    assert employee.limit_violations(values) == []


def test_an_email_with_spaces_compares_and_hashes_like_the_trimmed_one(employee):
    left = employee.values_from_left({"FirstName": "Kari", "EmailAddress": " a@b.no"})
    right = employee.values_from_right({"first_name": "Kari", "email": "a@b.no  "})
    assert left == right
    assert hash_values(left) == hash_values(right)


def test_spaces_around_names_are_kept(employee):
    values = employee.values_from_left({"FirstName": " Kari ", "EmailAddress": " a@b.no "})
    assert values["first_name"] == " Kari "


@pytest.mark.parametrize("name", ["employee", "contact_person", "person_customer"])
def test_every_flow_mapping_an_email_trims_it(name):
    assert FLOWS[name].values_from_left({"EmailAddress": " a@b.no "})["email"] == "a@b.no"


GOOD_LEFT = {"Id": 7, "FirstName": "Kari", "LastName": None, "EmailAddress": "a@b.no"}
GOOD_RIGHT = {"id": "x", "first_name": "Kari", "email": "a@b.no", "deleted": False}


@pytest.mark.parametrize(
    ("side", "record"),
    [
        ("left", GOOD_LEFT),
        ("left", {}),
        ("left", {"Id": 7, "Unmapped": [1, 2], "LastChangedDateTimeOffset": 5}),
        ("right", GOOD_RIGHT),
        ("right", {"id": 1, "cf_anything": {"a": 1}}),
    ],
)
def test_a_record_of_text_or_null_mapped_fields_passes_the_check(employee, side, record):
    assert employee.check_record(record, side) is None


@pytest.mark.parametrize("record", ["x", [1, 2], 42, None, True, ("FirstName", "Kari")])
@pytest.mark.parametrize("side", ["left", "right"])
def test_a_record_that_is_not_an_object_is_refused_with_a_reason(employee, record, side):
    reason = employee.check_record(record, side)
    assert reason is not None
    assert reason.endswith(f"record is of type {type(record).__name__}, not an object")


@pytest.mark.parametrize(
    ("side", "record", "reason"),
    [
        (
            "left",
            {"FirstName": 42},
            "poweroffice.Employee.FirstName is of type int, not text or null",
        ),
        (
            "left",
            {"FirstName": "Kari", "EmailAddress": ["a@b.no"]},
            "poweroffice.Employee.EmailAddress is of type list, not text or null",
        ),
        (
            "right",
            {"last_name": {"text": "Nordmann"}},
            "chargebee.customer.last_name is of type dict, not text or null",
        ),
        ("right", {"email": False}, "chargebee.customer.email is of type bool, not text or null"),
    ],
)
def test_a_mapped_field_of_the_wrong_type_is_named(employee, side, record, reason):
    assert employee.check_record(record, side) == reason


def test_a_where_field_of_the_wrong_type_is_named():
    reason = FLOWS["company"].check_record({"IsPerson": "false", "Name": "Fjord AS"}, "left")
    assert reason == "poweroffice.Customer.IsPerson is of type str, not bool"
    assert FLOWS["company"].check_record({"IsPerson": 0, "Name": "Fjord AS"}, "left") is not None


def test_a_reason_never_shows_the_value(employee):
    reason = employee.check_record({"EmailAddress": ["kari@example.no"]}, "left")
    assert reason is not None
    assert "kari" not in reason


@pytest.mark.parametrize("record", ["x", [1, 2], {"FirstName": 42}])
def test_mapping_a_record_that_fails_the_check_raises_the_reason(employee, record):
    with pytest.raises(InvalidRecordError) as raised:
        employee.values_from_left(record)
    assert raised.value.reason == employee.check_record(record, "left")


@pytest.mark.parametrize("record", ["x", [1, 2], {"email": 5}])
def test_mapping_a_right_record_that_fails_the_check_raises_the_reason(employee, record):
    with pytest.raises(InvalidRecordError) as raised:
        employee.values_from_right(record)
    assert raised.value.reason == employee.check_record(record, "right")


@pytest.mark.parametrize("record", ["x", [1, 2], None, 7])
@pytest.mark.parametrize("name", sorted(FLOWS))
def test_something_that_is_not_an_object_belongs_to_no_flow(name, record):
    assert FLOWS[name].applies_to(record) is False
