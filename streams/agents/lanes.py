"""Lanes: jobs run concurrently, one at a time per key and in the order submitted, with
a bound on how many are in flight.

The sink agents key each command by its record — (connection, target, record) — so the
commands of one record keep their order while other records, and other connections, do
not wait for them. A job waits for the one submitted before it with the same key,
whatever became of that one. `submit` waits while `limit` jobs are in flight, so a
consumer that submits every message it reads stops reading when the bound is reached.

Each job is an asyncio task created by `submit`, so it starts with a copy of the caller's
context variables — in a Faust agent, the event being processed, which decides the
changelog partition of the job's table writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Hashable

__all__ = ["Lanes"]

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Lanes:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._groups: dict[Hashable, set[asyncio.Task[None]]] = {}
        self.in_flight = 0
        self.most_in_flight = 0  # the most jobs in flight at once so far

    async def submit(
        self, key: Hashable | None, job: Job, *, group: Hashable = None
    ) -> asyncio.Task[None]:
        """Start ``job`` after the last job submitted with ``key`` (None: no order) once
        fewer than ``limit`` jobs are in flight. ``group``: what `drain` selects by."""
        await self._slots.acquire()
        before = self._tails.get(key) if key is not None else None
        task = asyncio.create_task(self._run(before, job))
        if key is not None:
            self._tails[key] = task
        self._groups.setdefault(group, set()).add(task)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        task.add_done_callback(lambda done: self._finish(done, key, group))
        return task

    @staticmethod
    async def _run(before: asyncio.Task[None] | None, job: Job) -> None:
        if before is not None and not before.done():
            await asyncio.wait([before])  # its outcome is its own; only the order matters
        await job()

    def _finish(self, task: asyncio.Task[None], key: Hashable | None, group: Hashable) -> None:
        self._slots.release()
        self.in_flight -= 1
        if key is not None and self._tails.get(key) is task:
            del self._tails[key]
        members = self._groups.get(group)
        if members is not None:
            members.discard(task)
            if not members:
                del self._groups[group]
        if not task.cancelled() and task.exception() is not None:
            log.error("a lane's job failed", exc_info=task.exception())

    def tasks(self, groups: Collection[Hashable] | None = None) -> set[asyncio.Task[None]]:
        """The jobs in flight, of ``groups`` (None: all)."""
        chosen = self._groups if groups is None else {g: self._groups.get(g, ()) for g in groups}
        return {task for members in chosen.values() for task in members}

    async def drain(self, groups: Collection[Hashable] | None = None, *, grace: float) -> int:
        """Let the jobs of ``groups`` (None: all) finish for up to ``grace`` seconds,
        then cancel the rest; how many were cancelled."""
        pending = self.tasks(groups)
        if not pending:
            return 0
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
        return len(late)
