"""Building each system's API client from the settings, in one place."""

from __future__ import annotations

from connectors.chargebee.client import ChargebeeClient
from connectors.poweroffice.client import PowerOfficeClient
from streams.config import ChargebeeSettings, PowerOfficeSettings

__all__ = ["chargebee_client", "poweroffice_client"]


def poweroffice_client(settings: PowerOfficeSettings) -> PowerOfficeClient:
    return PowerOfficeClient(
        base_url=settings.base_url,
        token_url=settings.token_url,
        application_key=settings.application_key,
        client_key=settings.client_key,
        subscription_key=settings.subscription_key,
        requests_per_second=settings.requests_per_second,
    )


def chargebee_client(settings: ChargebeeSettings) -> ChargebeeClient:
    return ChargebeeClient(
        site=settings.site,
        api_key=settings.api_key,
        base_url=settings.base_url,
        requests_per_minute=settings.requests_per_minute,
    )
