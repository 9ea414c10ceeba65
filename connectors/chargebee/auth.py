"""Chargebee's authentication: HTTP Basic with the site's API key as user name and an empty
password. It only changes the request; the key stays in a `Secret` and never reaches a
log line, a repr or an error."""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx

from connectors.secrets import Secret

__all__ = ["ApiKeyAuth", "basic_auth_header"]


def basic_auth_header(api_key: Secret) -> str:
    """The ``Authorization`` header value for ``api_key``."""
    token = base64.b64encode(f"{api_key.reveal()}:".encode()).decode("ascii")
    return f"Basic {token}"


class ApiKeyAuth(httpx.Auth):
    """An `httpx.Auth` that signs every request with the site's API key."""

    def __init__(self, api_key: Secret) -> None:
        self._api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = basic_auth_header(self._api_key)
        yield request

    def __repr__(self) -> str:
        return "ApiKeyAuth(api_key=Secret('***'))"
