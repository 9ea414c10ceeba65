"""deploy/prometheus/alerts.yml: the rules parse (`promtool check rules`), each behaves as
its unit tests say (`promtool test rules`), they carry what an operator needs, and the
Kubernetes PrometheusRule holds exactly the same groups.

promtool comes from `make install` (deploy/prometheus/install-prometheus.sh). Without it
these tests are skipped on a laptop, but fail under CI=true: a CI run must not go green
with the rules untested.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.tools import require_program
from tests.unit.deploy.conftest import DEPLOY, load_all_yaml, load_yaml

PROMETHEUS = DEPLOY / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "tests" / "alerts_test.yml"
RUNBOOK = DEPLOY.parent / "docs" / "operations.md"
PROMETHEUS_RULE = DEPLOY / "kubernetes" / "prometheusrule.yaml"

ALERT_NAMES = {
    "LedgerlinkSyncLagging",
    "LedgerlinkPollStale",
    "LedgerlinkDeadLetters",
    "LedgerlinkWorkerDown",
    "LedgerlinkConsumerLagGrowing",
}


#: The labels each alert's series carry (besides job): what its annotations may name.
LABELS_OF = {
    "LedgerlinkSyncLagging": {"instance", "connection"},
    "LedgerlinkPollStale": {"instance", "connection", "source"},
    "LedgerlinkDeadLetters": {"connection"},
    "LedgerlinkWorkerDown": {"instance"},
    "LedgerlinkConsumerLagGrowing": {"instance", "topic", "partition"},
}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_program("promtool")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


def rules() -> list[dict[str, Any]]:
    groups = load_yaml(ALERTS)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def github_anchor(heading: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_the_rule_file_holds_the_five_alerts_of_the_design():
    assert {rule["alert"] for rule in rules()} == ALERT_NAMES
    assert len(rules()) == len(ALERT_NAMES)


def test_promtool_accepts_the_rule_file(promtool):
    result = run(promtool, "check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERT_NAMES)} rules found" in result.stdout


def test_every_rule_passes_its_promtool_unit_tests(promtool):
    result = run(promtool, "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_catch_a_changed_threshold(promtool, tmp_path):
    """A rule file whose sync lag threshold drifted fails the same tests."""
    (tmp_path / "tests").mkdir()
    shutil.copy(RULE_TESTS, tmp_path / "tests" / RULE_TESTS.name)
    text = ALERTS.read_text(encoding="utf-8")
    assert text.count("ledgerlink_sync_lag_seconds > 600") == 1
    (tmp_path / "alerts.yml").write_text(
        text.replace("ledgerlink_sync_lag_seconds > 600", "ledgerlink_sync_lag_seconds > 1200"),
        encoding="utf-8",
    )
    result = run(promtool, "test", "rules", str(tmp_path / "tests" / RULE_TESTS.name))
    assert result.returncode != 0, result.stdout
    assert "LedgerlinkSyncLagging" in result.stdout + result.stderr


def test_every_rule_has_a_case_where_it_fires_and_one_where_it_does_not():
    cases = load_yaml(RULE_TESTS)
    assert cases["rule_files"] == ["../alerts.yml"]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in cases["tests"]:
        for check in case["alert_rule_test"]:
            (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fires == ALERT_NAMES
    assert quiet == ALERT_NAMES


def test_prometheus_yml_with_its_rule_file_passes_promtool(promtool, tmp_path):
    """prometheus.yml names the rule file where compose mounts it; pointed at this
    checkout's copy, promtool checks the configuration and the rules together."""
    config = (PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8")
    mounted = "/etc/prometheus/ledgerlink/alerts.yml"
    assert mounted in config
    (tmp_path / "prometheus.yml").write_text(config.replace(mounted, str(ALERTS)), "utf-8")
    result = run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


@pytest.mark.parametrize("name", sorted(ALERT_NAMES))
def test_each_alert_has_a_severity_a_summary_a_description_and_a_runbook(name):
    (rule,) = [r for r in rules() if r["alert"] == name]
    assert rule["labels"]["severity"] in {"warning", "critical"}
    annotations = rule["annotations"]
    assert set(annotations) == {"summary", "description", "runbook_url"}
    text = annotations["summary"] + annotations["description"]
    # Only labels the metrics carry; a typo would render as an empty string.
    assert set(re.findall(r"\$labels\.(\w+)", text)) <= LABELS_OF[name]
    if "connection" in LABELS_OF[name]:
        assert "{{ $labels.connection }}" in annotations["description"]
    assert annotations["runbook_url"] == f"docs/operations.md#{name.lower()}"


def test_every_runbook_url_names_a_heading_of_the_runbook():
    headings = re.findall(r"^#{1,6} (.+)$", RUNBOOK.read_text(encoding="utf-8"), re.MULTILINE)
    anchors = {github_anchor(h) for h in headings}
    for rule in rules():
        path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert (DEPLOY.parent / path) == RUNBOOK
        assert anchor in anchors, f"{rule['alert']}: no heading of {RUNBOOK.name} gives #{anchor}"


def test_the_prometheusrule_holds_exactly_the_rule_files_groups():
    (resource,) = load_all_yaml(PROMETHEUS_RULE)
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["kind"] == "PrometheusRule"
    assert resource["metadata"]["name"] == "ledgerlink"
    assert set(resource["spec"]) == {"groups"}
    assert resource["spec"]["groups"] == load_yaml(ALERTS)["groups"], (
        "deploy/kubernetes/prometheusrule.yaml drifted from deploy/prometheus/alerts.yml: "
        "copy the groups over"
    )


def test_promtool_accepts_the_prometheusrules_groups(promtool, tmp_path):
    (resource,) = load_all_yaml(PROMETHEUS_RULE)
    extracted = tmp_path / "rules.yml"
    extracted.write_text(yaml.safe_dump({"groups": resource["spec"]["groups"]}), "utf-8")
    result = run(promtool, "check", "rules", str(extracted))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_runbooks_links_to_sections_name_headings_that_exist():
    def anchors(path: Path) -> set[str]:
        text = path.read_text(encoding="utf-8")
        return {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}

    links = re.findall(r"\]\(([^)#]*)#([^)]+)\)", RUNBOOK.read_text(encoding="utf-8"))
    assert len(links) >= 10
    for target, anchor in links:
        path = RUNBOOK.parent / target if target else RUNBOOK
        assert anchor in anchors(path), f"{RUNBOOK.name} links to {target}#{anchor}"
