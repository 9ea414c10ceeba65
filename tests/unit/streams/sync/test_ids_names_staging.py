"""Deterministic ids, name normalisation and the staged write buffer."""

from __future__ import annotations

import pytest

from streams.sync.ids import chargebee_customer_id, create_idempotency_key
from streams.sync.names import normalise_name
from streams.sync.staging import StagedMapping


def test_customer_ids_are_stable_and_carry_the_entity_type():
    first = chargebee_customer_id("acme", "Employee", "10042")
    assert first == chargebee_customer_id("acme", "Employee", "10042")
    assert first != chargebee_customer_id("acme", "Customer", "10042")
    assert first != chargebee_customer_id("other", "Employee", "10042")
    assert first.endswith("-emp-10042")


def test_customer_ids_fit_chargebee_for_the_largest_int64():
    assert len(chargebee_customer_id("acme", "ContactPerson", str(2**63 - 1))) <= 50


def test_customer_ids_refuse_non_numeric_and_unknown_entities():
    with pytest.raises(ValueError, match="integers"):
        chargebee_customer_id("acme", "Employee", "7; drop")
    with pytest.raises(ValueError, match="Invoice"):
        chargebee_customer_id("acme", "Invoice", "7")


def test_idempotency_keys_follow_the_values_and_fit_the_limit():
    key = create_idempotency_key("ll-1-emp-7", {"email": "a@b.no"})
    assert key == create_idempotency_key("ll-1-emp-7", {"email": "a@b.no"})
    assert key != create_idempotency_key("ll-1-emp-7", {"email": "c@b.no"})
    assert len(key) <= 100


@pytest.mark.parametrize(
    ("a", "b"),
    [("Fjordkraft AS", "fjordkraft as"), ("Salg  Sør", " salg sør "), ("ÅS AS", "ås as")],
)
def test_names_that_differ_in_case_or_spacing_match(a, b):
    assert normalise_name(a) == normalise_name(b)


def test_different_names_do_not_match():
    assert normalise_name("Salg Sør") != normalise_name("Salg Nord")


def test_staged_writes_are_visible_before_and_applied_on_commit():
    base = {"a": 1, "b": 2}
    staged = StagedMapping(base)
    staged["a"] = 10
    del staged["b"]
    staged["c"] = 3
    assert dict(staged) == {"a": 10, "c": 3}
    assert base == {"a": 1, "b": 2}
    staged.commit()
    assert base == {"a": 10, "c": 3}


def test_dropping_a_staged_mapping_leaves_the_base_alone():
    base = {"a": 1}
    staged = StagedMapping(base)
    staged["a"] = 2
    assert base == {"a": 1}


def test_a_stage_over_a_stage_applies_its_writes_to_the_table_it_is_given():
    table = {"a": 1, "b": 2}
    first = StagedMapping(table)
    first["a"] = 10
    second = StagedMapping(first)
    del second["b"]
    second["c"] = second["a"] + 1  # reads the first stage's write
    first.apply(table)
    second.apply(table)
    assert table == {"a": 10, "c": 11}
    assert dict(second) == {"a": 10, "c": 11}  # still buffered after apply
