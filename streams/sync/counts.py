"""Counts of what the link and report tables hold, per connection, kept as entries change.

`/ledgerlink/status` and the metrics used to count links and reports by reading every
entry of the tables on each call: O(links), seconds at a million links. A `Tally` keeps
those counts instead, so a status answer costs O(connections):

- it is **rebuilt** from the table's entries once the table is complete (after recovery
  from the changelog, i.e. after every partition assignment: Faust writes recovered
  entries straight into the store, where no hook sees them);
- it is **adjusted** on each write through a `CountedMapping`, which reads the entry's
  old value and applies the difference between what the old and the new value count for.

Until the first rebuild (and again from a rebalance until its recovery completed) the
tally is not `valid` and ignores writes: the next rebuild counts them. Counting by
(old, new) pairs rather than by increments makes a replayed write a no-op: rewriting an
entry with the value it has changes nothing.

What an entry counts for is a pure function of its key and value (`link_buckets`,
`report_buckets`), so the same function serves the rebuild and the adjustments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

__all__ = [
    "LINK_GROUPS",
    "LINK_KINDS",
    "REPORT_KINDS",
    "Bucket",
    "CountedMapping",
    "Tally",
    "link_buckets",
    "link_group",
    "report_buckets",
]

#: The key kinds `link_buckets` and `report_buckets` count (`Tally`'s ``kinds``).
LINK_KINDS = ("link",)
REPORT_KINDS = ("dead-letter", "conflict", "action")

#: What a count is of, within one connection: ("flow", flow, group), ("creating",), …
Bucket = tuple[str, ...]
#: An entry's (key, value) → the (connection, bucket) pairs it counts for.
Classify = Callable[[str, Any], Iterable[tuple[str, Bucket]]]

#: The groups of link states the status shows per flow.
LINK_GROUPS = ("linked", "pending", "dead_letter", "unlinked")

_GROUP_OF_STATE = {"linked": "linked", "dead_letter": "dead_letter", "unlinked": "unlinked"}


def _split(key: str) -> tuple[str, str]:
    """A table key ``connection|kind|name`` → (connection, kind)."""
    parts = key.split("|", 2)
    return (parts[0], parts[1]) if len(parts) == 3 else ("", "")


def link_group(state: str) -> str:
    """The status group of a link state: the states on their way (creating, awaiting an
    entity) are `pending`."""
    return _GROUP_OF_STATE.get(state, "pending")


def link_buckets(key: str, value: Any) -> Iterator[tuple[str, Bucket]]:
    """A link entry counts once in its flow's state group; a `creating` one also counts
    as creating (the status is not converged while any is)."""
    connection, kind = _split(key)
    if kind not in LINK_KINDS or not isinstance(value, Mapping):
        return
    state = str(value.get("state", ""))
    yield connection, ("flow", str(value.get("flow", "")), link_group(state))
    if state == "creating":
        yield connection, ("creating",)


def report_buckets(key: str, value: Any) -> Iterator[tuple[str, Bucket]]:
    """Dead letters and conflicts count by kind; an action item counts as open or
    resolved, and an open one also under its own id (the status lists the open ones)."""
    connection, kind = _split(key)
    if value is None or kind not in REPORT_KINDS:
        return
    if kind != "action":
        yield connection, (kind,)
        return
    if isinstance(value, Mapping) and value.get("resolved"):
        yield connection, ("action", "resolved")
    else:
        yield connection, ("action", "open")
        yield connection, ("open-action", key.split("|", 2)[2])


class Tally:
    """Per-connection counts of the entries of one table, by bucket."""

    def __init__(self, classify: Classify, *, kinds: Iterable[str]) -> None:
        """``kinds``: the key kinds ``classify`` counts; writes of other keys are not
        looked at (no read of their old value)."""
        self._classify = classify
        self.kinds = frozenset(kinds)
        self._counts: dict[str, Counter[Bucket]] = {}
        self.valid = False

    def counts(self, key: str) -> bool:
        return _split(key)[1] in self.kinds

    def invalidate(self) -> None:
        """The table is changing under us (a rebalance, a recovery): stop trusting the
        counts until the next `rebuild`."""
        self.valid = False

    def rebuild(self, items: Iterable[tuple[Any, Any]]) -> None:
        """Count every entry afresh. Synchronous: no write can interleave with it."""
        counts: dict[str, Counter[Bucket]] = {}
        for key, value in items:
            for connection, bucket in self._classify(str(key), value):
                counts.setdefault(connection, Counter())[bucket] += 1
        self._counts = counts
        self.valid = True

    def changed(self, key: str, old: Any, new: Any) -> None:
        """The entry ``key`` went from ``old`` to ``new`` (None: absent)."""
        if not self.valid:
            return  # the next rebuild counts it
        for connection, bucket in self._classify(key, old):
            self._add(connection, bucket, -1)
        for connection, bucket in self._classify(key, new):
            self._add(connection, bucket, 1)

    def _add(self, connection: str, bucket: Bucket, delta: int) -> None:
        counter = self._counts.setdefault(connection, Counter())
        counter[bucket] += delta
        if counter[bucket] == 0:
            del counter[bucket]

    def of(self, connection: str) -> Mapping[Bucket, int]:
        """The counts of one connection (empty when it has nothing)."""
        return self._counts.get(connection, Counter())

    def total(self, bucket: Bucket) -> int:
        """The count of ``bucket`` over every connection."""
        return sum(counter.get(bucket, 0) for counter in self._counts.values())


class CountedMapping(MutableMapping[str, Any]):
    """A table seen through its tallies: every write and delete adjusts them."""

    def __init__(self, base: MutableMapping[str, Any], *tallies: Tally) -> None:
        self._base = base
        self._tallies = tallies

    def _watching(self, key: str) -> list[Tally]:
        return [tally for tally in self._tallies if tally.valid and tally.counts(key)]

    def __getitem__(self, key: str) -> Any:
        return self._base[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._base.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._base

    def __setitem__(self, key: str, value: Any) -> None:
        watching = self._watching(key)
        old = self._base.get(key) if watching else None
        self._base[key] = value
        for tally in watching:
            tally.changed(key, old, value)

    def __delitem__(self, key: str) -> None:
        watching = self._watching(key)
        old = self._base.get(key) if watching else None
        del self._base[key]
        for tally in watching:
            tally.changed(key, old, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)

    def items(self) -> Any:
        return self._base.items()
