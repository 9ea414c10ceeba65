"""The worker's tallies follow the app's rebalances and fall back to a scan meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.sync.links import Link, LinkState, LinkTable, SideState
from streams.sync.messages import ActionItem
from streams.sync.reports import ReportBook
from streams.table_counts import TableTallies


def link(rid: int, state: LinkState, connection: str = "c") -> Link:
    return Link(
        connection=connection,
        flow="employee",
        state=state,
        left=SideState("poweroffice", "Employee", str(rid)),
    )


class FakeSignal:
    def __init__(self) -> None:
        self.receivers: list[Callable[..., Any]] = []

    def connect(self, fun: Callable[..., Any]) -> None:
        self.receivers.append(fun)

    async def send(self, *args: Any) -> None:
        for fun in self.receivers:
            await fun(self, *args)


class FakeApp:
    def __init__(self) -> None:
        self.rebalancing = False
        self.on_partitions_revoked = FakeSignal()
        self.on_partitions_assigned = FakeSignal()


async def test_counts_are_distrusted_during_a_rebalance_and_rebuilt_once_it_is_over():
    links_table: dict[str, Any] = {}
    tallies = TableTallies(links_table, {})
    app = FakeApp()
    tallies.follow(app)  # type: ignore[arg-type]
    LinkTable(links_table).put(link(1, LinkState.LINKED))  # recovered before we counted
    assert tallies.links_of("c") == {("flow", "employee", "linked"): 1}
    assert tallies.link_tally.valid

    app.rebalancing = True
    await app.on_partitions_revoked.send(set())
    await app.on_partitions_assigned.send(set())
    LinkTable(links_table).put(link(2, LinkState.CREATING))  # recovery, behind our back
    # meanwhile reads get the counts from before the rebalance, marked unsettled, and
    # never scan the table (that would starve the recovery)
    assert not tallies.settled()
    assert tallies.creating() is None
    assert tallies.links_of("c") == {("flow", "employee", "linked"): 1}

    app.rebalancing = False  # the recovery of the current generation completed
    assert tallies.creating() == 1
    assert tallies.link_tally.valid


def test_writes_through_the_tallies_keep_the_counts_of_each_connection():
    tallies = TableTallies({}, {})
    tallies.rebuild()
    table = LinkTable(tallies.links)
    table.put(link(1, LinkState.CREATING, "acme"))
    table.put(link(1, LinkState.LINKED, "acme"))
    table.put(link(1, LinkState.DEAD_LETTER, "fjord"))
    assert tallies.links_of("acme") == {("flow", "employee", "linked"): 1}
    assert tallies.links_of("fjord") == {("flow", "employee", "dead_letter"): 1}
    assert tallies.creating() == 0


def test_open_action_items_are_read_by_their_ids():
    tallies = TableTallies({}, {})
    tallies.rebuild()
    book = ReportBook(tallies.reports)
    book.put_action(ActionItem("c", "a", "create_business_entity", "create 'A'", "company", "k"))
    book.put_action(
        ActionItem("c", "b", "create_business_entity", "create 'B'", "company", "k", resolved=True)
    )
    reports = tallies.reports_of("c")
    assert [item.message for item in tallies.open_actions("c", reports)] == ["create 'A'"]
    assert tallies.open_actions("other", tallies.reports_of("other")) == []
