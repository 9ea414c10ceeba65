"""One HTTP session per API client: opened by the client, or lent to it by the caller.

Both connectors' clients are async context managers over an `httpx.AsyncClient`; this is
that part, once. A lent session is never closed here — its owner closes it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx

__all__ = ["HttpSession"]


class HttpSession:
    def __init__(self, http: httpx.AsyncClient | None, *, timeout: float = 30.0) -> None:
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)

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
