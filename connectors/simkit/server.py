"""Running a simulator app on a real TCP socket: in-process for tests, or in the foreground."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

__all__ = ["RunningSimulator", "serve_forever", "start_simulator"]


@dataclass(slots=True)
class RunningSimulator:
    """A simulator listening on ``host:port``; `stop` closes it."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_simulator(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Start ``app`` on ``host:port`` (port 0 picks a free one) and return once it listens."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    bound_port = port
    if isinstance(server, asyncio.base_events.Server) and server.sockets:
        bound_port = server.sockets[0].getsockname()[1]
    return RunningSimulator(runner=runner, host=host, port=bound_port)


async def serve_forever(app: web.Application, host: str, port: int, banner: list[str]) -> None:
    """Run ``app`` until cancelled (Ctrl-C), printing ``banner`` once it listens."""
    running = await start_simulator(app, host, port)
    for line in banner:
        print(line.replace("{root}", running.root_url), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()
