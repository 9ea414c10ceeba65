"""The flow files: the five shipped flows load, and every kind of mistake names file and line."""

from __future__ import annotations

import pytest

from mappings import MappingError, load_flow, load_flows
from mappings.loader import DEFAULT_DIR

GOOD = """\
[flow]
name = "employee"
left = "poweroffice.Employee"
right = "chargebee.customer"
link = "create"

[fields]
EmailAddress = "email"
FirstName = "first_name"
LastName = "last_name"
"""


def write(tmp_path, text, name="flow.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_five_shipped_flows_load():
    flows = {f.name: f for f in load_flows()}
    assert set(flows) == {"contact_person", "company", "department", "employee", "person_customer"}
    assert flows["company"].where == {"IsPerson": False}
    assert flows["person_customer"].where == {"IsPerson": True}
    assert flows["company"].link == "match_by_name"
    assert [(p.left, p.right) for p in flows["contact_person"].fields] == [
        ("EmailAddress", "email"),
        ("FirstName", "first_name"),
        ("LastName", "last_name"),
    ]


def test_chargebee_limits_are_attached_to_the_fields():
    flow = load_flow(DEFAULT_DIR / "employee.toml")
    assert {p.right: p.max_length for p in flow.fields} == {
        "email": 70,
        "first_name": 150,
        "last_name": 150,
    }


def test_email_fields_are_marked_as_addresses():
    flow = load_flow(DEFAULT_DIR / "employee.toml")
    assert [p.right for p in flow.fields if p.email] == ["email"]


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ('left = "poweroffice.Employee"', 'left = "poweroffice.Employe"', 3, "unknown entity"),
        ('FirstName = "first_name"', 'FirstNam = "first_name"', 9, "unknown field Employee.First"),
        ('FirstName = "first_name"', 'FirstName = "firstname"', 9, "unknown field customer.first"),
        ('LastName = "last_name"', 'LastName = "email"', 10, "mapped twice"),
        ('link = "create"', 'link = "upsert"', 5, "link must be"),
        ('name = "employee"', 'name = "Employee Flow"', 2, "lower_snake_case"),
        ('link = "create"', 'link = "create"\ncolour = "blue"', 6, "unknown key 'colour'"),
    ],
)
def test_a_mistake_names_the_file_and_line(tmp_path, old, new, line, message):
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(MappingError, match=message) as caught:
        load_flow(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}:")


def test_a_bad_type_in_where_is_refused(tmp_path):
    text = GOOD.replace('left = "poweroffice.Employee"', 'left = "poweroffice.Customer"')
    text += '\n[where]\nIsPerson = "yes"\n'
    with pytest.raises(MappingError, match="IsPerson is bool, not str") as caught:
        load_flow(write(tmp_path, text))
    assert caught.value.line == 13


def test_mapping_fields_of_different_types_is_refused(tmp_path):
    text = GOOD.replace('left = "poweroffice.Employee"', 'left = "poweroffice.Customer"')
    text = text.replace('FirstName = "first_name"', 'IsPerson = "first_name"')
    with pytest.raises(MappingError, match=r"IsPerson is bool but customer\.first_name is str"):
        load_flow(write(tmp_path, text))


def test_ids_cannot_be_mapped(tmp_path):
    text = GOOD.replace('FirstName = "first_name"', 'Id = "id"')
    with pytest.raises(MappingError, match=r"Employee\.Id is int"):
        load_flow(write(tmp_path, text))


def test_broken_toml_names_the_line(tmp_path):
    with pytest.raises(MappingError, match="not valid TOML") as caught:
        load_flow(write(tmp_path, GOOD.replace('link = "create"', "link = create")))
    assert caught.value.line == 5


def test_a_flow_without_fields_is_refused(tmp_path):
    with pytest.raises(MappingError, match="at least one field"):
        load_flow(write(tmp_path, GOOD.split("[fields]")[0] + "[fields]\n"))


def test_two_flows_with_one_name_are_refused(tmp_path):
    write(tmp_path, GOOD, "a.toml")
    write(tmp_path, GOOD, "b.toml")
    with pytest.raises(MappingError, match="already used") as caught:
        load_flows(tmp_path)
    assert caught.value.path.name == "b.toml"


def test_an_empty_directory_is_an_error(tmp_path):
    with pytest.raises(MappingError, match="no flow files"):
        load_flows(tmp_path)
