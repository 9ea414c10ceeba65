"""The worker's live counts of its link and report tables, kept in step with Faust.

`TableTallies` owns the two `Tally`s of `streams.sync.counts` and the `CountedMapping`s
through which the agents write the tables, and follows the app's rebalances: the counts
stop being trusted when partitions are revoked or assigned (recovery then writes into
the stores behind our back) and are rebuilt from the tables — once, O(entries) — by the
first read after the rebalance is over (`app.rebalancing` is false again only once the
recovery of that rebalance's generation has completed; a recovery overtaken by a newer
rebalance leaves it set).

While a rebalance is under way, reads get the counts as they were before it and
`settled()` is false (the status then says `recovering` and never `converged`). They do
not scan the table instead: a scan of a million links blocks the event loop for seconds,
and repeated while recovery runs it starves the recovery itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, MutableMapping
from typing import Any

import faust

from streams.sync.counts import (
    LINK_KINDS,
    REPORT_KINDS,
    Bucket,
    CountedMapping,
    Tally,
    link_buckets,
    report_buckets,
)
from streams.sync.messages import ActionItem
from streams.sync.reports import ReportBook

__all__ = ["TableTallies"]

log = logging.getLogger(__name__)


class TableTallies:
    def __init__(self, links: MutableMapping[str, Any], reports: MutableMapping[str, Any]) -> None:
        """``links``, ``reports``: the Faust tables (or any mappings, in tests)."""
        self._links_table = links
        self._reports_table = reports
        self.link_tally = Tally(link_buckets, kinds=LINK_KINDS)
        self.report_tally = Tally(report_buckets, kinds=REPORT_KINDS)
        #: Write the tables through these, so every write adjusts the counts.
        self.links: MutableMapping[str, Any] = CountedMapping(links, self.link_tally)
        self.reports: MutableMapping[str, Any] = CountedMapping(reports, self.report_tally)
        self._app: faust.App | None = None

    def follow(self, app: faust.App) -> None:
        """Invalidate on every rebalance; rebuild on the first read after it."""
        self._app = app

        async def invalidate(*_: Any, **__: Any) -> None:
            self.invalidate()

        app.on_partitions_revoked.connect(invalidate)
        app.on_partitions_assigned.connect(invalidate)

    def invalidate(self) -> None:
        self.link_tally.invalidate()
        self.report_tally.invalidate()

    def rebuild(self) -> None:
        """Count both tables afresh (O(entries), once per rebalance)."""
        started = time.monotonic()
        self.link_tally.rebuild(self._links_table.items())
        self.report_tally.rebuild(self._reports_table.items())
        log.info("counted the link and report tables in %.2f s", time.monotonic() - started)

    def settled(self) -> bool:
        """True when the counts can be trusted, rebuilding them first if they can be now."""
        valid = self.link_tally.valid and self.report_tally.valid
        if not valid and not (self._app is not None and self._app.rebalancing):
            self.rebuild()
            valid = True
        return valid

    def links_of(self, connection: str) -> Mapping[Bucket, int]:
        self.settled()
        return self.link_tally.of(connection)

    def reports_of(self, connection: str) -> Mapping[Bucket, int]:
        self.settled()
        return self.report_tally.of(connection)

    def open_actions(self, connection: str, reports: Mapping[Bucket, int]) -> list[ActionItem]:
        """The open action items ``reports`` (from `reports_of`) names, read one by one."""
        book = ReportBook(self._reports_table)
        found = (book.action(connection, b[1]) for b in reports if b[0] == "open-action")
        return [item for item in found if item is not None]

    def creating(self) -> int | None:
        """Links being created, over every connection this worker holds; None while the
        counts are not valid."""
        return self.link_tally.total(("creating",)) if self.settled() else None
