"""The aiohttp application frame every simulator runs in.

It adds the admin surface of design §6 (`/_sim/health`, `/_sim/reset`, `/_sim/stats`,
`/_sim/stats/reset`, `/_sim/faults`) and two middlewares for every API route: one counts
each request by method, route template and final status (and the most served at once);
the other injects the faults that were set (latency, error statuses, dropped
connections). Admin routes are neither counted nor faulted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

from connectors.simkit.faults import FaultSettings
from connectors.simkit.stats import DROPPED, RequestStats

__all__ = ["ADMIN_PREFIX", "SimulatorState", "build_simulator_app", "route_template"]

ADMIN_PREFIX = "/_sim/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class SimulatorState:
    """Admin state of one simulator: its name, counters and current faults."""

    name: str
    stats: RequestStats = field(default_factory=RequestStats)
    faults: FaultSettings = field(default_factory=FaultSettings)


STATE_KEY = web.AppKey("simulator_state", SimulatorState)


def route_template(request: web.Request) -> str:
    """The route as declared (`/v2/Employees/{employeeId}`), or `<unmatched>` for a 404."""
    route = request.match_info.route
    resource = route.resource
    if resource is None or isinstance(request.match_info.http_exception, web.HTTPNotFound):
        return "<unmatched>"
    return resource.canonical


DROPPED_KEY = web.RequestKey("simkit_dropped", bool)


@web.middleware
async def _stats_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    state = request.app[STATE_KEY]
    route = route_template(request)
    state.stats.started(request.method, route)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        state.stats.record(request.method, route, exc.status)
        raise
    finally:
        state.stats.ended(request.method, route)
    status = DROPPED if request.get(DROPPED_KEY) else response.status
    state.stats.record(request.method, route, status)
    return response


@web.middleware
async def _fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    faults = request.app[STATE_KEY].faults
    if faults.latency_ms > 0:
        await asyncio.sleep(faults.latency_ms / 1000.0)
    if faults.should_drop():
        if request.transport is not None:
            request.transport.abort()
        request[DROPPED_KEY] = True
        # Nothing reaches the client: the connection is already gone.
        return web.Response(status=503)
    if faults.should_fail():
        return web.json_response(
            {"message": "injected fault", "status": faults.status}, status=faults.status
        )
    return await handler(request)


def build_simulator_app(
    name: str,
    *,
    on_reset: Callable[[], None],
    middlewares: list[Middleware] | None = None,
) -> web.Application:
    """A new simulator app with the admin surface; the caller adds its API routes.

    ``on_reset`` empties the simulator's data for `POST /_sim/reset`. ``middlewares`` run
    inside the stats and fault middlewares (auth and rate limits belong there, so that a
    429 or 401 is counted like any other answer).
    """
    state = SimulatorState(name=name)
    app = web.Application(middlewares=[_stats_middleware, _fault_middleware, *(middlewares or [])])
    app[STATE_KEY] = state

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "simulator": name})

    async def reset(_: web.Request) -> web.Response:
        on_reset()
        state.stats.reset()
        state.faults = FaultSettings()
        return web.json_response({"status": "reset"})

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(state.stats.as_json())

    async def reset_stats(_: web.Request) -> web.Response:
        state.stats.reset()
        return web.json_response(state.stats.as_json())

    async def set_faults(request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            state.faults = FaultSettings.from_json(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(state.faults.as_json())

    async def get_faults(_: web.Request) -> web.Response:
        return web.json_response(state.faults.as_json())

    app.router.add_get("/_sim/health", health)
    app.router.add_post("/_sim/reset", reset)
    app.router.add_get("/_sim/stats", stats)
    app.router.add_post("/_sim/stats/reset", reset_stats)
    app.router.add_post("/_sim/faults", set_faults)
    app.router.add_get("/_sim/faults", get_faults)
    return app
