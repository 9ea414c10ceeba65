"""LEDGERLINK_CONNECTIONS_FILE: several connections, secrets from named variables."""

from __future__ import annotations

import pytest

from connectors.exceptions import ConfigError
from streams.config import load_settings

FILE = """\
[poweroffice]
base_url = "https://goapi.example/v2"
token_url = "https://goapi.example/OAuth/Token"

[[connection]]
id = "acme"
poweroffice_client_key_env = "ACME_PO_CLIENT"
chargebee_site = "acme"
chargebee_api_key_env = "ACME_CB_KEY"

[[connection]]
id = "fjord"
poweroffice_client_key_env = "FJORD_PO_CLIENT"
poweroffice_base_url = "http://127.0.0.1:9101/v2"
chargebee_site = "fjord-test"
chargebee_api_key_env = "FJORD_CB_KEY"
chargebee_requests_per_minute = 1000
"""

SECRETS = {
    "POWEROFFICE_APPLICATION_KEY": "app-secret",
    "POWEROFFICE_SUBSCRIPTION_KEY": "sub-secret",
    "ACME_PO_CLIENT": "acme-client-secret",
    "ACME_CB_KEY": "live_acme_secret",
    "FJORD_PO_CLIENT": "fjord-client-secret",
    "FJORD_CB_KEY": "live_fjord_secret",
}


def settings_with(tmp_path, text=FILE, **env):
    path = tmp_path / "connections.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings({"LEDGERLINK_CONNECTIONS_FILE": str(path), **SECRETS, **env})


def test_every_connection_is_read_with_its_own_secrets_and_sites(tmp_path):
    settings = settings_with(tmp_path)
    acme, fjord = settings.connections
    assert (acme.id, fjord.id) == ("acme", "fjord")
    assert acme.poweroffice.client_key.reveal() == "acme-client-secret"
    assert fjord.chargebee.api_key.reveal() == "live_fjord_secret"
    assert acme.chargebee.base_url == "https://acme.chargebee.com/api/v2"
    assert fjord.chargebee.requests_per_minute == 1000
    assert settings.connection_id == "acme"  # the first one is the default


def test_the_poweroffice_integration_is_shared_unless_a_connection_overrides_it(tmp_path):
    acme, fjord = settings_with(tmp_path).connections
    assert acme.poweroffice.base_url == "https://goapi.example/v2"
    assert fjord.poweroffice.base_url == "http://127.0.0.1:9101/v2"
    assert acme.poweroffice.subscription_key.reveal() == "sub-secret"
    assert fjord.poweroffice.subscription_key == acme.poweroffice.subscription_key


def test_without_a_file_there_is_one_connection_from_the_environment():
    settings = load_settings({"LEDGERLINK_CONNECTION_ID": "solo"})
    assert [c.id for c in settings.connections] == ["solo"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('id = "fjord"', 'id = "acme"'), "connection 'acme': id is used twice"),
        (('chargebee_site = "acme"', 'chargebee_site = "ac me"'), "is not a site name"),
        (
            ('chargebee_site = "acme"', 'chargebee_site = "acme"\ncolour = "red"'),
            "unknown key(s) colour",
        ),
        (
            ('poweroffice_client_key_env = "ACME_PO_CLIENT"\n', ""),
            "connection 'acme': poweroffice_client_key_env is required",
        ),
        (
            ("chargebee_requests_per_minute = 1000", "chargebee_requests_per_minute = 0"),
            "positive integer",
        ),
    ],
)
def test_mistakes_name_the_file_the_connection_and_the_key(tmp_path, change, message):
    with pytest.raises(ConfigError) as caught:
        settings_with(tmp_path, FILE.replace(*change))
    assert caught.value.setting == "LEDGERLINK_CONNECTIONS_FILE"
    assert message in str(caught.value)
    assert "connections.toml" in str(caught.value)


def test_a_variable_that_is_not_set_is_named_and_no_secret_is_shown(tmp_path):
    path = tmp_path / "connections.toml"
    path.write_text(FILE, encoding="utf-8")
    env = {k: v for k, v in SECRETS.items() if k != "FJORD_CB_KEY"}
    with pytest.raises(ConfigError) as caught:
        load_settings({"LEDGERLINK_CONNECTIONS_FILE": str(path), **env})
    text = str(caught.value)
    assert "connection 'fjord'" in text
    assert "FJORD_CB_KEY" in text
    assert not any(secret in text for secret in SECRETS.values())


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings({"LEDGERLINK_CONNECTIONS_FILE": str(tmp_path / "nope.toml")})


def test_each_connection_names_the_variables_the_file_points_at(tmp_path):
    acme, fjord = settings_with(tmp_path).connections
    assert acme.names.poweroffice_client_key == "ACME_PO_CLIENT"
    assert acme.names.chargebee_api_key == "ACME_CB_KEY"
    assert acme.names.poweroffice_application_key == "POWEROFFICE_APPLICATION_KEY"
    assert acme.names.file == str(tmp_path / "connections.toml")
    assert acme.names.poweroffice_base_url.startswith("base_url of [poweroffice] in ")
    assert fjord.names.poweroffice_base_url.startswith("poweroffice_base_url of connection 'fjord'")
    assert fjord.names.chargebee_api_key == "FJORD_CB_KEY"
    assert acme.names.unset == ()


def test_urls_inherited_from_unset_variables_are_named_as_unset(tmp_path):
    text = FILE.replace('base_url = "https://goapi.example/v2"\n', "")
    acme, _ = settings_with(tmp_path, text).connections
    assert acme.names.poweroffice_base_url == "POWEROFFICE_BASE_URL"
    assert acme.names.unset == ("POWEROFFICE_BASE_URL",)
