"""Moving poll state with the partitions: after each rebalance, read back from Kafka the
cursors and known ids of the partitions this worker took over, then let it poll them.

`follow_ownership` runs beside the poll loop for the worker's life. Partitions lost are
forgotten at once (their state may change under another worker); partitions gained are
read whole from the state topic (`connectors.polling.kafka_state`) before
`Ownership.owns` says yes, so a worker that takes a connection over resumes from the
last cursor its previous owner saved. The deletion watches of the connections gained
drop what they held in memory, which another worker may have outdated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Protocol

from connectors.exceptions import LedgerlinkError
from streams.ownership import Ownership

__all__ = ["follow_ownership"]

log = logging.getLogger(__name__)

#: Between tries to read poll state while Kafka does not answer.
RETRY_SECONDS = 2.0


class PartitionState(Protocol):
    """What is held of the state topic (`connectors.polling.kafka_state.PollStateLog`)."""

    def loaded(self) -> frozenset[int]: ...

    async def load(self, partitions: Collection[int]) -> None: ...

    def forget(self, partitions: Iterable[int]) -> None: ...


class Forgetful(Protocol):
    """A connection's deletion watch, whose in-memory id sets may be outdated."""

    def forget(self) -> None: ...


async def follow_ownership(
    ownership: Ownership,
    state: PartitionState,
    deletions: Mapping[str, Forgetful],
) -> None:
    """Load the state of every partition assigned here and mark it ready; until cancelled."""
    while True:
        await ownership.changed.wait()
        ownership.changed.clear()
        assigned = ownership.assigned
        state.forget(p for p in state.loaded() if p not in assigned)
        wanted = sorted(assigned - ownership.ready)
        if not wanted:
            if ownership.assigned_once:
                ownership.started.set()
            continue
        try:
            await state.load(wanted)
        except (LedgerlinkError, TimeoutError) as exc:
            log.warning("reading poll state failed, trying again: %s", exc)
            await asyncio.sleep(RETRY_SECONDS)
            ownership.changed.set()
            continue
        for connection, watch in deletions.items():
            if ownership.partition_of(connection) in wanted:
                watch.forget()
        ownership.mark_ready(wanted)
        ownership.started.set()
        log.info(
            "poll state of partition(s) %s loaded; polling %s",
            wanted,
            ", ".join(sorted(c for c in ownership.owned() if ownership.owns(c))) or "nothing",
        )
