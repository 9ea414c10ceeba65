"""Retries with backoff and jitter, shared by both connectors.

`send_with_retries` owns the loop around one logical request: it spends a token from the
budget before every attempt, waits out `Retry-After` on 429 (pausing the whole budget, so
other callers do not pile on), backs off with full jitter on 5xx and on dropped
connections, and gives up after `RetryPolicy.max_attempts`. It returns the last response;
turning a status into a typed error is the connector's job. The delay arithmetic is pure
(`backoff_delay`, `parse_retry_after`) so tests can call it directly.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from connectors.exceptions import TransientApiError
from connectors.transport.observe import notify
from connectors.transport.ratelimit import Priority, TokenBucket

__all__ = ["RetryPolicy", "backoff_delay", "parse_retry_after", "send_with_retries"]

log = logging.getLogger(__name__)

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one request.

    ``retry_unsafe`` allows retrying after a connection broke mid-request; only set it for
    requests that are safe to repeat (GET, PATCH, or a POST with an idempotency key).
    """

    max_attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 10.0
    default_retry_after: float = 1.0
    retry_unsafe: bool = True


def backoff_delay(
    attempt: int, *, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2**attempt)].

    ``attempt`` counts from 0 for the first retry.
    """
    ceiling = min(cap, base * 2.0**attempt)
    return float(ceiling * rand())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), else None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    return max(0.0, seconds)


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    system: str,
    bucket: TokenBucket,
    policy: RetryPolicy = RetryPolicy(),
    describe: str = "request",
    priority: Priority = Priority.WRITE,
) -> httpx.Response:
    """Send one logical request, retrying what is worth retrying; return the final response.

    ``send`` must build and send a fresh request each call. ``describe`` names the request
    in logs and errors (a route, never a URL with secrets). ``priority`` is whose turn
    every attempt waits for in ``bucket`` (a poll's listing gives way to writes).
    """
    attempt = 0
    while True:
        await bucket.acquire(priority)
        try:
            response = await send()
        except httpx.TransportError as exc:
            unsafe_failure = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            if attempt + 1 >= policy.max_attempts or (unsafe_failure and not policy.retry_unsafe):
                notify(system, None, False)
                raise TransientApiError(
                    f"{describe} failed after {attempt + 1} attempts: {type(exc).__name__}",
                    system=system,
                ) from exc
            notify(system, None, True)
            delay = backoff_delay(attempt, base=policy.base_delay, cap=policy.max_delay)
            log.info("%s %s: %s, retrying in %.2fs", system, describe, type(exc).__name__, delay)
            attempt += 1
            await asyncio.sleep(delay)
            continue

        if response.status_code not in RETRIABLE_STATUSES or attempt + 1 >= policy.max_attempts:
            notify(system, response.status_code, False)
            return response
        notify(system, response.status_code, True)

        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if response.status_code == 429:
            wait = retry_after if retry_after is not None else policy.default_retry_after
            bucket.pause_for(wait)
            log.info("%s %s: 429, budget paused for %.2fs", system, describe, wait)
        else:
            wait = backoff_delay(attempt, base=policy.base_delay, cap=policy.max_delay)
            if retry_after is not None:
                wait = max(wait, retry_after)
            log.info(
                "%s %s: HTTP %d, retrying in %.2fs", system, describe, response.status_code, wait
            )
            await asyncio.sleep(wait)
        await response.aclose()
        attempt += 1
