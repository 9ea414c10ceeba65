"""Recovery by replay: the work behind `ledgerlink dlq`, `replay` and `resync`.

Each command re-drives change events through the running worker's join instead of
writing to an API itself: it publishes them on `changes.replay` (`streams.sync.replays`),
the join applies its usual rules (versions, echoes, agreed values), and the command
follows what the join made of them to print its summary.

    timespec      TIME of `replay --since`: ISO-8601 or a duration (pure)
    summary       the closing line: read, re-driven, written, unchanged (pure)
    deadletters   reading the `deadletters` topic; ids a person can pass back
    redrive       publishing on `changes.replay` and following the join's answers
    rereading     a record as its system holds it now, as a change event
    replay        `replay --since`: `changes` from a point in time, again
    resync        both systems listed from the start, compared with the links
"""

from __future__ import annotations

from connectors.exceptions import LedgerlinkError

__all__ = ["RecoveryError"]


class RecoveryError(LedgerlinkError):
    """A recovery command cannot run as asked (bad input, Kafka unreachable)."""
