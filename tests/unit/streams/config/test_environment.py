"""Settings: local defaults work, bad values fail fast naming the variable, secrets hidden."""

from __future__ import annotations

import pytest

from connectors.exceptions import ConfigError
from streams.config import load_settings


def test_defaults_point_at_local_kafka_and_the_simulators():
    settings = load_settings({})
    assert settings.kafka_bootstrap_servers == "localhost:9092"
    assert settings.poweroffice.base_url == "http://127.0.0.1:8101/v2"
    assert settings.poll_interval == 30.0
    assert settings.web_port == 6066


def test_chargebee_base_url_defaults_to_the_site():
    settings = load_settings({"CHARGEBEE_SITE": "acme-test"})
    assert settings.chargebee.base_url == "https://acme-test.chargebee.com/api/v2"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEDGERLINK_POLL_INTERVAL", "soon"),
        ("LEDGERLINK_POLL_INTERVAL", "0"),
        ("LEDGERLINK_WEB_PORT", "70000"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost"),
        ("POWEROFFICE_BASE_URL", "goapi/v2"),
        ("CHARGEBEE_SITE", "acme.test/x"),
        ("LEDGERLINK_CONNECTION_ID", "a b"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(name, value):
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    assert caught.value.setting == name
    assert name in str(caught.value)


def test_secrets_never_show_in_the_repr():
    settings = load_settings(
        {"CHARGEBEE_API_KEY": "live_supersecret", "POWEROFFICE_CLIENT_KEY": "client-secret-1"}
    )
    shown = repr(settings) + str(settings)
    assert "live_supersecret" not in shown
    assert "client-secret-1" not in shown
    assert settings.chargebee.api_key.reveal() == "live_supersecret"
