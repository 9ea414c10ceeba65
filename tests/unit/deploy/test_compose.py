"""deploy/compose/docker-compose.yml: valid against the Compose specification's JSON
schema (as vendored by check-jsonschema), and it wires what the local trial needs."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.unit.deploy.conftest import DEPLOY, load_yaml

COMPOSE = DEPLOY / "compose" / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = load_yaml(COMPOSE)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    # Read from the installed distribution without importing check_jsonschema (its CLI
    # needs a newer click than faust-streaming allows; only its vendored schema is used).
    path = metadata.distribution("check-jsonschema").locate_file(
        "check_jsonschema/builtin_schemas/vendor/compose-spec.json"
    )
    text = Path(str(path)).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema_errors(doc: Any, schema: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return sorted(
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(doc)
    )


def test_the_schema_is_the_compose_specification(schema):
    assert schema["$id"] == "compose_spec.json"
    assert {"services", "volumes", "networks"} <= set(schema["properties"])


def test_compose_file_is_valid_against_the_compose_specification(compose, schema):
    assert schema_errors(compose, schema) == []


def test_the_schema_check_catches_a_mistake(compose, schema):
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker-1"]["restart"] = ["always"]  # must be a string
    broken["services"]["kafka"]["imagee"] = "typo"  # unknown key
    errors = schema_errors(broken, schema)
    assert any(e.startswith("services/worker-1/restart:") for e in errors), errors
    assert any(e.startswith("services/kafka:") and "imagee" in e for e in errors), errors


def test_the_trial_has_kafka_two_workers_the_simulators_and_monitoring(compose):
    assert sorted(compose["services"]) == [
        "alertmanager",
        "chargebee-sim",
        "kafka",
        "poweroffice-sim",
        "prometheus",
        "worker-1",
        "worker-2",
    ]


def test_kafka_is_the_official_image_in_kraft_mode(compose):
    kafka = compose["services"]["kafka"]
    assert kafka["image"].split(":")[0] == "apache/kafka"
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert env["KAFKA_ADVERTISED_LISTENERS"].split(",")[0] == "INTERNAL://kafka:9092"
    assert kafka["volumes"] == ["kafka-data:/var/lib/kafka/data"]
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
    assert "ZOOKEEPER" not in " ".join(env)


@pytest.mark.parametrize(("service", "port"), [("worker-1", "6066"), ("worker-2", "6067")])
def test_each_worker_runs_the_image_with_its_own_data_volume(compose, service, port):
    worker = compose["services"][service]
    assert worker["build"] == {"context": "../..", "dockerfile": "deploy/docker/Dockerfile"}
    assert worker["command"] == ["worker"]
    assert worker["volumes"] == [f"{service}-data:/var/lib/ledgerlink"]
    assert worker["ports"] == [f"{port}:6066"]
    assert f"{service}-data" in compose["volumes"]
    assert worker["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "poweroffice-sim": {"condition": "service_healthy"},
        "chargebee-sim": {"condition": "service_healthy"},
    }


def test_the_workers_talk_to_kafka_and_the_simulators_by_service_name(compose):
    env = compose["services"]["worker-1"]["environment"]
    assert env == compose["services"]["worker-2"]["environment"]
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["LEDGERLINK_DATA_DIR"] == "/var/lib/ledgerlink"
    assert env["LEDGERLINK_WEB_BIND"] == "0.0.0.0"
    assert env["LEDGERLINK_PARTITIONS"] == "12"
    assert env["POWEROFFICE_BASE_URL"] == "http://poweroffice-sim:8101/v2"
    assert env["POWEROFFICE_TOKEN_URL"] == "http://poweroffice-sim:8101/OAuth/Token"
    assert env["CHARGEBEE_BASE_URL"] == "http://chargebee-sim:8102/api/v2"
    # The workers split this budget by the connections each polls: it is the whole one.
    assert 0 < float(env["POWEROFFICE_REQUESTS_PER_SECOND"]) < 10


def test_the_workers_environment_is_what_the_worker_reads(compose):
    """Every variable parses with the worker's own settings loader (no typo goes unseen)."""
    from streams.config.environment import load_settings

    env = compose["services"]["worker-1"]["environment"]
    settings = load_settings(env)
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.partitions == 12
    assert settings.web_port == 6066
    assert str(settings.data_dir) == "/var/lib/ledgerlink"
    (connection,) = settings.connections
    assert connection.poweroffice.base_url == "http://poweroffice-sim:8101/v2"
    assert connection.chargebee.base_url == "http://chargebee-sim:8102/api/v2"


def test_no_secret_is_written_into_the_compose_file(compose):
    for name, service in compose["services"].items():
        for key in service.get("environment", {}):
            assert not key.endswith(("_KEY", "_SECRET", "PASSWORD")), f"{name}: {key}"


@pytest.mark.parametrize(
    ("service", "argv", "port"),
    [
        (
            "poweroffice-sim",
            ["simulator", "poweroffice", "--host", "0.0.0.0", "--port", "8101"],
            8101,
        ),
        ("chargebee-sim", ["simulator", "chargebee", "--host", "0.0.0.0", "--port", "8102"], 8102),
    ],
)
def test_the_simulators_listen_on_every_interface_and_report_health(compose, service, argv, port):
    sim = compose["services"][service]
    assert sim["image"] == compose["services"]["worker-1"]["image"]
    assert sim["command"] == argv
    assert sim["ports"] == [f"{port}:{port}"]
    assert f"http://127.0.0.1:{port}/_sim/health" in " ".join(sim["healthcheck"]["test"])


def test_the_simulator_commands_are_accepted_by_the_cli():
    from streams.cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args(["simulator", "chargebee", "--host", "0.0.0.0", "--port", "8102"])
    assert (args.host, args.port) == ("0.0.0.0", 8102)


def test_prometheus_reads_the_config_and_the_rules_directory(compose):
    prometheus = compose["services"]["prometheus"]
    assert "--config.file=/etc/prometheus/ledgerlink/prometheus.yml" in prometheus["command"]
    assert "../prometheus:/etc/prometheus/ledgerlink:ro" in prometheus["volumes"]
    alertmanager = compose["services"]["alertmanager"]
    assert (
        "../prometheus/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"
        in alertmanager["volumes"]
    )
    for source in ("prometheus.yml", "alertmanager.yml", "alerts.yml"):
        assert (DEPLOY / "prometheus" / source).is_file()


def test_prometheus_finds_the_rule_file_where_compose_mounts_it(compose):
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    mounts = dict(
        v.removesuffix(":ro").split(":") for v in compose["services"]["prometheus"]["volumes"]
    )
    host_dir = {target: source for source, target in mounts.items()}["/etc/prometheus/ledgerlink"]
    for rule_file in config["rule_files"]:
        relative = rule_file.removeprefix("/etc/prometheus/ledgerlink/")
        assert relative != rule_file, f"{rule_file} is not under the mounted directory"
        assert (DEPLOY / "compose" / host_dir / relative).resolve() == (
            DEPLOY / "prometheus" / "alerts.yml"
        )
