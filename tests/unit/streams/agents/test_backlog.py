"""The consumer-lag arithmetic of streams.agents.backlog, without a broker."""

from streams.agents.backlog import lag_of

P0 = ("upserts.chargebee", 0)
P1 = ("upserts.chargebee", 1)


def test_lag_counts_from_what_was_processed() -> None:
    lag = lag_of([P0], ends={P0: 10}, starts={P0: 0}, committed={P0: 3}, done={P0: 6})
    assert lag == {P0: 3}  # offsets 7, 8 and 9 wait


def test_committed_offset_counts_before_anything_is_processed_after_a_restart() -> None:
    lag = lag_of([P0], ends={P0: 10}, starts={P0: 0}, committed={P0: 8}, done={})
    assert lag == {P0: 2}


def test_records_deleted_by_retention_are_not_waiting() -> None:
    lag = lag_of([P0, P1], ends={P0: 10, P1: 5}, starts={P0: 9, P1: 0}, committed={}, done={})
    assert lag == {P0: 1, P1: 5}


def test_lag_is_never_negative() -> None:
    lag = lag_of([P0], ends={P0: 4}, starts={P0: 0}, committed={P0: 4}, done={P0: 9})
    assert lag == {P0: 0}
