"""One HTTP session per API client: opened by the client, or lent to it by the caller.

Both connectors' clients are async context managers over an `httpx.AsyncClient`; this is
that part, once. A lent session is never closed here — its owner closes it.

It also carries the `Priority` at which the client's calls wait for their budget: a
client's `for_polling` twin shares its session, budget and state, but its calls give way
to the client's own (writes first).
"""

from __future__ import annotations

import copy
from types import TracebackType
from typing import Self

import httpx

from connectors.transport.ratelimit import Priority

__all__ = ["HttpSession"]


class HttpSession:
    def __init__(self, http: httpx.AsyncClient | None, *, timeout: float = 30.0) -> None:
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self._priority = Priority.WRITE

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._owns_http:
            await self._http.aclose()

    @property
    def priority(self) -> Priority:
        """The priority at which this client's calls wait for their budget."""
        return self._priority

    def for_polling(self) -> Self:
        """A twin of this client whose calls wait at `Priority.POLL`: they take only the
        budget no write is waiting for (and a guaranteed share). It shares this client's
        session (closed by this client, never by the twin), budget and sign-in."""
        twin = copy.copy(self)
        twin._owns_http = False
        twin._priority = Priority.POLL
        return twin
