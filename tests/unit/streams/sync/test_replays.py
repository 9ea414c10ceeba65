"""The wire format of `changes.replay`: a mode and a change event, checked when read."""

from __future__ import annotations

import orjson
import pytest

from connectors.events import EventDecodeError
from streams.sync.replays import ReplayMode, ReplayRequest

from .test_joiner import employee


def test_a_request_round_trips_with_its_event_unchanged():
    event = employee()
    request = ReplayRequest(mode=ReplayMode.RESYNC, event=event, run="r1")
    back = ReplayRequest.from_bytes(request.to_bytes())
    assert back == request
    assert back.event.event_id == event.event_id
    assert request.key == b"acme"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"nope", "not JSON"),
        (b"[]", "not a JSON object"),
        (orjson.dumps({"mode": "rewind", "event": {}}), "mode must be"),
        (orjson.dumps({"mode": "replay", "event": 3}), "event must be"),
        (orjson.dumps({"mode": "replay", "event": {"op": "u"}}), "missing"),
    ],
)
def test_a_malformed_request_says_what_is_wrong(value, problem):
    with pytest.raises(EventDecodeError, match=problem):
        ReplayRequest.from_bytes(value)
