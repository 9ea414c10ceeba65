"""Auth headers, and that no key or token ever shows in a repr, str or error."""

from __future__ import annotations

import base64

import httpx
import orjson

from connectors.poweroffice.auth import (
    SUBSCRIPTION_HEADER,
    TokenProvider,
    basic_authorization,
    bearer_headers,
)
from connectors.poweroffice.client import PowerOfficeClient
from connectors.poweroffice.errors import error_for_response, token_error
from connectors.secrets import Secret
from connectors.transport import Priority, TokenBucket

APPLICATION_KEY = "app-5e1a7d0c-very-secret"
CLIENT_KEY = "cli-9f3b2a11-very-secret"
SUBSCRIPTION_KEY = "sub-0c4d7e55-very-secret"


def test_basic_authorization_encodes_application_key_colon_client_key() -> None:
    header = basic_authorization(Secret("app"), Secret("client"))
    assert header == "Basic " + base64.b64encode(b"app:client").decode()


def test_bearer_headers_carry_the_token_and_the_subscription_key() -> None:
    headers = bearer_headers(Secret("tok"), Secret("sub"))
    assert headers == {"Authorization": "Bearer tok", SUBSCRIPTION_HEADER: "sub"}


async def test_client_repr_and_str_show_no_secret() -> None:
    client = PowerOfficeClient(
        base_url="http://127.0.0.1:1/v2",
        token_url="http://127.0.0.1:1/OAuth/Token",
        application_key=Secret(APPLICATION_KEY),
        client_key=Secret(CLIENT_KEY),
        subscription_key=Secret(SUBSCRIPTION_KEY),
    )
    try:
        shown = (
            repr(client) + str(client) + repr(vars(client) if hasattr(client, "__dict__") else "")
        )
        for secret in (APPLICATION_KEY, CLIENT_KEY, SUBSCRIPTION_KEY):
            assert secret not in shown
    finally:
        await client.aclose()


def test_errors_show_no_secret_even_when_the_server_echoes_the_request() -> None:
    request = httpx.Request(
        "GET",
        "http://127.0.0.1/v2/Employees",
        headers={
            "Authorization": f"Bearer {APPLICATION_KEY}",
            SUBSCRIPTION_HEADER: SUBSCRIPTION_KEY,
        },
    )
    response = httpx.Response(401, content=orjson.dumps({"title": "Unauthorized"}), request=request)
    errors = [error_for_response(response, describe="GET /Employees"), token_error(response)]
    for error in errors:
        shown = repr(error) + str(error) + repr(vars(error))
        for secret in (APPLICATION_KEY, CLIENT_KEY, SUBSCRIPTION_KEY):
            assert secret not in shown


class RecordingBucket(TokenBucket):
    def __init__(self) -> None:
        super().__init__(1000)
        self.asked: list[Priority] = []

    async def acquire(self, priority: Priority = Priority.WRITE) -> None:
        self.asked.append(priority)


async def test_a_sign_in_spends_the_budget_at_the_priority_of_the_call_that_needs_it() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": "t", "expires_in": 1200})

    bucket = RecordingBucket()
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        provider = TokenProvider(
            token_url="http://127.0.0.1:1/OAuth/Token",
            application_key=Secret(APPLICATION_KEY),
            client_key=Secret(CLIENT_KEY),
            subscription_key=Secret(SUBSCRIPTION_KEY),
            http=http,
            bucket=bucket,
        )
        await provider.token(Priority.POLL)
        provider.invalidate(await provider.token())
        await provider.token()
    assert bucket.asked == [Priority.POLL, Priority.WRITE]
