"""deploy/kubernetes/: every manifest validates against the Kubernetes OpenAPI schemas
(kubernetes-validate, strict: no unknown field) and carries what a worker needs."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.unit.deploy.conftest import DEPLOY, load_all_yaml, load_yaml

K8S = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.31.0"
MANIFESTS = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def resources() -> list[dict[str, Any]]:
    return [doc for name in MANIFESTS for doc in load_all_yaml(K8S / name)]


def core_resources() -> list[dict[str, Any]]:
    """What kubernetes-validate has schemas for: all but the Prometheus Operator's
    PrometheusRule (a CRD; test_alert_rules.py checks it against alerts.yml and promtool)."""
    return [r for r in resources() if not r["apiVersion"].startswith("monitoring.coreos.com/")]


def one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


@pytest.fixture(scope="module")
def statefulset() -> dict[str, Any]:
    return one("StatefulSet", "ledgerlink-worker")


@pytest.fixture(scope="module")
def worker(statefulset) -> dict[str, Any]:
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_manifests_are_these():
    assert MANIFESTS == [
        "configmap-connections.yaml",
        "prometheusrule.yaml",
        "secret.example.yaml",
        "service.yaml",
        "statefulset.yaml",
    ]
    assert sorted((r["apiVersion"], r["kind"], r["metadata"]["name"]) for r in resources()) == [
        ("apps/v1", "StatefulSet", "ledgerlink-worker"),
        ("monitoring.coreos.com/v1", "PrometheusRule", "ledgerlink"),
        ("v1", "ConfigMap", "ledgerlink-connections"),
        ("v1", "Secret", "ledgerlink-secrets"),
        ("v1", "Service", "ledgerlink"),
        ("v1", "Service", "ledgerlink-worker"),
    ]


@pytest.mark.parametrize("index", range(5))
def test_each_resource_is_valid_against_the_kubernetes_schema(index):
    resource = core_resources()[index]
    assert kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True) == "1.31"


def test_the_schema_check_catches_a_mistake(statefulset):
    broken = copy.deepcopy(statefulset)
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_applies_everything_but_the_example_secret_and_the_crd():
    kustomization = load_yaml(K8S / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["resources"] == [
        "configmap-connections.yaml",
        "statefulset.yaml",
        "service.yaml",
    ]


def test_each_worker_gets_its_own_volume_for_rocksdb(statefulset, worker):
    spec = statefulset["spec"]
    assert spec["replicas"] == 2
    assert spec["serviceName"] == "ledgerlink-worker"
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    mounts = {m["name"]: m for m in worker["volumeMounts"]}
    assert mounts["data"]["mountPath"] == "/var/lib/ledgerlink"
    assert env_of(worker)["LEDGERLINK_DATA_DIR"] == "/var/lib/ledgerlink"


def test_partitions_give_every_replica_work(statefulset, worker):
    assert int(env_of(worker)["LEDGERLINK_PARTITIONS"]) >= statefulset["spec"]["replicas"]
    # The workers split this budget by the connections each polls: it is the whole one.
    rate = float(env_of(worker)["POWEROFFICE_REQUESTS_PER_SECOND"])
    assert 0 < rate < 10


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_probes_ask_the_status_page_on_the_web_port(worker, probe):
    assert worker[probe]["httpGet"] == {"path": "/ledgerlink/status", "port": "web"}
    assert worker[probe]["timeoutSeconds"] == 5


def test_liveness_is_more_patient_than_readiness(worker):
    def window(probe: str) -> int:
        return int(worker[probe]["periodSeconds"] * worker[probe]["failureThreshold"])

    assert window("readinessProbe") == 30
    assert window("livenessProbe") == 120
    assert window("startupProbe") == 900


def test_the_web_port_is_named_and_listens_on_every_interface(worker):
    assert worker["ports"] == [{"name": "web", "containerPort": 6066, "protocol": "TCP"}]
    env = env_of(worker)
    assert env["LEDGERLINK_WEB_PORT"] == "6066"
    assert env["LEDGERLINK_WEB_BIND"] == "0.0.0.0"


def test_resources_have_requests_and_limits(worker):
    assert worker["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }


def test_the_worker_runs_as_the_images_non_root_user(statefulset, worker):
    pod = statefulset["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert (pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (10001, 10001, 10001)
    assert worker["securityContext"]["allowPrivilegeEscalation"] is False
    assert worker["securityContext"]["readOnlyRootFilesystem"] is True


def test_secrets_come_from_the_secret_only(worker):
    assert worker["envFrom"] == [{"secretRef": {"name": "ledgerlink-secrets"}}]
    assert env_of(worker)["LEDGERLINK_WEBHOOK_SECRET"] == {
        "secretKeyRef": {
            "name": "ledgerlink-secrets",
            "key": "LEDGERLINK_WEBHOOK_SECRET",
            "optional": True,
        }
    }
    for item in worker["env"]:
        if item["name"].endswith(("_KEY", "_SECRET")):
            assert "value" not in item, item["name"]


def test_the_connections_file_is_mounted_from_the_configmap(statefulset, worker):
    volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
    assert volumes["connections"]["configMap"] == {
        "name": "ledgerlink-connections",
        "items": [{"key": "connections.toml", "path": "connections.toml"}],
    }
    mounts = {m["name"]: m for m in worker["volumeMounts"]}
    assert mounts["connections"] == {
        "name": "connections",
        "mountPath": "/etc/ledgerlink",
        "readOnly": True,
    }
    mounted = Path(mounts["connections"]["mountPath"]) / "connections.toml"
    assert env_of(worker)["LEDGERLINK_CONNECTIONS_FILE"] == str(mounted)


def connections_toml() -> str:
    text = one("ConfigMap", "ledgerlink-connections")["data"]["connections.toml"]
    assert isinstance(text, str)
    return text


def named_variables() -> set[str]:
    doc = tomllib.loads(connections_toml())
    names = {v for k, v in doc["poweroffice"].items() if k.endswith("_env")}
    for connection in doc["connection"]:
        names |= {v for k, v in connection.items() if k.endswith("_env")}
    return names


def test_the_connections_file_loads_with_the_workers_own_loader(tmp_path):
    from streams.config.environment import load_settings

    path = tmp_path / "connections.toml"
    path.write_text(connections_toml(), encoding="utf-8")
    env = {name: "x" for name in named_variables()} | {"LEDGERLINK_CONNECTIONS_FILE": str(path)}
    settings = load_settings(env)
    assert [c.id for c in settings.connections] == ["acme", "fjord"]
    assert settings.connections[0].chargebee.base_url == "https://acme.chargebee.com/api/v2"
    assert settings.connections[0].poweroffice.base_url == "https://goapi.poweroffice.net/v2"


def test_the_example_secret_holds_every_variable_the_connections_file_names():
    secret = one("Secret", "ledgerlink-secrets")
    assert named_variables() == {
        "POWEROFFICE_APPLICATION_KEY",
        "POWEROFFICE_SUBSCRIPTION_KEY",
        "ACME_POWEROFFICE_CLIENT_KEY",
        "ACME_CHARGEBEE_API_KEY",
        "FJORD_POWEROFFICE_CLIENT_KEY",
        "FJORD_CHARGEBEE_API_KEY",
    }
    assert set(secret["stringData"]) == named_variables() | {"LEDGERLINK_WEBHOOK_SECRET"}
    assert set(secret["stringData"].values()) == {"replace-me"}


def test_the_services_reach_the_web_port_and_the_webhooks(statefulset):
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    headless = one("Service", "ledgerlink-worker")
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["ports"] == [
        {"name": "web", "port": 6066, "targetPort": "web", "protocol": "TCP"}
    ]
    service = one("Service", "ledgerlink")
    assert service["spec"]["ports"] == [
        {"name": "web", "port": 6066, "targetPort": "web", "protocol": "TCP"},
        {"name": "webhooks", "port": 80, "targetPort": "web", "protocol": "TCP"},
    ]
    for svc in (headless, service):
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        assert svc["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]


def test_prometheus_can_find_the_workers_by_annotation(statefulset):
    annotations = statefulset["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "6066",
        "prometheus.io/path": "/metrics",
    }
