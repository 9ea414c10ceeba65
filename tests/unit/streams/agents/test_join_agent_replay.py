"""The join agent on `changes.replay`: a replay is joined by the usual rules, a resync is
compared with the link, and a message that is no replay request becomes a dead letter."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from streams.agents.plumbing import Received
from streams.sync.links import LinkState, LinkTable
from streams.sync.replays import ReplayMode, ReplayRequest

from .test_join_agent import RECORD_KEY, World, employee_event


@pytest.fixture
def world() -> World:
    return World()


LONG = "x" * 71 + "@fjord.no"


def replayed(request: ReplayRequest | bytes, offset: int = 3) -> Received:
    value = request if isinstance(request, bytes) else request.to_bytes()
    return Received(topic="changes.replay", partition=0, offset=offset, key=b"acme", value=value)


async def test_a_replayed_version_already_applied_sends_nothing(world: World):
    event = employee_event()
    await world.handle(event.to_bytes())
    links = LinkTable(world.links)
    link = links.get("acme", RECORD_KEY)
    assert link is not None
    links.put(replace(link, state=LinkState.LINKED, synced=link.left.values))  # the sink wrote
    sent = len(world.outbox.sent)
    await world.agent.handle_replay(replayed(ReplayRequest(ReplayMode.REPLAY, event)))
    assert len(world.outbox.sent) == sent


async def test_a_resync_retries_a_dead_letter_whose_record_was_fixed(world: World):
    await world.handle(employee_event(EmailAddress=LONG).to_bytes())
    assert len(world.dead_letters()) == 1
    fixed = employee_event()  # same version: fixed behind our back
    await world.agent.handle_replay(replayed(ReplayRequest(ReplayMode.REPLAY, fixed)))
    assert world.upserts() == []
    await world.agent.handle_replay(replayed(ReplayRequest(ReplayMode.RESYNC, fixed), offset=4))
    [create] = world.upserts()
    assert create["create"] is True
    assert create["fields"]["email"] == "ase@fjord.no"


async def test_a_message_that_is_no_replay_request_is_dead_lettered(world: World):
    await world.agent.handle_replay(replayed(orjson.dumps({"mode": "rewind", "event": {}})))
    [letter] = world.dead_letters()
    assert letter["reason"].startswith("not a replay request: mode must be")
    assert letter["event"]["topic"] == "changes.replay"
