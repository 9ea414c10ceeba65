"""Building each system's API client from the settings, in one place.

The worker's agents take the defaults; the start-up check (`streams.preflight`) lends a
short-timeout HTTP session and a retry policy that gives up quickly.
"""

from __future__ import annotations

import httpx

from connectors.chargebee.client import DEFAULT_RETRY as CHARGEBEE_RETRY
from connectors.chargebee.client import ChargebeeClient
from connectors.poweroffice.auth import DEFAULT_RETRY as POWEROFFICE_RETRY
from connectors.poweroffice.client import PowerOfficeClient
from connectors.transport import RetryPolicy
from streams.config import ChargebeeSettings, PowerOfficeSettings

__all__ = ["chargebee_client", "poweroffice_client"]


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
