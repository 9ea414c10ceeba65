"""Lanes: concurrent across keys, in submission order within a key, bounded in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from streams.agents.lanes import Lanes


class Gates:
    """Jobs that record when they start and end and wait until their gate opens."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def job(self, name: str, *, fail: bool = False) -> Callable[[], Awaitable[None]]:
        gate = self.gates.setdefault(name, asyncio.Event())

        async def run() -> None:
            self.log.append(f"start {name}")
            await gate.wait()
            self.log.append(f"end {name}")
            if fail:
                raise RuntimeError(f"{name} failed")

        return run

    def open(self, name: str) -> None:
        self.gates[name].set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_jobs_of_different_keys_run_at_the_same_time() -> None:
    lanes, gates = Lanes(limit=8), Gates()
    for name in ("a", "b", "c"):
        await lanes.submit(name, gates.job(name))
    await settle()
    assert gates.log == ["start a", "start b", "start c"]
    assert lanes.in_flight == 3
    for name in ("a", "b", "c"):
        gates.open(name)
    await lanes.drain(grace=1.0)
    assert lanes.most_in_flight == 3
    assert lanes.in_flight == 0


async def test_jobs_of_one_key_run_one_at_a_time_in_submission_order() -> None:
    lanes, gates = Lanes(limit=8), Gates()
    for name in ("r1", "r2", "r3"):
        await lanes.submit("record", gates.job(name))
    await settle()
    assert gates.log == ["start r1"]
    gates.open("r3")
    gates.open("r2")
    await settle()
    assert gates.log == ["start r1"]
    gates.open("r1")
    await lanes.drain(grace=1.0)
    assert gates.log == ["start r1", "end r1", "start r2", "end r2", "start r3", "end r3"]


async def test_a_slow_key_does_not_hold_up_another_key() -> None:
    lanes, gates = Lanes(limit=8), Gates()
    await lanes.submit("slow", gates.job("slow"))
    await lanes.submit("fast", gates.job("fast1"))
    await lanes.submit("fast", gates.job("fast2"))
    gates.open("fast1")
    gates.open("fast2")
    await settle()
    assert "end fast2" in gates.log
    assert "end slow" not in gates.log
    gates.open("slow")
    await lanes.drain(grace=1.0)


async def test_a_failed_job_does_not_stop_its_key_s_next_job() -> None:
    lanes, gates = Lanes(limit=8), Gates()
    await lanes.submit("record", gates.job("bad", fail=True))
    await lanes.submit("record", gates.job("next"))
    gates.open("bad")
    gates.open("next")
    await lanes.drain(grace=1.0)
    assert gates.log == ["start bad", "end bad", "start next", "end next"]


async def test_submit_waits_while_the_limit_is_in_flight() -> None:
    lanes, gates = Lanes(limit=2), Gates()
    await lanes.submit("a", gates.job("a"))
    await lanes.submit("b", gates.job("b"))
    third = asyncio.create_task(lanes.submit("c", gates.job("c")))
    await settle()
    assert not third.done()
    assert lanes.in_flight == 2
    gates.open("a")
    await asyncio.wait_for(third, 1.0)
    assert lanes.most_in_flight == 2
    gates.open("b")
    gates.open("c")
    await lanes.drain(grace=1.0)


async def test_jobs_waiting_for_their_key_count_towards_the_limit() -> None:
    lanes, gates = Lanes(limit=2), Gates()
    await lanes.submit("record", gates.job("r1"))
    await lanes.submit("record", gates.job("r2"))
    third = asyncio.create_task(lanes.submit("other", gates.job("o")))
    await settle()
    assert not third.done()
    gates.open("r1")
    gates.open("r2")
    gates.open("o")
    await asyncio.wait_for(third, 1.0)
    await lanes.drain(grace=1.0)


async def test_jobs_without_a_key_keep_no_order() -> None:
    lanes, gates = Lanes(limit=8), Gates()
    await lanes.submit(None, gates.job("x"))
    await lanes.submit(None, gates.job("y"))
    await settle()
    assert gates.log == ["start x", "start y"]
    gates.open("x")
    gates.open("y")
    await lanes.drain(grace=1.0)


async def test_drain_cancels_only_the_chosen_group_s_jobs_after_the_grace() -> None:
    lanes, gates = Lanes(limit=8), Gates()
    revoked = await lanes.submit("a", gates.job("a"), group=("t", 0))
    kept = await lanes.submit("b", gates.job("b"), group=("t", 1))
    cancelled = await lanes.drain([("t", 0)], grace=0.01)
    assert cancelled == 1
    assert revoked.cancelled()
    assert not kept.done()
    gates.open("b")
    assert await lanes.drain(grace=1.0) == 0
    assert lanes.in_flight == 0


async def test_drain_lets_jobs_finish_within_the_grace() -> None:
    lanes, gates = Lanes(limit=8), Gates()
    task = await lanes.submit("a", gates.job("a"), group=("t", 0))
    asyncio.get_running_loop().call_later(0.01, gates.open, "a")
    assert await lanes.drain([("t", 0)], grace=5.0) == 0
    assert task.done()
    assert not task.cancelled()


async def test_a_job_sees_the_context_of_its_submitter() -> None:
    import contextvars

    current: contextvars.ContextVar[str] = contextvars.ContextVar("current")
    lanes, seen = Lanes(limit=8), []

    async def job() -> None:
        await asyncio.sleep(0)
        seen.append(current.get())

    for event in ("e1", "e2"):
        current.set(event)
        await lanes.submit("record", job)
    current.set("later")
    await lanes.drain(grace=1.0)
    assert seen == ["e1", "e2"]


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Lanes(limit=0)
