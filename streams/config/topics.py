"""The names of ledgerlink's topics (docs/worker.md); every one keyed by the connection."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TABLES", "TopicNames"]

#: The Faust tables of `streams.app`, each changelogged to `TopicNames.changelog(table)`.
TABLES = ("links", "reports", "parked")


@dataclass(frozen=True, slots=True)
class TopicNames:
    prefix: str = ""

    @property
    def changes(self) -> str:
        return f"{self.prefix}changes"

    @property
    def changes_replay(self) -> str:
        """Change events re-driven by `ledgerlink replay|resync|dlq replay`; the join reads
        it beside `changes` (`streams.sync.replays` gives its wire format)."""
        return f"{self.prefix}changes.replay"

    @property
    def upserts_chargebee(self) -> str:
        return f"{self.prefix}upserts.chargebee"

    @property
    def upserts_poweroffice(self) -> str:
        return f"{self.prefix}upserts.poweroffice"

    @property
    def upserts_retry(self) -> str:
        """Wake-ups for parked commands (`streams.agents.retry_agent`)."""
        return f"{self.prefix}upserts.retry"

    @property
    def deadletters(self) -> str:
        return f"{self.prefix}deadletters"

    @property
    def actions(self) -> str:
        return f"{self.prefix}actions"

    @property
    def poll_state(self) -> str:
        """Poll cursors and known ids, compacted, on each connection's partition
        (`connectors.polling.kafka_state`); created beside the others, never consumed by
        the Faust app."""
        return f"{self.prefix}poll-state"

    def upserts(self, target: str) -> str:
        """The command topic of the sink that writes to ``target``."""
        return self.upserts_chargebee if target == "chargebee" else self.upserts_poweroffice

    @property
    def all(self) -> tuple[str, ...]:
        """Every topic the worker reads or writes, for creating them before it starts."""
        return (
            self.changes,
            self.changes_replay,
            self.upserts_chargebee,
            self.upserts_poweroffice,
            self.upserts_retry,
            self.deadletters,
            self.actions,
        )

    def changelog(self, table: str) -> str:
        """The topic Faust keeps ``table``'s changes in (its own naming)."""
        return f"{self.app_id}-{table}-changelog"

    @property
    def changelogs(self) -> tuple[str, ...]:
        return tuple(self.changelog(table) for table in TABLES)

    @property
    def app_id(self) -> str:
        return f"{self.prefix}ledgerlink"
