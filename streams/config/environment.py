"""Reading the settings from the environment (design §6).

Every setting has a default that works on a laptop against the local Kafka and the
simulators, and an environment variable for production. No default points at a real
service: without `CHARGEBEE_SITE` Chargebee is the local simulator, and
`https://{site}.chargebee.com/api/v2` is used only for a site the operator named. A
malformed value fails at start-up with a `ConfigError` that names the variable; which
variables were left unset is kept in each connection's `SettingNames`, so that the
worker's start-up check can name them when the defaults do not answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from connectors.exceptions import ConfigError
from connectors.secrets import Secret
from streams.config.connections_file import load_connections
from streams.config.settings import (
    LOCAL_CHARGEBEE_API_KEY,
    LOCAL_CHARGEBEE_BASE_URL,
    LOCAL_CHARGEBEE_SITE,
    LOCAL_POWEROFFICE_APPLICATION_KEY,
    LOCAL_POWEROFFICE_BASE_URL,
    LOCAL_POWEROFFICE_CLIENT_KEY,
    LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
    LOCAL_POWEROFFICE_TOKEN_URL,
    ChargebeeSettings,
    ConnectionSettings,
    PowerOfficeSettings,
    SettingNames,
    Settings,
    chargebee_site_url,
    check_url,
    valid_connection_id,
    valid_site,
)

__all__ = ["CONNECTION_VARIABLES", "DEFAULT_PARTITIONS", "load_settings"]

#: Partitions of every topic: a connection lives on one, so this bounds how many workers
#: can share the connections. 12 splits evenly over 1, 2, 3, 4 or 6 workers; more can be
#: added later, never fewer (docs/worker.md, "Scaling out").
DEFAULT_PARTITIONS = 12

#: The variables that describe the one connection configured from the environment.
CONNECTION_VARIABLES = (
    "POWEROFFICE_BASE_URL",
    "POWEROFFICE_TOKEN_URL",
    "POWEROFFICE_APPLICATION_KEY",
    "POWEROFFICE_CLIENT_KEY",
    "POWEROFFICE_SUBSCRIPTION_KEY",
    "CHARGEBEE_SITE",
    "CHARGEBEE_API_KEY",
    "CHARGEBEE_BASE_URL",
)


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"expected a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum:g}, got {raw!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    value = _number(env, name, default, minimum=minimum)
    if not float(value).is_integer():
        raise ConfigError(name, f"expected a whole number, got {env.get(name)!r}")
    return int(value)


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not raw.strip().isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(name, f"expected a TCP port (1-65535), got {raw!r}")
    return int(raw)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    if not check_url(value):
        raise ConfigError(name, f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _bootstrap(env: Mapping[str, str]) -> str:
    name = "KAFKA_BOOTSTRAP_SERVERS"
    value = env.get(name) or "localhost:9092"
    for server in value.split(","):
        host, sep, port = server.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ConfigError(name, f"expected host:port[,host:port...], got {value!r}")
    return value


def _bind_address(env: Mapping[str, str]) -> str:
    name = "LEDGERLINK_WEB_BIND"
    value = (env.get(name) or "").strip() or "127.0.0.1"
    if not all(c.isalnum() or c in ".:-_" for c in value):
        raise ConfigError(name, f"expected an address such as 127.0.0.1 or 0.0.0.0, got {value!r}")
    return value


def _fraction(env: Mapping[str, str], name: str, default: float, *, below: float) -> float:
    value = _number(env, name, default, minimum=0.0)
    if value >= below:
        raise ConfigError(name, f"must be a fraction below {below:g}, got {env.get(name)!r}")
    return value


def _poll_min_share(env: Mapping[str, str]) -> float:
    """LEDGERLINK_POLL_MIN_SHARE: above 0 (polls must never starve), below 1."""
    name = "LEDGERLINK_POLL_MIN_SHARE"
    value = _fraction(env, name, 0.1, below=1.0)
    if value <= 0:
        raise ConfigError(name, f"must be a fraction above 0, got {env.get(name)!r}")
    return value


def _webhooks(env: Mapping[str, str]) -> tuple[str | None, Secret | None]:
    """LEDGERLINK_WEBHOOK_URL (optional) and LEDGERLINK_WEBHOOK_SECRET, required with it."""
    url = (env.get("LEDGERLINK_WEBHOOK_URL") or "").strip()
    secret = env.get("LEDGERLINK_WEBHOOK_SECRET") or ""
    if not url:
        return None, Secret(secret) if secret else None
    if not check_url(url):
        raise ConfigError(
            "LEDGERLINK_WEBHOOK_URL",
            f"expected the http(s) base URL Chargebee reaches this worker at, got {url!r}",
        )
    if not secret.strip():
        raise ConfigError(
            "LEDGERLINK_WEBHOOK_SECRET",
            "required when LEDGERLINK_WEBHOOK_URL is set: the webhooks' Basic credentials "
            "are derived from it",
        )
    return url.rstrip("/"), Secret(secret)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    named_site = env.get("CHARGEBEE_SITE")
    site = named_site or LOCAL_CHARGEBEE_SITE
    if not valid_site(site):
        raise ConfigError("CHARGEBEE_SITE", f"expected a site name like 'acme-test', got {site!r}")
    poweroffice = PowerOfficeSettings(
        base_url=_url(env, "POWEROFFICE_BASE_URL", LOCAL_POWEROFFICE_BASE_URL),
        token_url=_url(env, "POWEROFFICE_TOKEN_URL", LOCAL_POWEROFFICE_TOKEN_URL),
        application_key=Secret(
            env.get("POWEROFFICE_APPLICATION_KEY") or LOCAL_POWEROFFICE_APPLICATION_KEY
        ),
        client_key=Secret(env.get("POWEROFFICE_CLIENT_KEY") or LOCAL_POWEROFFICE_CLIENT_KEY),
        subscription_key=Secret(
            env.get("POWEROFFICE_SUBSCRIPTION_KEY") or LOCAL_POWEROFFICE_SUBSCRIPTION_KEY
        ),
        requests_per_second=_number(env, "POWEROFFICE_REQUESTS_PER_SECOND", 8.0, minimum=0.1),
    )
    chargebee = ChargebeeSettings(
        site=site,
        api_key=Secret(env.get("CHARGEBEE_API_KEY") or LOCAL_CHARGEBEE_API_KEY),
        # A real host only for a site the operator named; otherwise the local simulator.
        base_url=_url(
            env,
            "CHARGEBEE_BASE_URL",
            chargebee_site_url(named_site) if named_site else LOCAL_CHARGEBEE_BASE_URL,
        ),
        requests_per_minute=int(_number(env, "CHARGEBEE_REQUESTS_PER_MINUTE", 150, minimum=1)),
    )
    connection_id = env.get("LEDGERLINK_CONNECTION_ID") or "default"
    if not valid_connection_id(connection_id):
        raise ConfigError(
            "LEDGERLINK_CONNECTION_ID",
            f"use letters, digits, '-' and '_' only, got {connection_id!r}",
        )
    names = SettingNames(unset=tuple(name for name in CONNECTION_VARIABLES if not env.get(name)))
    connections: tuple[ConnectionSettings, ...] = (
        ConnectionSettings(
            id=connection_id, poweroffice=poweroffice, chargebee=chargebee, names=names
        ),
    )
    if env.get("LEDGERLINK_CONNECTIONS_FILE"):
        connections = load_connections(
            Path(env["LEDGERLINK_CONNECTIONS_FILE"]),
            env,
            poweroffice=poweroffice,
            chargebee=chargebee,
        )
    topic_prefix = env.get("LEDGERLINK_TOPIC_PREFIX", "")
    if topic_prefix and not all(c.isalnum() or c in "._-" for c in topic_prefix):
        raise ConfigError(
            "LEDGERLINK_TOPIC_PREFIX",
            f"Kafka topic names allow letters, digits, '.', '_' and '-' only, got {topic_prefix!r}",
        )
    webhook_url, webhook_secret = _webhooks(env)
    return Settings(
        connections=connections,
        kafka_bootstrap_servers=_bootstrap(env),
        topic_prefix=topic_prefix,
        partitions=int(_number(env, "LEDGERLINK_PARTITIONS", DEFAULT_PARTITIONS, minimum=1)),
        replication_factor=int(_number(env, "LEDGERLINK_REPLICATION_FACTOR", 1, minimum=1)),
        data_dir=Path(env.get("LEDGERLINK_DATA_DIR") or "./var"),
        poll_interval=_number(env, "LEDGERLINK_POLL_INTERVAL", 30.0, minimum=0.1),
        reconcile_interval=_number(env, "LEDGERLINK_RECONCILE_INTERVAL", 600.0, minimum=0.0),
        web_port=_port(env, "LEDGERLINK_WEB_PORT", 6066),
        web_bind=_bind_address(env),
        retry_give_up=_number(env, "LEDGERLINK_RETRY_GIVE_UP", 86_400.0, minimum=1.0),
        create_timeout=_number(env, "LEDGERLINK_CREATE_TIMEOUT", 60.0, minimum=1.0),
        sink_concurrency=_whole(env, "LEDGERLINK_SINK_CONCURRENCY", 32, minimum=1),
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        poll_idle_backoff=_number(env, "LEDGERLINK_POLL_IDLE_BACKOFF", 4.0, minimum=1.0),
        poll_write_reserve=_fraction(env, "LEDGERLINK_POLL_WRITE_RESERVE", 0.1, below=0.9),
        poll_min_share=_poll_min_share(env),
        webhook_safety_poll=_number(env, "LEDGERLINK_WEBHOOK_SAFETY_POLL", 300.0, minimum=1.0),
        refused_retry=_number(env, "LEDGERLINK_REFUSED_RETRY", 300.0, minimum=1.0),
    )
