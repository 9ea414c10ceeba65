"""The conflict rule as a write plan: agreed, written, kept, and who wins."""

from __future__ import annotations

from streams.sync.writes import plan_write

SYNCED = {"email": "a@x.no", "last_name": "Ås"}


def plan(
    wanted,
    target_now,
    *,
    incoming_ts=200,
    target_ts=100,
    seen=None,
    seen_ts=None,
    ties=True,
    synced=SYNCED,
):
    return plan_write(
        wanted,
        target_now=target_now,
        target_now_ts_ms=target_ts,
        synced=synced,
        target_seen=seen,
        target_seen_ts_ms=seen_ts,
        incoming_ts_ms=incoming_ts,
        incoming_wins_ties=ties,
    )


def test_an_untouched_target_field_is_written():
    result = plan({"email": "b@x.no"}, {"email": "a@x.no", "last_name": "Ås"})
    assert result.write == {"email": "b@x.no"}
    assert result.conflicts == ()


def test_a_target_that_already_holds_the_value_needs_no_write():
    result = plan({"email": "b@x.no"}, {"email": "b@x.no"})
    assert result.write == {}
    assert result.agreed == {"email": "b@x.no"}


def test_both_sides_edited_the_later_incoming_change_wins():
    result = plan({"email": "b@x.no"}, {"email": "c@x.no"}, incoming_ts=300, target_ts=200)
    assert result.write == {"email": "b@x.no"}
    assert [c.winner for c in result.conflicts] == ["incoming"]


def test_both_sides_edited_the_later_target_change_is_kept():
    result = plan({"email": "b@x.no"}, {"email": "c@x.no"}, incoming_ts=100, target_ts=200)
    assert result.write == {}
    assert result.kept == {"email": "c@x.no"}
    assert [c.winner for c in result.conflicts] == ["target"]


def test_the_target_time_seen_in_its_event_is_used_when_it_holds_that_value():
    # The record was written later by someone else for another field; the email change
    # we saw in its event happened at 150, before the incoming 180.
    result = plan(
        {"email": "b@x.no"},
        {"email": "c@x.no"},
        incoming_ts=180,
        target_ts=400,
        seen={"email": "c@x.no"},
        seen_ts=150,
    )
    assert result.write == {"email": "b@x.no"}


def test_equal_times_go_to_the_side_that_wins_ties():
    assert plan(
        {"email": "b@x.no"}, {"email": "c@x.no"}, incoming_ts=5, target_ts=5, ties=True
    ).write == {"email": "b@x.no"}
    assert (
        plan({"email": "b@x.no"}, {"email": "c@x.no"}, incoming_ts=5, target_ts=5, ties=False).write
        == {}
    )


def test_with_nothing_agreed_yet_every_differing_field_is_written():
    result = plan(
        {"email": "b@x.no", "last_name": "Ås"}, {"email": "z@x.no", "last_name": "Ås"}, synced=None
    )
    assert result.write == {"email": "b@x.no"}
    assert result.agreed == {"last_name": "Ås"}


def test_two_sinks_resolving_one_concurrent_edit_converge():
    # PowerOffice Go changed email to b at 100, Chargebee to c at 200, from agreed a.
    to_chargebee = plan(
        {"email": "b@x.no"},
        {"email": "c@x.no"},
        incoming_ts=100,
        target_ts=200,
        seen={"email": "c@x.no"},
        seen_ts=200,
        ties=True,
    )
    to_poweroffice = plan(
        {"email": "c@x.no"},
        {"email": "b@x.no"},
        incoming_ts=200,
        target_ts=100,
        seen={"email": "b@x.no"},
        seen_ts=100,
        ties=False,
    )
    assert to_chargebee.write == {}
    assert to_poweroffice.write == {"email": "c@x.no"}
