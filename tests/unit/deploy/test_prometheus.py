"""deploy/prometheus/: the scrape configuration an operator starts from."""

from __future__ import annotations

from tests.unit.deploy.conftest import DEPLOY, load_yaml


def test_prometheus_scrapes_the_compose_workers_web_port():
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    compose = load_yaml(DEPLOY / "compose" / "docker-compose.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "ledgerlink"]
    assert job["metrics_path"] == "/metrics"
    workers = sorted(s for s in compose["services"] if s.startswith("worker-"))
    port = compose["services"]["worker-1"]["environment"]["LEDGERLINK_WEB_PORT"]
    assert job["static_configs"] == [{"targets": [f"{w}:{port}" for w in workers]}]


def test_prometheus_loads_the_rule_file_and_sends_to_alertmanager():
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    assert config["rule_files"] == ["/etc/prometheus/ledgerlink/alerts.yml"]
    assert config["alerting"] == {
        "alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]
    }


def test_alertmanager_routes_to_a_receiver_it_defines():
    config = load_yaml(DEPLOY / "prometheus" / "alertmanager.yml")
    assert config["route"]["receiver"] == "local-trial"
    assert [r["name"] for r in config["receivers"]] == ["local-trial"]
