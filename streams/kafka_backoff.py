"""The pause after a failed Kafka metadata update that aiokafka forgets.

aiokafka's producer (the `Sender` routine in ``aiokafka/producer/sender.py``) asks for a
metadata update whenever a partition it has data for has no known leader, and waits for
that update — "try to update cluster metadata and wait backoff time", says its comment,
but it never waits the backoff. With the broker down the update fails at once, so the
routine spins: measured with aiokafka 0.14, one producer that had a batch in flight when
the broker stopped logged 18,000 "Unable connect"/"Unable to update metadata" lines a
second and kept a core busy. That is the flood of issue 6.

`install` wraps `AIOKafkaClient._metadata_update` so that a failed update returns only
after the client's own ``retry_backoff_ms``; a successful one is untouched. It is
process-wide on purpose, since Faust builds its producer inside Faust, and installing it
twice changes nothing. Remove it once aiokafka backs off itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.client import AIOKafkaClient

__all__ = ["install", "installed"]

log = logging.getLogger(__name__)

_MARK = "_ledgerlink_backs_off"


def installed() -> bool:
    return bool(getattr(AIOKafkaClient._metadata_update, _MARK, False))


def install() -> None:
    """Make every aiokafka client wait its retry backoff after a failed metadata update."""
    original: Callable[..., Awaitable[Any]] | None = getattr(
        AIOKafkaClient, "_metadata_update", None
    )
    if original is None:  # aiokafka changed; nothing to fix here any more
        log.debug("aiokafka has no AIOKafkaClient._metadata_update; no backoff installed")
        return
    if installed():
        return

    @functools.wraps(original)
    async def metadata_update_with_backoff(self: Any, *args: Any, **kwargs: Any) -> Any:
        updated = await original(self, *args, **kwargs)
        if updated is False:
            await asyncio.sleep(float(getattr(self, "_retry_backoff", 0.1)))
        return updated

    setattr(metadata_update_with_backoff, _MARK, True)
    AIOKafkaClient._metadata_update = metadata_update_with_backoff
