"""What a sink's write means for the link: merge_observed and counter_upsert."""

from __future__ import annotations

from dataclasses import replace

import pytest

from streams.sync.link_merge import Observed, conflict_id, counter_upsert, merge_observed
from streams.sync.links import Link, LinkState, SideState
from streams.sync.messages import Upsert
from streams.sync.writes import FieldConflict, WritePlan

CONN = "acme"
AGREED = {"email": "ase@fjord.no", "first_name": "Åse", "last_name": "Bjørnstad"}

LEFT = SideState(
    "poweroffice",
    "ContactPerson",
    "7",
    version=100,
    ts_ms=10_000,
    values=dict(AGREED),
    extra={"ContactId": 12},
)
RIGHT = SideState("chargebee", "customer", "cus_7", version=500, ts_ms=50_000, values=dict(AGREED))


def link(
    state: LinkState = LinkState.LINKED,
    *,
    synced: dict[str, str] | None = None,
    left: SideState = LEFT,
    right: SideState | None = RIGHT,
) -> Link:
    return Link(
        connection=CONN,
        flow="contact_person",
        state=state,
        left=left,
        right=right,
        synced=dict(AGREED) if synced is None else synced,
        updated_ms=1,
    )


def observed(version: int, **values: str) -> Observed:
    return Observed(version=version, ts_ms=version * 10, values={**AGREED, **values})


# -- merge_observed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("known", "seen", "expected"),
    [
        pytest.param(500, 600, 600, id="newer-moves-forward"),
        pytest.param(500, 500, 500, id="same-stays"),
        pytest.param(500, 400, 500, id="older-does-not-roll-back"),
        pytest.param(None, 400, 400, id="first-version-is-taken"),
    ],
)
def test_a_sides_version_only_moves_forward(known, seen, expected):
    before = link(right=replace(RIGHT, version=known))
    merged = merge_observed(before, WritePlan(), observed(seen), right_side=True, now_ms=9)
    assert merged is not None
    assert merged.right is not None
    assert merged.right.version == expected


def test_an_older_observation_keeps_the_sides_values_and_time():
    merged = merge_observed(
        link(), WritePlan(), observed(400, email="old@fjord.no"), right_side=True, now_ms=9
    )
    assert merged is not None
    assert merged.right == RIGHT


def test_a_newer_observation_replaces_the_sides_values_and_time():
    merged = merge_observed(
        link(), WritePlan(), observed(600, email="ny@fjord.no"), right_side=True, now_ms=9
    )
    assert merged is not None
    assert merged.right == replace(
        RIGHT, version=600, ts_ms=6_000, values={**AGREED, "email": "ny@fjord.no"}
    )


@pytest.mark.parametrize(
    ("right_side", "changed", "unchanged"),
    [
        pytest.param(True, "right", "left", id="chargebee-side"),
        pytest.param(False, "left", "right", id="poweroffice-side"),
    ],
)
def test_only_the_observed_side_changes(right_side, changed, unchanged):
    before = link(left=replace(LEFT, version=1), right=replace(RIGHT, version=1))
    merged = merge_observed(before, WritePlan(), observed(900), right_side=right_side, now_ms=9)
    assert merged is not None
    assert getattr(merged, changed).version == 900
    assert getattr(merged, unchanged) == getattr(before, unchanged)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        pytest.param(LinkState.CREATING, LinkState.LINKED, id="creating-becomes-linked"),
        pytest.param(LinkState.LINKED, LinkState.LINKED, id="linked-stays-linked"),
        pytest.param(LinkState.UNLINKED, LinkState.UNLINKED, id="unlinked-stays-unlinked"),
    ],
)
def test_the_link_state_after_a_write(state, expected):
    merged = merge_observed(link(state), WritePlan(), observed(600), right_side=True, now_ms=9)
    assert merged is not None
    assert merged.state is expected


def test_the_merged_link_is_stamped_with_now():
    merged = merge_observed(link(), WritePlan(), observed(600), right_side=True, now_ms=4242)
    assert merged is not None
    assert merged.updated_ms == 4242


def test_the_agreed_values_gain_what_was_written_and_what_already_agreed():
    plan = WritePlan(write={"email": "ny@fjord.no"}, agreed={"last_name": "Ås"})
    before = link(synced={"email": "old@fjord.no", "first_name": "Åse", "last_name": "B"})
    merged = merge_observed(before, plan, observed(600), right_side=True, now_ms=9)
    assert merged is not None
    assert merged.synced == {"email": "ny@fjord.no", "first_name": "Åse", "last_name": "Ås"}


def test_a_later_sync_does_not_agree_on_values_only_because_they_match():
    plan = WritePlan(write={"email": "ny@fjord.no"})
    before = link(synced={"email": "old@fjord.no"})
    merged = merge_observed(before, plan, observed(600), right_side=True, now_ms=9)
    assert merged is not None
    assert merged.synced == {"email": "ny@fjord.no"}


@pytest.mark.parametrize(
    "right_side",
    [
        pytest.param(True, id="observed-on-chargebee"),
        pytest.param(False, id="observed-on-poweroffice"),
    ],
)
def test_the_first_sync_agrees_on_values_equal_to_the_other_side(right_side):
    other_side = LEFT if right_side else RIGHT
    kari = {**AGREED, "first_name": "Kari"}
    before = replace(link(), synced=None).with_side(replace(other_side, values=kari))
    seen = observed(900, email="ny@fjord.no")  # differs in email and first_name
    merged = merge_observed(before, WritePlan(), seen, right_side=right_side, now_ms=9)
    assert merged is not None
    assert merged.synced == {"last_name": "Bjørnstad"}


