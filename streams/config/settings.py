"""The typed, frozen settings model of ledgerlink and the checks its values must pass.

`streams.config.environment` fills it from the environment and
`streams.config.connections_file` from a connections file; this module imports neither.
Secrets are held in `Secret`, so printing the settings never shows a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from connectors.secrets import Secret
from streams.config.topics import TopicNames

__all__ = [
    "ChargebeeSettings",
    "ConnectionSettings",
    "PowerOfficeSettings",
    "Settings",
    "check_url",
    "valid_connection_id",
    "valid_site",
]

# Keys the simulators accept by default, so that a local run needs no configuration.
LOCAL_POWEROFFICE_APPLICATION_KEY = "local-application-key"
LOCAL_POWEROFFICE_CLIENT_KEY = "local-client-key"
LOCAL_POWEROFFICE_SUBSCRIPTION_KEY = "local-subscription-key"
LOCAL_CHARGEBEE_SITE = "ledgerlink-test"
LOCAL_CHARGEBEE_API_KEY = "test_local_api_key"


@dataclass(frozen=True, slots=True)
class PowerOfficeSettings:
    base_url: str
    token_url: str
    application_key: Secret
    client_key: Secret
    subscription_key: Secret
    requests_per_second: float


@dataclass(frozen=True, slots=True)
class ChargebeeSettings:
    site: str
    api_key: Secret
    base_url: str
    requests_per_minute: int


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """One connection (tenant): a PowerOffice Go client company and a Chargebee site."""

    id: str
    poweroffice: PowerOfficeSettings
    chargebee: ChargebeeSettings


@dataclass(frozen=True, slots=True)
class Settings:
    connections: tuple[ConnectionSettings, ...]
    kafka_bootstrap_servers: str
    topic_prefix: str
    partitions: int
    replication_factor: int
    data_dir: Path
    poll_interval: float
    reconcile_interval: float
    web_port: int
    create_timeout: float = 60.0  # seconds a link may stay `creating` before it is driven again

    @property
    def connection_id(self) -> str:
        """The first (with no connections file: the only) connection."""
        return self.connections[0].id

    @property
    def poweroffice(self) -> PowerOfficeSettings:
        return self.connections[0].poweroffice

    @property
    def chargebee(self) -> ChargebeeSettings:
        return self.connections[0].chargebee

    def connection(self, connection_id: str) -> ConnectionSettings | None:
        return next((c for c in self.connections if c.id == connection_id), None)

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    @property
    def cursor_dir(self) -> Path:
        return self.data_dir / "cursors"


def valid_connection_id(value: str) -> bool:
    return bool(value) and value.replace("-", "").replace("_", "").isalnum()


def valid_site(value: str) -> bool:
    return bool(value) and all(c.isalnum() or c == "-" for c in value)


def check_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
