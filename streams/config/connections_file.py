"""Reading `LEDGERLINK_CONNECTIONS_FILE`: several connections served by one worker.

The file (TOML, format in docs/worker.md) names the environment variables that hold each
connection's secrets; it never holds a secret itself. Every mistake is a `ConfigError`
naming the file, the connection and the key, and none shows a secret's value. Each
connection's `SettingNames` records the variables the file points at (and the file keys
of its URLs), so that later errors (refused keys, an unreachable URL) can name them too.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from connectors.exceptions import ConfigError
from connectors.secrets import Secret
from streams.config.settings import (
    ChargebeeSettings,
    ConnectionSettings,
    PowerOfficeSettings,
    SettingNames,
    chargebee_site_url,
    check_url,
    valid_connection_id,
    valid_site,
)

__all__ = ["load_connections"]

SETTING = "LEDGERLINK_CONNECTIONS_FILE"

_SHARED_KEYS = {"base_url", "token_url", "application_key_env", "subscription_key_env"}
_CONNECTION_KEYS = {
    "id",
    "poweroffice_client_key_env",
    "poweroffice_base_url",
    "poweroffice_token_url",
    "chargebee_site",
    "chargebee_api_key_env",
    "chargebee_base_url",
    "chargebee_requests_per_minute",
}


class _File:
    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = env

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(SETTING, f"{self.path}: {where}: {problem}")

    def text(self, table: Mapping[str, Any], key: str, where: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"{key} must be non-empty text")
        return value.strip()

    def url(self, table: Mapping[str, Any], key: str, where: str, default: str) -> str:
        if key not in table:
            return default
        value = self.text(table, key, where)
        if not check_url(value):
            raise self.fail(where, f"{key} must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def secret_name(
        self, table: Mapping[str, Any], key: str, where: str, default: str | None = None
    ) -> str:
        """The environment variable the file names under ``key`` (or ``default``)."""
        if key not in table and default is None:
            raise self.fail(where, f"{key} is required (the variable holding the secret)")
        return self.text(table, key, where) if key in table else str(default)

    def secret(
        self, table: Mapping[str, Any], key: str, where: str, default: str | None = None
    ) -> Secret:
        """The value of the environment variable the file names under ``key``."""
        name = self.secret_name(table, key, where, default)
        value = self.env.get(name)
        if not value:
            raise self.fail(where, f"{key} names the environment variable {name}, which is not set")
        return Secret(value)

    @staticmethod
    def unknown(table: Mapping[str, Any], known: set[str]) -> list[str]:
        return sorted(set(table) - known)


def load_connections(
    path: Path,
    env: Mapping[str, str],
    *,
    poweroffice: PowerOfficeSettings,
    chargebee: ChargebeeSettings,
) -> tuple[ConnectionSettings, ...]:
    """The connections of ``path``; ``poweroffice``/``chargebee`` hold the defaults from the
    environment (URLs, budgets) that the file may override."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(SETTING, f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(SETTING, f"{path} is not valid TOML: {exc}") from exc
    file = _File(path, env)
    unknown = file.unknown(doc, {"poweroffice", "connection"})
    if unknown:
        raise file.fail("top level", f"unknown key(s) {', '.join(unknown)}")

    shared_table = doc.get("poweroffice", {})
    if not isinstance(shared_table, dict):
        raise file.fail("[poweroffice]", "must be a table")
    unknown = file.unknown(shared_table, _SHARED_KEYS)
    if unknown:
        raise file.fail("[poweroffice]", f"unknown key(s) {', '.join(unknown)}")
    where = "[poweroffice]"
    shared_names = SettingNames(
        poweroffice_base_url=(
            f"base_url of [poweroffice] in {path}"
            if "base_url" in shared_table
            else "POWEROFFICE_BASE_URL"
        ),
        poweroffice_token_url=(
            f"token_url of [poweroffice] in {path}"
            if "token_url" in shared_table
            else "POWEROFFICE_TOKEN_URL"
        ),
        poweroffice_application_key=file.secret_name(
            shared_table, "application_key_env", where, "POWEROFFICE_APPLICATION_KEY"
        ),
        poweroffice_subscription_key=file.secret_name(
            shared_table, "subscription_key_env", where, "POWEROFFICE_SUBSCRIPTION_KEY"
        ),
        file=str(path),
    )
    shared = replace(
        poweroffice,
        base_url=file.url(shared_table, "base_url", where, poweroffice.base_url),
        token_url=file.url(shared_table, "token_url", where, poweroffice.token_url),
        application_key=file.secret(
            shared_table, "application_key_env", where, "POWEROFFICE_APPLICATION_KEY"
        ),
        subscription_key=file.secret(
            shared_table, "subscription_key_env", where, "POWEROFFICE_SUBSCRIPTION_KEY"
        ),
    )

    tables = doc.get("connection")
    if not isinstance(tables, list) or not tables:
        raise file.fail("[[connection]]", "list at least one connection")
    connections: list[ConnectionSettings] = []
    for number, table in enumerate(tables, start=1):
        where = f"connection #{number}"
        if not isinstance(table, dict):
            raise file.fail(where, "must be a table")
        connection_id = file.text(table, "id", where)
        where = f"connection {connection_id!r}"
        if not valid_connection_id(connection_id):
            raise file.fail(where, "id: use letters, digits, '-' and '_' only")
        if any(c.id == connection_id for c in connections):
            raise file.fail(where, "id is used twice")
        unknown = file.unknown(table, _CONNECTION_KEYS)
        if unknown:
            raise file.fail(where, f"unknown key(s) {', '.join(unknown)}")
        site = file.text(table, "chargebee_site", where)
        if not valid_site(site):
            raise file.fail(where, f"chargebee_site {site!r} is not a site name")
        budget = table.get("chargebee_requests_per_minute", chargebee.requests_per_minute)
        if not isinstance(budget, int) or budget < 1:
            raise file.fail(where, "chargebee_requests_per_minute must be a positive integer")
        in_file = f"of connection {connection_id!r} in {path}"
        po_base_url = (
            f"poweroffice_base_url {in_file}"
            if "poweroffice_base_url" in table
            else shared_names.poweroffice_base_url
        )
        po_token_url = (
            f"poweroffice_token_url {in_file}"
            if "poweroffice_token_url" in table
            else shared_names.poweroffice_token_url
        )
        names = replace(
            shared_names,
            poweroffice_base_url=po_base_url,
            poweroffice_token_url=po_token_url,
            poweroffice_client_key=file.secret_name(table, "poweroffice_client_key_env", where),
            chargebee_site=f"chargebee_site {in_file}",
            chargebee_api_key=file.secret_name(table, "chargebee_api_key_env", where),
            chargebee_base_url=f"chargebee_base_url {in_file}",
            # Only the URLs can fall back to unset variables: every secret must be set.
            unset=tuple(
                name
                for name in (po_base_url, po_token_url)
                if name.startswith("POWEROFFICE_") and not env.get(name)
            ),
        )
        connections.append(
            ConnectionSettings(
                id=connection_id,
                poweroffice=replace(
                    shared,
                    base_url=file.url(table, "poweroffice_base_url", where, shared.base_url),
                    token_url=file.url(table, "poweroffice_token_url", where, shared.token_url),
                    client_key=file.secret(table, "poweroffice_client_key_env", where),
                ),
                chargebee=ChargebeeSettings(
                    site=site,
                    api_key=file.secret(table, "chargebee_api_key_env", where),
                    base_url=file.url(table, "chargebee_base_url", where, chargebee_site_url(site)),
                    requests_per_minute=budget,
                ),
                names=names,
            )
        )
    return tuple(connections)
