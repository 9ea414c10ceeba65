"""The worker's own web pages (docs/worker.md): `/ledgerlink/status`, `/ledgerlink/links`
and `/metrics` (Prometheus text).

Each page answers for one connection (`?connection=`, the first served by default) and
refuses one this worker does not serve with a 404 that lists those it does. The views
themselves are the pure functions of `streams.status`; the status counts come from the
live tallies of `streams.table_counts` (O(connections) per call, not O(links)).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST

from streams.broker_health import BrokerHealth
from streams.metrics import Metrics
from streams.runtime import Runtime
from streams.status import links_view, status_view
from streams.sync.links import LinkTable
from streams.sync.parking import ParkingLot
from streams.table_counts import TableTallies

__all__ = ["add_pages"]


def add_pages(
    app: faust.App,
    *,
    broker: BrokerHealth | None,
    served: Sequence[str],
    flow_names: Collection[str],
    links: LinkTable,
    counts: TableTallies,
    parking: ParkingLot,
    runtime: Runtime,
    metrics: Metrics | None = None,
    refresh_metrics: Callable[[], Awaitable[None]] | None = None,
) -> None:
    def connection_of(web: Any, request: Any) -> tuple[str | None, Any]:
        conn = request.query.get("connection") or served[0]
        if conn not in served:
            known = ", ".join(served)
            return None, web.json(
                {"error": f"unknown connection {conn!r}; this worker serves {known}"},
                status=404,
            )
        return conn, None

    @app.page("/ledgerlink/status")
    async def status_page(web: Any, request: Any) -> Any:
        conn, refused = connection_of(web, request)
        if conn is None:
            return refused
        settled = counts.settled()
        report_counts = counts.reports_of(conn)
        return web.json(
            status_view(
                connection=conn,
                flow_names=flow_names,
                links=counts.links_of(conn),
                reports=report_counts,
                open_actions=counts.open_actions(conn, report_counts),
                runtime=runtime,
                parked=parking.count(conn),
                recovering=not settled,
                broker=broker.snapshot() if broker is not None else None,
            )
        )

    @app.page("/ledgerlink/links")
    async def links_page(web: Any, request: Any) -> Any:
        conn, refused = connection_of(web, request)
        if conn is None:
            return refused
        return web.json(links_view(links.links(conn)))

    if metrics is not None:

        @app.page("/metrics")
        async def metrics_page(web: Any, request: Any) -> Any:
            if refresh_metrics is not None:
                await refresh_metrics()
            # aiohttp refuses a charset in content_type=; the header carries it.
            return web.bytes(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
