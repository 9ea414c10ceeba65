"""No API key in the repr or str of the client, its auth, or its errors."""

from __future__ import annotations

import base64

import httpx

from connectors.chargebee.auth import ApiKeyAuth, basic_auth_header
from connectors.chargebee.client import ChargebeeClient
from connectors.chargebee.errors import error_from_response
from connectors.secrets import Secret

KEY = "live_sEcReT_kEy_123"


async def test_client_repr_and_str_hide_the_api_key():
    async with ChargebeeClient(
        site="acme-test", api_key=Secret(KEY), base_url="http://127.0.0.1:9/api/v2"
    ) as client:
        assert KEY not in repr(client)
        assert KEY not in str(client)
        assert KEY not in repr(vars(client))


def test_auth_repr_hides_the_api_key():
    assert KEY not in repr(ApiKeyAuth(Secret(KEY)))


def test_auth_sends_the_key_as_user_name_with_an_empty_password():
    request = httpx.Request("GET", "http://127.0.0.1/api/v2/customers")
    flow = ApiKeyAuth(Secret(KEY)).auth_flow(request)
    signed = next(flow)
    scheme, token = signed.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == f"{KEY}:"


def test_basic_auth_header_matches_the_auth_flow():
    assert basic_auth_header(Secret(KEY)).startswith("Basic ")


def test_errors_hide_the_api_key():
    error = error_from_response(401, {"message": "Sorry, authentication failed."})
    assert KEY not in str(error)
    assert KEY not in repr(error)
