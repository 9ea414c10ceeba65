"""The typed, frozen settings model of ledgerlink and the checks its values must pass.

`streams.config.environment` fills it from the environment and
`streams.config.connections_file` from a connections file; this module imports neither.
Secrets are held in `Secret`, so printing the settings never shows a key. Each connection
also carries `SettingNames`: which variable (or file key) each of its values came from and
which were left unset, so that a start-up error can say what to set — never a value.

The local defaults point at the simulators (`ledgerlink simulator poweroffice|chargebee`
on their default ports), never at a real service: a real Chargebee host is used only for
a site the operator named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from connectors.secrets import Secret
from streams.config.topics import TopicNames

__all__ = [
    "LOCAL_CHARGEBEE_API_KEY",
    "LOCAL_CHARGEBEE_BASE_URL",
    "LOCAL_CHARGEBEE_SITE",
    "LOCAL_POWEROFFICE_APPLICATION_KEY",
    "LOCAL_POWEROFFICE_BASE_URL",
    "LOCAL_POWEROFFICE_CLIENT_KEY",
    "LOCAL_POWEROFFICE_SUBSCRIPTION_KEY",
    "LOCAL_POWEROFFICE_TOKEN_URL",
    "ChargebeeSettings",
    "ConnectionSettings",
    "PowerOfficeSettings",
    "SettingNames",
    "Settings",
    "chargebee_site_url",
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
# Where the simulators listen by default (streams/cli/main.py: --port 8101 and 8102).
LOCAL_POWEROFFICE_BASE_URL = "http://127.0.0.1:8101/v2"
LOCAL_POWEROFFICE_TOKEN_URL = "http://127.0.0.1:8101/OAuth/Token"
LOCAL_CHARGEBEE_BASE_URL = "http://127.0.0.1:8102/api/v2"


def chargebee_site_url(site: str) -> str:
    """The API root of a real Chargebee site, used only for a site the operator named."""
    return f"https://{site}.chargebee.com/api/v2"


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
class SettingNames:
    """Where one connection's values came from, in the words an operator acts on.

    Each field names the environment variable that holds the value (for a connections
    file: the variable the file points at, or the file's key for a URL). ``unset`` lists
    the environment variables that were not set, so their local defaults (the simulators'
    addresses and keys) were used. ``file`` is the connections file the connection came
    from, if any. Never holds a value.
    """

    poweroffice_base_url: str = "POWEROFFICE_BASE_URL"
    poweroffice_token_url: str = "POWEROFFICE_TOKEN_URL"
    poweroffice_application_key: str = "POWEROFFICE_APPLICATION_KEY"
    poweroffice_client_key: str = "POWEROFFICE_CLIENT_KEY"
    poweroffice_subscription_key: str = "POWEROFFICE_SUBSCRIPTION_KEY"
    chargebee_site: str = "CHARGEBEE_SITE"
    chargebee_api_key: str = "CHARGEBEE_API_KEY"
    chargebee_base_url: str = "CHARGEBEE_BASE_URL"
    unset: tuple[str, ...] = ()
    file: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """One connection (tenant): a PowerOffice Go client company and a Chargebee site."""

    id: str
    poweroffice: PowerOfficeSettings
    chargebee: ChargebeeSettings
    names: SettingNames = field(default_factory=SettingNames)


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
    web_bind: str = "127.0.0.1"  # the address the web port listens on (0.0.0.0 in a container)
    retry_give_up: float = 86_400.0  # seconds a parked command is retried before it is dead
    create_timeout: float = 60.0  # seconds a link may stay `creating` before it is driven again
    sink_concurrency: int = 32  # the most commands each sink agent has in flight at once
    # The base URL at which Chargebee reaches this worker's web port; None: no webhooks.
    webhook_url: str | None = None
    # What each connection's webhook Basic credentials are derived from (set with the URL).
    webhook_secret: Secret | None = None
    # The poll schedule (docs/worker.md, "Polling schedule"): an idle connection's cadence
    # slows to at most this many times the poll interval ...
    poll_idle_backoff: float = 4.0
    # ... polls leave this fraction of every request budget to the sinks' writes ...
    poll_write_reserve: float = 0.1
    # ... writes go first, but waiting polls are guaranteed this fraction of a budget ...
    poll_min_share: float = 0.1
    # ... and a Chargebee site whose webhooks work is polled only every so many seconds.
    webhook_safety_poll: float = 300.0
    # Seconds a lane whose keys were refused (401/403) waits before it is tried again.
    refused_retry: float = 300.0

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
