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


def test_topics_have_twelve_partitions_unless_told_otherwise():
    assert load_settings({}).partitions == 12
    assert load_settings({"LEDGERLINK_PARTITIONS": "24"}).partitions == 24


def test_chargebee_base_url_defaults_to_the_site():
    settings = load_settings({"CHARGEBEE_SITE": "acme-test"})
    assert settings.chargebee.base_url == "https://acme-test.chargebee.com/api/v2"


def test_without_a_site_chargebee_is_the_local_simulator_never_a_real_host():
    for env in ({}, {"CHARGEBEE_API_KEY": "test_x"}, {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}):
        settings = load_settings(env)
        assert settings.chargebee.base_url == "http://127.0.0.1:8102/api/v2"
        assert "chargebee.com" not in repr(settings)


def test_every_default_url_is_a_local_simulator():
    connection = load_settings({}).connections[0]
    urls = (
        connection.poweroffice.base_url,
        connection.poweroffice.token_url,
        connection.chargebee.base_url,
    )
    assert all(url.startswith("http://127.0.0.1:") for url in urls)


def test_a_named_base_url_wins_over_the_site():
    settings = load_settings(
        {"CHARGEBEE_SITE": "acme-test", "CHARGEBEE_BASE_URL": "http://127.0.0.1:9102/api/v2/"}
    )
    assert settings.chargebee.base_url == "http://127.0.0.1:9102/api/v2"


def test_the_connection_remembers_which_variables_were_left_unset():
    settings = load_settings({"POWEROFFICE_CLIENT_KEY": "k", "CHARGEBEE_SITE": "acme-test"})
    names = settings.connections[0].names
    assert names.unset == (
        "POWEROFFICE_BASE_URL",
        "POWEROFFICE_TOKEN_URL",
        "POWEROFFICE_APPLICATION_KEY",
        "POWEROFFICE_SUBSCRIPTION_KEY",
        "CHARGEBEE_API_KEY",
        "CHARGEBEE_BASE_URL",
    )
    assert names.chargebee_api_key == "CHARGEBEE_API_KEY"
    assert names.file is None


def test_an_empty_variable_counts_as_unset():
    names = load_settings({"CHARGEBEE_API_KEY": ""}).connections[0].names
    assert "CHARGEBEE_API_KEY" in names.unset


def test_each_sink_has_32_commands_in_flight_unless_told_otherwise():
    assert load_settings({}).sink_concurrency == 32
    assert load_settings({"LEDGERLINK_SINK_CONCURRENCY": "4"}).sink_concurrency == 4


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
        ("LEDGERLINK_PARTITIONS", "0"),
        ("LEDGERLINK_PARTITIONS", "many"),
        ("LEDGERLINK_POLL_IDLE_BACKOFF", "0.5"),
        ("LEDGERLINK_POLL_WRITE_RESERVE", "0.9"),
        ("LEDGERLINK_POLL_WRITE_RESERVE", "-0.1"),
        ("LEDGERLINK_POLL_MIN_SHARE", "0"),
        ("LEDGERLINK_POLL_MIN_SHARE", "1"),
        ("LEDGERLINK_POLL_MIN_SHARE", "some"),
        ("LEDGERLINK_WEBHOOK_SAFETY_POLL", "0"),
        ("LEDGERLINK_WEBHOOK_SAFETY_POLL", "hourly"),
        ("LEDGERLINK_REFUSED_RETRY", "0"),
        ("LEDGERLINK_REFUSED_RETRY", "-5"),
        ("LEDGERLINK_REFUSED_RETRY", "5 min"),
        ("LEDGERLINK_SINK_CONCURRENCY", "0"),
        ("LEDGERLINK_SINK_CONCURRENCY", "2.5"),
        ("LEDGERLINK_SINK_CONCURRENCY", "many"),
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


def test_the_web_port_listens_on_loopback_unless_told_otherwise():
    assert load_settings({}).web_bind == "127.0.0.1"
    assert load_settings({"LEDGERLINK_WEB_BIND": "  "}).web_bind == "127.0.0.1"
    assert load_settings({"LEDGERLINK_WEB_BIND": "0.0.0.0"}).web_bind == "0.0.0.0"


def test_a_malformed_bind_address_names_the_variable():
    with pytest.raises(ConfigError, match="LEDGERLINK_WEB_BIND"):
        load_settings({"LEDGERLINK_WEB_BIND": "0.0.0.0; rm -rf /"})


def test_webhooks_are_off_without_a_url():
    settings = load_settings({})
    assert settings.webhook_url is None


def test_a_webhook_url_needs_the_secret_and_the_error_names_it():
    with pytest.raises(ConfigError) as caught:
        load_settings({"LEDGERLINK_WEBHOOK_URL": "https://hooks.example.no"})
    assert caught.value.setting == "LEDGERLINK_WEBHOOK_SECRET"


def test_a_webhook_url_must_be_http_and_is_kept_without_trailing_slash():
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {"LEDGERLINK_WEBHOOK_URL": "hooks.example.no", "LEDGERLINK_WEBHOOK_SECRET": "s"}
        )
    assert caught.value.setting == "LEDGERLINK_WEBHOOK_URL"
    settings = load_settings(
        {"LEDGERLINK_WEBHOOK_URL": "https://hooks.example.no/", "LEDGERLINK_WEBHOOK_SECRET": "s3"}
    )
    assert settings.webhook_url == "https://hooks.example.no"
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.reveal() == "s3"
    assert "s3" not in repr(settings)


def test_the_poll_schedule_has_defaults_and_variables():
    defaults = load_settings({})
    assert (
        defaults.poll_idle_backoff,
        defaults.poll_write_reserve,
        defaults.poll_min_share,
        defaults.webhook_safety_poll,
    ) == (4.0, 0.1, 0.1, 300.0)
    told = load_settings(
        {
            "LEDGERLINK_POLL_IDLE_BACKOFF": "1",
            "LEDGERLINK_POLL_WRITE_RESERVE": "0.25",
            "LEDGERLINK_POLL_MIN_SHARE": "0.3",
            "LEDGERLINK_WEBHOOK_SAFETY_POLL": "600",
        }
    )
    assert (
        told.poll_idle_backoff,
        told.poll_write_reserve,
        told.poll_min_share,
        told.webhook_safety_poll,
    ) == (1.0, 0.25, 0.3, 600.0)


def test_a_refused_connection_is_tried_again_after_a_setting():
    assert load_settings({}).refused_retry == 300.0
    assert load_settings({"LEDGERLINK_REFUSED_RETRY": "45"}).refused_retry == 45.0
