"""The PowerOffice Go OAuth2 client-credentials flow: it only hands out a valid bearer token.

`POST {token_url}` with `grant_type=client_credentials` as a form, `Authorization: Basic
base64(applicationKey:clientKey)` and the `Ocp-Apim-Subscription-Key` header. The answer
lives 1200 s and has no refresh token; `TokenProvider` caches it, renews it
``renew_margin`` seconds before it runs out (or half-way through a lifetime shorter than
twice the margin), lets one coroutine renew at a time while the others wait for its
result, and forgets a token the API answered 401 to, so the client renews once and
retries once. The token call spends from the same request budget as the API calls.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson

from connectors.exceptions import AuthenticationError
from connectors.secrets import Secret
from connectors.transport import Priority, RetryPolicy, TokenBucket, send_with_retries

from .errors import SYSTEM, token_error

__all__ = [
    "SUBSCRIPTION_HEADER",
    "AccessToken",
    "TokenProvider",
    "basic_authorization",
    "bearer_headers",
]

log = logging.getLogger(__name__)

SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
DEFAULT_EXPIRES_IN = 1200.0
#: RetryPolicy is frozen, so one shared default is safe.
DEFAULT_RETRY = RetryPolicy()


def basic_authorization(application_key: Secret, client_key: Secret) -> str:
    """The token call's `Authorization` value: `Basic base64(applicationKey:clientKey)`."""
    pair = f"{application_key.reveal()}:{client_key.reveal()}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def bearer_headers(token: Secret, subscription_key: Secret) -> dict[str, str]:
    """The headers every API call carries."""
    return {
        "Authorization": f"Bearer {token.reveal()}",
        SUBSCRIPTION_HEADER: subscription_key.reveal(),
    }


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token and the monotonic time from which it should no longer be used."""

    value: Secret
    renew_at: float


class TokenProvider:
    """Hands out a valid access token, fetching and renewing it as needed."""

    def __init__(
        self,
        *,
        token_url: str,
        application_key: Secret,
        client_key: Secret,
        subscription_key: Secret,
        http: httpx.AsyncClient,
        bucket: TokenBucket,
        retry: RetryPolicy = DEFAULT_RETRY,
        renew_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_url = token_url
        self._application_key = application_key
        self._client_key = client_key
        self._subscription_key = subscription_key
        self._http = http
        self._bucket = bucket
        self._retry = retry
        self._renew_margin = renew_margin
        self._clock = clock
        self._current: AccessToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TokenProvider(token_url={self._token_url!r})"

    async def token(self, priority: Priority = Priority.WRITE) -> Secret:
        """A token that is valid now; fetches a new one when there is none or it is due,
        spending the budget at the ``priority`` of the call that needs it (a poll's
        sign-in is part of the poll, not a write)."""
        current = self._current
        if current is not None and self._clock() < current.renew_at:
            return current.value
        async with self._lock:
            current = self._current
            if current is not None and self._clock() < current.renew_at:
                return current.value
            self._current = await self._fetch(priority)
            return self._current.value

    def invalidate(self, token: Secret) -> None:
        """Forget ``token`` (the API refused it); a newer token is kept."""
        if self._current is not None and self._current.value == token:
            self._current = None

    async def _fetch(self, priority: Priority) -> AccessToken:
        headers = {
            "Authorization": basic_authorization(self._application_key, self._client_key),
            SUBSCRIPTION_HEADER: self._subscription_key.reveal(),
            "Accept": "application/json",
        }

        async def send() -> httpx.Response:
            return await self._http.post(
                self._token_url, data={"grant_type": "client_credentials"}, headers=headers
            )

        requested_at = self._clock()
        response = await send_with_retries(
            send,
            system=SYSTEM,
            bucket=self._bucket,
            policy=self._retry,
            describe="POST /OAuth/Token",
            priority=priority,
        )
        if response.status_code != 200:
            raise token_error(response)
        try:
            body = orjson.loads(response.content)
            value = body["access_token"]
            expires_in = float(body.get("expires_in", DEFAULT_EXPIRES_IN))
            token_type = str(body.get("token_type", "bearer"))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise AuthenticationError(
                "the token endpoint answered 200 without an access_token; check the token URL",
                system=SYSTEM,
                status=200,
            ) from exc
        if not isinstance(value, str) or not value or token_type.lower() != "bearer":
            raise AuthenticationError(
                "the token endpoint answered without a bearer access_token; check the token URL",
                system=SYSTEM,
                status=200,
            )
        lifetime = max(expires_in - self._renew_margin, expires_in / 2)
        log.debug("%s: new access token, renewing in %.0fs", SYSTEM, lifetime)
        return AccessToken(value=Secret(value), renew_at=requested_at + lifetime)
