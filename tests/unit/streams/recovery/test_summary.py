"""The closing line of a recovery command: the join's answers counted by event id."""

from __future__ import annotations

from streams.recovery.summary import Summary


def upsert(event_id: str) -> dict[str, str]:
    return {"source_event_id": event_id}


def test_answers_are_matched_to_what_was_published():
    summary = Summary.count(
        read=5,
        published=["a", "b", "c", "d"],
        upserts=[upsert("a"), upsert("a"), upsert("zz")],  # zz: someone else's event
        dead_letters=[{"event": {"event_id": "b"}}, {"event": {"upsert": upsert("c")}}],
        joined=True,
    )
    assert summary == Summary(read=5, redriven=4, written=1, unchanged=1, dead_lettered=2)


def test_an_event_published_twice_counts_once():
    summary = Summary.count(read=2, published=["a", "a"], upserts=[], dead_letters=[], joined=True)
    assert (summary.redriven, summary.unchanged) == (1, 1)


def test_what_the_join_has_not_read_is_pending_not_unchanged():
    summary = Summary.count(
        read=3, published=["a", "b", "c"], upserts=[upsert("a")], dead_letters=[], joined=False
    )
    assert (summary.written, summary.unchanged, summary.pending) == (1, 0, 2)
    assert "not yet joined 2" in summary.line()


def test_the_line_names_the_four_figures_and_the_extras_only_when_nonzero():
    assert Summary(read=7, redriven=6, written=1, unchanged=5).line() == (
        "read 7, re-driven 6, written 1, unchanged 5"
    )
    line = Summary(read=3, redriven=2, written=0, unchanged=1, dead_lettered=1, skipped=1).line()
    assert line == "read 3, re-driven 2, written 0, unchanged 1, dead-lettered again 1, skipped 1"
