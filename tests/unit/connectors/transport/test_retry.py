"""Retry arithmetic and the retry loop, against a scripted httpx transport (no network)."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from connectors.exceptions import TransientApiError
from connectors.transport.ratelimit import TokenBucket
from connectors.transport.retry import (
    RetryPolicy,
    backoff_delay,
    parse_retry_after,
    send_with_retries,
)


@pytest.mark.parametrize(
    ("attempt", "expected"), [(0, 0.1), (1, 0.2), (2, 0.4), (5, 2.0), (30, 2.0)]
)
def test_backoff_ceiling_doubles_up_to_the_cap(attempt, expected):
    assert backoff_delay(attempt, base=0.1, cap=2.0, rand=lambda: 1.0) == pytest.approx(expected)


def test_backoff_is_jittered_below_the_ceiling():
    assert backoff_delay(3, base=0.1, cap=2.0, rand=lambda: 0.25) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("3", 3.0), ("0.5", 0.5), ("-1", 0.0), ("soon", None)],
)
def test_retry_after_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_retry_after_as_an_http_date():
    when = email.utils.formatdate(1_000_010, usegmt=True)
    assert parse_retry_after(when, now=1_000_000) == pytest.approx(10.0)


def scripted(*answers: int | type[httpx.TransportError]) -> tuple[httpx.AsyncClient, list[str]]:
    seen: list[str] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        answer = queue.pop(0)
        if isinstance(answer, int):
            headers = {"Retry-After": "0"} if answer == 429 else {}
            return httpx.Response(answer, headers=headers, json={})
        raise answer("scripted", request=request)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


FAST = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0)


async def test_5xx_and_429_are_retried_until_success():
    client, seen = scripted(503, 429, 200)
    response = await send_with_retries(
        lambda: client.get("http://x/"), system="t", bucket=TokenBucket(1000), policy=FAST
    )
    assert response.status_code == 200
    assert len(seen) == 3


async def test_the_last_response_is_returned_when_attempts_run_out():
    client, seen = scripted(503, 503, 503, 503)
    response = await send_with_retries(
        lambda: client.get("http://x/"), system="t", bucket=TokenBucket(1000), policy=FAST
    )
    assert response.status_code == 503
    assert len(seen) == 4


async def test_a_4xx_is_not_retried():
    client, seen = scripted(404)
    response = await send_with_retries(
        lambda: client.get("http://x/"), system="t", bucket=TokenBucket(1000), policy=FAST
    )
    assert response.status_code == 404
    assert len(seen) == 1


async def test_a_dropped_connection_is_retried():
    client, seen = scripted(httpx.RemoteProtocolError, 200)
    response = await send_with_retries(
        lambda: client.get("http://x/"), system="t", bucket=TokenBucket(1000), policy=FAST
    )
    assert response.status_code == 200
    assert len(seen) == 2


async def test_an_unsafe_request_is_not_repeated_after_a_dropped_connection():
    client, seen = scripted(httpx.RemoteProtocolError, 200)
    policy = RetryPolicy(max_attempts=4, base_delay=0.0, retry_unsafe=False)
    with pytest.raises(TransientApiError):
        await send_with_retries(
            lambda: client.post("http://x/"), system="t", bucket=TokenBucket(1000), policy=policy
        )
    assert len(seen) == 1


async def test_transport_errors_become_a_transient_api_error_in_the_end():
    client, _ = scripted(*([httpx.ConnectError] * 4))
    with pytest.raises(TransientApiError, match="4 attempts"):
        await send_with_retries(
            lambda: client.get("http://x/"), system="t", bucket=TokenBucket(1000), policy=FAST
        )