def test_the_first_sync_agrees_on_nothing_more_when_the_other_side_has_no_values():
    before = link(LinkState.CREATING, right=replace(RIGHT, values=None, version=None))
    before = replace(before, synced=None, left=replace(LEFT, values=None))
    plan = WritePlan(write={"email": "ase@fjord.no"})
    merged = merge_observed(before, plan, observed(900), right_side=True, now_ms=9)
    assert merged is not None
    assert merged.synced == {"email": "ase@fjord.no"}


def test_there_is_no_merge_when_the_observed_side_is_unknown():
    assert merge_observed(
        link(right=None), WritePlan(), observed(1), right_side=True, now_ms=9
    ) is (None)


# -- counter_upsert ----------------------------------------------------------------------------


def upsert(target: str) -> Upsert:
    if target == "chargebee":
        return Upsert(
            connection=CONN,
            flow="contact_person",
            left_key=LEFT.key,
            target="chargebee",
            entity="customer",
            record_id="cus_7",
            fields={"email": "po@fjord.no"},
            source_ts_ms=1_100_000,
            source_event_id="ev-9",
        )
    return Upsert(
        connection=CONN,
        flow="contact_person",
        left_key=LEFT.key,
        target="poweroffice",
        entity="ContactPerson",
        record_id="7",
        fields={"email": "cb@fjord.no"},
        source_ts_ms=1_100_000,
        source_event_id="ev-9",
        extra={"ContactId": 12},
    )


def conflict(name: str, winner: str, target_ts_ms: int) -> FieldConflict:
    return FieldConflict(
        field=name,
        incoming="incoming",
        target="target",
        incoming_ts_ms=1_100_000,
        target_ts_ms=target_ts_ms,
        winner=winner,
    )


@pytest.mark.parametrize("target", ["chargebee", "poweroffice"])
@pytest.mark.parametrize(
    "plan",
    [
        pytest.param(WritePlan(), id="nothing-to-do"),
        pytest.param(WritePlan(write={"email": "po@fjord.no"}), id="written"),
        pytest.param(
            WritePlan(
                write={"email": "po@fjord.no"},
                conflicts=(conflict("email", "incoming", 1_000_000),),
            ),
            id="incoming-won-the-conflict",
        ),
    ],
)
def test_no_counter_upsert_when_the_target_kept_nothing(target, plan):
    assert counter_upsert(upsert(target), plan, link()) is None


KEPT_PLAN = WritePlan(
    kept={"email": "cb@fjord.no", "last_name": "Ås"},
    write={"first_name": "Kari"},
    conflicts=(
        conflict("email", "target", 1_200_000),
        conflict("last_name", "target", 1_300_000),
        conflict("first_name", "incoming", 1_000_000),
    ),
)


def test_a_kept_chargebee_value_is_sent_to_poweroffice():
    assert counter_upsert(upsert("chargebee"), KEPT_PLAN, link()) == Upsert(
        connection=CONN,
        flow="contact_person",
        left_key="poweroffice:ContactPerson:7",
        target="poweroffice",
        entity="ContactPerson",
        record_id="7",
        fields={"email": "cb@fjord.no", "last_name": "Ås"},
        source_ts_ms=1_300_000,
        source_event_id="ev-9-kept",
        extra={"ContactId": 12},
    )


def test_a_kept_poweroffice_value_is_sent_to_chargebee():
    assert counter_upsert(upsert("poweroffice"), KEPT_PLAN, link()) == Upsert(
        connection=CONN,
        flow="contact_person",
        left_key="poweroffice:ContactPerson:7",
        target="chargebee",
        entity="customer",
        record_id="cus_7",
        fields={"email": "cb@fjord.no", "last_name": "Ås"},
        source_ts_ms=1_300_000,
        source_event_id="ev-9-kept",
    )


def test_the_counter_upsert_carries_the_time_of_the_latest_kept_conflict_only():
    plan = WritePlan(
        kept={"email": "cb@fjord.no"},
        conflicts=(conflict("email", "target", 1_200_000), conflict("x", "incoming", 9_999_999)),
    )
    counter = counter_upsert(upsert("chargebee"), plan, link())
    assert counter is not None
    assert counter.source_ts_ms == 1_200_000


def test_no_counter_upsert_to_chargebee_without_a_chargebee_partner():
    assert counter_upsert(upsert("poweroffice"), KEPT_PLAN, link(right=None)) is None


def test_the_same_two_edits_give_one_conflict_id_from_either_direction():
    to_chargebee = conflict_id("poweroffice:Employee:7", "last_name", 1_000, 2_000)
    to_poweroffice = conflict_id("poweroffice:Employee:7", "last_name", 2_000, 1_000)
    assert to_chargebee == to_poweroffice == "poweroffice:Employee:7:last_name:1000:2000"


def test_different_edits_or_fields_give_different_conflict_ids():
    ids = {
        conflict_id("poweroffice:Employee:7", "last_name", 1_000, 2_000),
        conflict_id("poweroffice:Employee:7", "last_name", 1_000, 3_000),
        conflict_id("poweroffice:Employee:7", "first_name", 1_000, 2_000),
        conflict_id("poweroffice:Employee:8", "last_name", 1_000, 2_000),
    }
    assert len(ids) == 4
