"""The wire format of the `changes.replay` topic: a change event and how to join it.

`ledgerlink replay`, `resync` and `dlq replay` (`streams.recovery`) publish here, keyed by
the connection like every topic, and the join agent reads it beside `changes`:

- ``replay``: a change event copied from `changes`; the join's normal rules apply, so a
  version already applied makes no write;
- ``resync``: a record as its system holds it *now*, re-read by the operator's command;
  the join compares it with the values both sides agreed on even when its version is
  known (`Joiner.join(..., resync=True)`), so a change made behind ledgerlink's back (a
  restored backup, a bulk import) is repaired, and a dead-lettered record is tried again
  with today's mappings.

The event inside is the envelope of `connectors.events`, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from connectors.events import ChangeEvent, EventDecodeError, json_object

__all__ = ["ReplayMode", "ReplayRequest"]


class ReplayMode(StrEnum):
    REPLAY = "replay"
    RESYNC = "resync"


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    mode: ReplayMode
    event: ChangeEvent
    run: str = ""  # which command run sent it, for logs

    @property
    def key(self) -> bytes:
        return self.event.key

    def to_bytes(self) -> bytes:
        event: dict[str, Any] = orjson.loads(self.event.to_bytes())
        return orjson.dumps({"mode": self.mode.value, "run": self.run, "event": event})

    @classmethod
    def from_bytes(cls, data: bytes) -> ReplayRequest:
        """Decode; `EventDecodeError` says what is wrong (as for a change event)."""
        raw = json_object(data)
        try:
            mode = ReplayMode(str(raw.get("mode")))
        except ValueError as exc:
            raise EventDecodeError(
                f"mode must be one of {', '.join(m.value for m in ReplayMode)}"
            ) from exc
        event = raw.get("event")
        if not isinstance(event, dict):
            raise EventDecodeError("event must be a change event object")
        run = raw.get("run", "")
        return cls(
            mode=mode,
            event=ChangeEvent.from_json(event),
            run=run if isinstance(run, str) else "",
        )
