"""Chargebee form encoding and its inverse, as a table."""

from __future__ import annotations

import pytest

from connectors.chargebee.forms import (
    FormError,
    decode_form,
    encode_form,
    filter_param,
    parse_list_value,
)


@pytest.mark.parametrize(
    ("fields", "pairs"),
    [
        ({"first_name": "Kari"}, [("first_name", "Kari")]),
        ({"billing_address": {"city": "Oslo"}}, [("billing_address[city]", "Oslo")]),
        ({"ids": ["a", "b"]}, [("ids[0]", "a"), ("ids[1]", "b")]),
        ({"vip": True, "blocked": False}, [("vip", "true"), ("blocked", "false")]),
        ({"net_term_days": 30}, [("net_term_days", "30")]),
        ({"phone": None}, [("phone", "")]),
        (
            {"items": [{"id": "x", "qty": 2}, {"id": "y", "qty": 1}]},
            [
                ("items[id][0]", "x"),
                ("items[qty][0]", "2"),
                ("items[id][1]", "y"),
                ("items[qty][1]", "1"),
            ],
        ),
        ({"meta_data": {"source": "pog"}}, [("meta_data", '{"source":"pog"}')]),
        ({"a": {"b": {"c": "deep"}}}, [("a[b][c]", "deep")]),
    ],
)
def test_encode_form_flattens_nested_and_indexed_keys(fields, pairs):
    assert encode_form(fields) == pairs


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "pair"),
    [
        ("updated_at", "after", 1700000000, ("updated_at[after]", "1700000000")),
        ("email", "is", "kari@example.no", ("email[is]", "kari@example.no")),
        ("id", "in", ["a", "b"], ("id[in]", '["a","b"]')),
        (
            "updated_at",
            "between",
            [1700000000, 1700003600],
            ("updated_at[between]", "[1700000000,1700003600]"),
        ),
        ("include", "is_present", True, ("include[is_present]", "true")),
    ],
)
def test_filter_param_encodes_operators(attribute, operator, value, pair):
    assert filter_param(attribute, operator, value) == pair


def test_filter_param_refuses_a_between_without_two_values():
    with pytest.raises(ValueError, match="two"):
        filter_param("updated_at", "between", [1])


def test_filter_param_refuses_a_string_for_a_list_operator():
    with pytest.raises(TypeError):
        filter_param("id", "in", "abc")


@pytest.mark.parametrize(
    "fields",
    [
        {"first_name": "Kari", "billing_address": {"city": "Oslo", "zip": "0150"}},
        {"ids": ["a", "b", "c"]},
    ],
)
def test_decode_form_inverts_encode_form(fields):
    assert decode_form(encode_form(fields)) == fields


def test_decode_form_reads_arrays_of_objects_column_wise_as_chargebee_sends_them():
    pairs = encode_form({"items": [{"id": "x", "qty": "2"}, {"id": "y", "qty": "1"}]})
    assert decode_form(pairs) == {"items": {"id": ["x", "y"], "qty": ["2", "1"]}}


def test_decode_form_reads_filters_as_nested_operators():
    decoded = decode_form([("updated_at[after]", "5"), ("sort_by[asc]", "updated_at")])
    assert decoded == {"updated_at": {"after": "5"}, "sort_by": {"asc": "updated_at"}}


def test_decode_form_orders_indexes_numerically():
    pairs = [(f"ids[{i}]", str(i)) for i in (10, 2, 1, 0)]
    assert decode_form(pairs) == {"ids": ["0", "1", "2", "10"]}


def test_decode_form_refuses_a_key_given_twice():
    with pytest.raises(FormError):
        decode_form([("email", "a@x.no"), ("email", "b@x.no")])


def test_decode_form_refuses_a_malformed_key():
    with pytest.raises(FormError):
        decode_form([("billing_address[city", "Oslo")])


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ('["a","b"]', ["a", "b"]),
        ("[1700000000, 1700003600]", ["1700000000", "1700003600"]),
        ("['a', 'b']", ["a", "b"]),  # what the official Python SDK sends
    ],
)
def test_parse_list_value_reads_json_and_sdk_arrays(text, values):
    assert parse_list_value(text, param="id[in]") == values


@pytest.mark.parametrize("text", ["a,b", '{"a": 1}', "[[1]]"])
def test_parse_list_value_refuses_what_is_not_a_flat_array(text):
    with pytest.raises(FormError):
        parse_list_value(text, param="id[in]")
