"""Building each system's API clients from the settings, in one place: per connection,
and for every connection a worker serves.

The worker's agents take the defaults; the start-up check (`streams.preflight`) lends a
short-timeout HTTP session and a retry policy that gives up quickly. `ServedClients` also
sets the worker's share of each PowerOffice Go subscription key's budget, which every
worker of the integration draws on (`streams.ownership.dealt_budget`, or `budget_share`
when the other workers' connections are not known).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import httpx

from connectors.chargebee.client import DEFAULT_RETRY as CHARGEBEE_RETRY
from connectors.chargebee.client import ChargebeeClient
from connectors.poweroffice.auth import DEFAULT_RETRY as POWEROFFICE_RETRY
from connectors.poweroffice.client import (
    PowerOfficeClient,
    subscription_budget,
    subscription_budget_key,
)
from connectors.transport import RetryPolicy
from connectors.transport.ratelimit import DEFAULT_POLL_SHARE
from streams.config import ChargebeeSettings, ConnectionSettings, PowerOfficeSettings
from streams.ownership import budget_share, dealt_budget

__all__ = ["ConnectionClients", "ServedClients", "chargebee_client", "poweroffice_client"]

log = logging.getLogger(__name__)


def poweroffice_client(
    settings: PowerOfficeSettings,
    *,
    http: httpx.AsyncClient | None = None,
    retry: RetryPolicy = POWEROFFICE_RETRY,
) -> PowerOfficeClient:
    return PowerOfficeClient(
        base_url=settings.base_url,
        token_url=settings.token_url,
        application_key=settings.application_key,
        client_key=settings.client_key,
        subscription_key=settings.subscription_key,
        requests_per_second=settings.requests_per_second,
        http=http,
        retry=retry,
    )


def chargebee_client(
    settings: ChargebeeSettings,
    *,
    http: httpx.AsyncClient | None = None,
    retry: RetryPolicy = CHARGEBEE_RETRY,
) -> ChargebeeClient:
    return ChargebeeClient(
        site=settings.site,
        api_key=settings.api_key,
        base_url=settings.base_url,
        requests_per_minute=settings.requests_per_minute,
        http=http,
        retry=retry,
    )


#: The worker's clients give up after a few quick tries: a write that still fails is
#: parked and retried later with growing delays, and a poll is retried at the next cycle.
#: Retrying longer in place would hold up every other connection on the partition.
WORKER_RETRY = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=2.0)


class ConnectionClients:
    """The API clients of one connection, made in the worker's event loop on first use.

    The pollers use the ``*_polls`` twins: the same session, sign-in and budget, but
    their calls wait at `Priority.POLL`, so the sinks' writes on the same budget go first;
    ``poll_share`` is the part of each budget the polls are guaranteed meanwhile.
    """

    def __init__(
        self, settings: ConnectionSettings, *, poll_share: float = DEFAULT_POLL_SHARE
    ) -> None:
        self.settings = settings
        self._poll_share = poll_share
        self._poweroffice: PowerOfficeClient | None = None
        self._chargebee: ChargebeeClient | None = None
        self._poweroffice_polls: PowerOfficeClient | None = None
        self._chargebee_polls: ChargebeeClient | None = None

    @property
    def poweroffice(self) -> PowerOfficeClient:
        if self._poweroffice is None:
            self._poweroffice = poweroffice_client(self.settings.poweroffice, retry=WORKER_RETRY)
            self._poweroffice.bucket.set_poll_share(self._poll_share)
        return self._poweroffice

    @property
    def chargebee(self) -> ChargebeeClient:
        if self._chargebee is None:
            self._chargebee = chargebee_client(self.settings.chargebee, retry=WORKER_RETRY)
            self._chargebee.bucket.set_poll_share(self._poll_share)
        return self._chargebee

    @property
    def poweroffice_polls(self) -> PowerOfficeClient:
        if self._poweroffice_polls is None:
            self._poweroffice_polls = self.poweroffice.for_polling()
        return self._poweroffice_polls

    @property
    def chargebee_polls(self) -> ChargebeeClient:
        if self._chargebee_polls is None:
            self._chargebee_polls = self.chargebee.for_polling()
        return self._chargebee_polls

    async def aclose(self) -> None:
        if self._poweroffice is not None:
            await self._poweroffice.aclose()
        if self._chargebee is not None:
            await self._chargebee.aclose()


class ServedClients:
    """The clients of every connection a worker serves, by connection id."""

    def __init__(
        self,
        connections: Iterable[ConnectionSettings],
        *,
        poll_share: float = DEFAULT_POLL_SHARE,
    ) -> None:
        self.by_id = {c.id: ConnectionClients(c, poll_share=poll_share) for c in connections}

    def chargebee(self, connection: str) -> ChargebeeClient:
        return self.by_id[connection].chargebee

    def poweroffice(self, connection: str) -> PowerOfficeClient:
        return self.by_id[connection].poweroffice

    def share_poweroffice_budget(
        self,
        owned: Collection[str],
        *,
        members: Sequence[Collection[str]] | None = None,
        me: int = 0,
    ) -> None:
        """Set each subscription key's budget in this process to this worker's part of it.

        ``members``: the connections every worker of the group owns (``members[me]``: this
        one's), when known: the budget is then dealt out in whole requests per second
        (`dealt_budget`). Otherwise, or when that leaves this worker none, its part is
        in proportion to the ``owned`` connections of all connections using the key."""
        total: Counter[str] = Counter()
        mine: Counter[str] = Counter()
        settings_of: dict[str, PowerOfficeSettings] = {}
        key_of: dict[str, str] = {}
        for connection_id, clients in self.by_id.items():
            po = clients.settings.poweroffice
            key = key_of[connection_id] = subscription_budget_key(po.subscription_key)
            settings_of.setdefault(key, po)
            total[key] += 1
            mine[key] += connection_id in owned
        for key, po in settings_of.items():
            rate = budget_share(po.requests_per_second, mine[key], total[key])
            how = "in proportion"
            if members is not None and mine[key] > 0:
                counts = [sum(key_of.get(c) == key for c in m) for m in members]
                dealt = dealt_budget(po.requests_per_second, counts)[me]
                if dealt > 0:
                    rate, how = float(dealt), f"whole requests dealt among {len(members)} workers"
            subscription_budget(po.subscription_key, po.requests_per_second).set_rate(rate)
            log.info(
                "PowerOffice Go budget of this worker: %.2f of %.2f requests/s "
                "(%d of %d connections; %s)",
                rate,
                po.requests_per_second,
                mine[key],
                total[key],
                how,
            )

    async def aclose(self) -> None:
        for clients in self.by_id.values():
            await clients.aclose()
