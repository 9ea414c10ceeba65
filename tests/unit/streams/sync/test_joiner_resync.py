"""A resync (a record re-read as it is now) is compared with the link even when its
version is known: drift behind our back is restored, dead letters are tried again, and a
record that agrees with its link sends nothing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from streams.sync.joiner import ECHO, drifted
from streams.sync.links import LinkState

from .test_joiner import CONN, World, cb_event, confirm, employee, po_event

LEFT = "poweroffice:Employee:7"


@pytest.fixture
def world() -> World:
    return World()


def linked(world: World) -> str:
    """Employee 7 linked to its customer at right version 500; returns the customer id."""
    [create] = world.join(employee()).upserts
    confirm(world, LEFT, right_version=500)
    return str(create.record_id)


def customer(cid: str, version: int = 500, **changes: str):
    fields: dict[str, Any] = {
        "first_name": "Åse",
        "last_name": "Bjørnstad",
        "email": "ase@fjord.no",
    }
    fields.update(changes)
    return cb_event("customer", cid, version, **fields)


def test_a_known_customer_version_with_other_names_is_dropped_without_resync(world):
    cid = linked(world)
    assert world.join(customer(cid, first_name="Bente")).dropped == ECHO


def test_a_resync_restores_a_customer_changed_behind_our_back(world):
    cid = linked(world)
    result = world.joiner.join(customer(cid, first_name="Bente", last_name="Ny"), resync=True)
    [upsert] = result.upserts
    assert upsert.target == "chargebee"
    assert upsert.record_id == cid
    assert upsert.fields == {"first_name": "Åse", "last_name": "Bjørnstad"}
    assert not upsert.create
    assert upsert.source_ts_ms == 1000  # stamped now: later than the drifted record's time


def test_a_resync_of_a_customer_that_agrees_sends_nothing(world):
    cid = linked(world)
    result = world.joiner.join(customer(cid), resync=True)
    assert result.upserts == []
    assert result.dead_letters == []


def test_a_resync_restores_a_poweroffice_record_changed_behind_our_back(world):
    linked(world)
    result = world.joiner.join(employee(LastName="Restored"), resync=True)
    [upsert] = result.upserts
    assert upsert.target == "poweroffice"
    assert upsert.record_id == "7"
    assert upsert.fields == {"last_name": "Bjørnstad"}


def test_a_resync_of_a_poweroffice_record_that_agrees_sends_nothing(world):
    linked(world)
    assert world.joiner.join(employee(), resync=True).upserts == []


def test_a_resync_never_moves_a_known_version_back(world):
    cid = linked(world)
    world.joiner.join(customer(cid, version=400), resync=True)
    link = world.links.get(CONN, LEFT)
    assert link is not None
    assert link.right is not None
    assert link.right.version == 500


def test_a_newer_version_in_a_resync_is_an_ordinary_edit(world):
    cid = linked(world)
    result = world.joiner.join(customer(cid, version=600, first_name="Bente"), resync=True)
    [upsert] = result.upserts
    assert upsert.target == "poweroffice"
    assert upsert.fields == {"first_name": "Bente"}


def test_a_resync_sends_again_a_change_not_yet_carried_over(world):
    linked(world)
    world.join(employee(version=20_000_000, FirstName="Kari"))  # its write failed later
    result = world.joiner.join(employee(version=20_000_000, FirstName="Kari"), resync=True)
    [upsert] = result.upserts
    assert upsert.target == "chargebee"
    assert upsert.fields == {"first_name": "Kari"}


def test_a_dead_letter_is_applied_by_a_resync_once_its_values_fit(world):
    long_mail = "x" * 71 + "@fjord.no"
    assert world.join(employee(EmailAddress=long_mail)).dead_letters
    fixed = employee(EmailAddress="ase@fjord.no")  # fixed behind our back: same version
    assert world.join(fixed).upserts == []
    assert len(world.reports.entries(CONN, "dead-letter")) == 1
    [create] = world.joiner.join(fixed, resync=True).upserts
    assert create.create
    assert world.links.get(CONN, LEFT).state is LinkState.CREATING
    assert world.reports.entries(CONN, "dead-letter") == []  # no longer counted as open


def test_a_dead_letter_still_invalid_is_dead_lettered_again_by_a_resync(world):
    long_mail = "x" * 71 + "@fjord.no"
    world.join(employee(EmailAddress=long_mail))
    result = world.joiner.join(employee(EmailAddress=long_mail), resync=True)
    assert result.upserts == []
    assert len(result.dead_letters) == 1
    assert world.links.get(CONN, LEFT).state is LinkState.DEAD_LETTER
    assert len(world.reports.entries(CONN, "dead-letter")) == 1  # the same letter, not two


def test_drift_counts_only_fields_last_seen_in_agreement():
    agreed = {"first_name": "Åse", "last_name": "Bjørnstad"}
    seen = {"first_name": "Åse", "last_name": "Pending"}  # its own edit, on its way
    now = {"first_name": "Bente", "last_name": "Other"}
    assert drifted(seen, now, agreed) == {"first_name": "Åse"}
    assert drifted(None, now, agreed) == {}
    assert drifted(seen, now, None) == {}


def test_a_business_entity_that_drifted_is_not_written_to_chargebee(world):
    world.join(cb_event("business_entity", "be-1", 5, name="Fjord AS"))
    world.join(po_event("Department", 3, 10, Name="Fjord AS"))
    link = world.links.get(CONN, "poweroffice:Department:3")
    assert link is not None
    assert link.state is LinkState.LINKED
    world.links.put(replace(link, right=replace(link.right, version=5)))
    result = world.joiner.join(cb_event("business_entity", "be-1", 5, name="Other"), resync=True)
    assert result.upserts == []
