"""Alerting end to end (issue 8): a real Prometheus server (the `prometheus` binary of
`make install`) scrapes a real worker's `/metrics` every second and evaluates
deploy/prometheus/alerts.yml. While the Chargebee simulator answers 503, a new employee's
create is parked and LedgerlinkSyncLagging is seen firing through Prometheus' HTTP API;
once the faults are cleared the parked create goes through and the alert resolves.

The production rule waits for ten minutes behind for ten minutes; the copy loaded here
has only that rule's threshold and `for` shortened (`shortened_rule`, which checks that
nothing else of the rule changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.tools import require_program

from .conftest import REPO_ROOT, Harness, free_port, person
from .seeding import seed_world

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ALERTS = REPO_ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERT = "LedgerlinkSyncLagging"
#: Seconds behind, and for how long, in the test's copy of the rule.
TEST_THRESHOLD = 4
TEST_FOR = "2s"
#: Prometheus' scrape timeout cannot exceed its interval: a scrape must answer within it.
SCRAPE_SECONDS = 1


def shortened_rule(rules_text: str, alert: str, *, threshold: int, for_: str) -> dict[str, Any]:
    """The rule file with ``alert``'s `expr` threshold (its trailing `> N`) and `for`
    replaced; everything else, the rest of its expression included, stays as it is."""
    document = yaml.safe_load(rules_text)
    (rule,) = [r for g in document["groups"] for r in g["rules"] if r.get("alert") == alert]
    match = re.fullmatch(r"(?s)(?P<rest>.*\S)\s*>\s*(?P<n>\d+(\.\d+)?)\s*", rule["expr"])
    assert match is not None, f"{alert}: expected an expression ending in '> N': {rule['expr']}"
    before = dict(rule)
    rule["expr"] = f"{match['rest']} > {threshold}"
    rule["for"] = for_
    assert rule["expr"].rsplit(" > ", 1)[0] == before["expr"].rsplit(">", 1)[0].rstrip()
    assert {k: v for k, v in rule.items() if k not in {"expr", "for"}} == {
        k: v for k, v in before.items() if k not in {"expr", "for"}
    }
    assert isinstance(document, dict)
    return document


@dataclass
class RunningPrometheus:
    url: str
    log_path: Path

    async def alerts(self, name: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            response = await client.get("/api/v1/alerts")
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return [a for a in body["data"]["alerts"] if a["labels"]["alertname"] == name]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            response = await client.get("/api/v1/query", params={"query": expr})
        response.raise_for_status()
        result = response.json()["data"]["result"]
        assert isinstance(result, list)
        return result

    async def wait_scraped(self, metric: str, within: float) -> None:
        deadline = time.monotonic() + within
        while not await self.query(metric):
            if time.monotonic() > deadline:
                async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
                    targets = (await client.get("/api/v1/targets")).json()["data"]
                raise AssertionError(
                    f"{metric} never scraped; targets: {targets['activeTargets']}\n"
                    f"{self.log_tail()}"
                )
            await asyncio.sleep(0.5)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no Prometheus log)"


def write_prometheus_config(workdir: Path, worker_port: int, rules: dict[str, Any]) -> Path:
    """prometheus.yml in ``workdir``: the worker as the job `ledgerlink`, scraped every
    SCRAPE_SECONDS, and ``rules`` evaluated every second."""
    workdir.mkdir()
    (workdir / "alerts.yml").write_text(yaml.safe_dump(rules, sort_keys=False), "utf-8")
    config = {
        "global": {
            "scrape_interval": f"{SCRAPE_SECONDS}s",
            "scrape_timeout": f"{SCRAPE_SECONDS}s",
            "evaluation_interval": "1s",
        },
        "rule_files": [str(workdir / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "ledgerlink",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}],
            }
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), "utf-8")
    return workdir / "prometheus.yml"


@contextlib.asynccontextmanager
async def prometheus_scraping(
    worker_port: int, rules: dict[str, Any], workdir: Path
) -> AsyncIterator[RunningPrometheus]:
    """A real Prometheus server on a free port, configured by `write_prometheus_config`."""
    binary = require_program("prometheus")
    config = write_prometheus_config(workdir, worker_port, rules)
    port = free_port()
    log_path = workdir / "prometheus.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    running = RunningPrometheus(url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=running.url, timeout=5) as client:
            while True:
                assert process.returncode is None, f"prometheus exited:\n{running.log_tail()}"
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/-/ready")).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"prometheus not ready:\n{running.log_tail()}"
                await asyncio.sleep(0.2)
        yield running
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def wait_for_alert(
    prometheus: RunningPrometheus, harness: Harness, *, firing: bool, within: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        harness.check_alive("while the test waited for the alert")
        seen = await prometheus.alerts(ALERT)
        now_firing = [a for a in seen if a["state"] == "firing"]
        if firing and now_firing:
            return now_firing
        if not firing and not seen:
            return seen
        await asyncio.sleep(0.5)
    lag = await prometheus.query("ledgerlink_sync_lag_seconds")
    raise AssertionError(
        f"{ALERT} {'never fired' if firing else 'did not resolve'} within {within:.0f} s; "
        f"alerts: {seen}; ledgerlink_sync_lag_seconds: {lag}; "
        f"status: {await harness.status()}\nprometheus log:\n{prometheus.log_tail()}"
    )


def test_shortened_rule_changes_only_the_threshold_and_for():
    text = ALERTS.read_text(encoding="utf-8")
    short = shortened_rule(text, ALERT, threshold=4, for_="2s")
    original = yaml.safe_load(text)
    (rule,) = [r for g in short["groups"] for r in g["rules"] if r["alert"] == ALERT]
    assert rule["expr"] == "ledgerlink_sync_lag_seconds > 4"
    assert rule["for"] == "2s"
    others = [r for g in short["groups"] for r in g["rules"] if r["alert"] != ALERT]
    assert others == [r for g in original["groups"] for r in g["rules"] if r["alert"] != ALERT]
    with pytest.raises(AssertionError, match="ending in '> N'"):
        shortened_rule(text, "LedgerlinkWorkerDown", threshold=1, for_="1s")


async def lag_exit(harness: Harness, code: int, *, within: float) -> tuple[int, str, str]:
    """Runs `ledgerlink lag --max-seconds 20` until it exits with ``code``."""
    deadline = time.monotonic() + within
    while True:
        result = await harness.lag(max_seconds=20)
        if result[0] == code:
            return result
        assert time.monotonic() < deadline, f"ledgerlink lag never exited {code}: {result}"
        await asyncio.sleep(1.0)


async def test_sync_lag_alert_fires_while_chargebee_fails_and_resolves_after(
    harness: Harness, tmp_path: Path
):
    seed_world(
        harness.po_store,
        harness.cb_store,
        companies=0,
        departments=0,
        persons=0,
        employees=3,
        contacts_per_company=0,
    )
    rules = shortened_rule(
        ALERTS.read_text(encoding="utf-8"), ALERT, threshold=TEST_THRESHOLD, for_=TEST_FOR
    )
    await harness.start_worker()
    await harness.wait_converged(within=60)
    async with prometheus_scraping(harness.web_port, rules, tmp_path / "prometheus") as prom:
        await prom.wait_scraped("ledgerlink_sync_lag_seconds", within=30)
        assert await prom.query('up{job="ledgerlink"} == 1'), prom.log_tail()
        # What LedgerlinkConsumerLagGrowing compares the lag with is there too.
        offsets = await prom.query("ledgerlink_consumer_offset")
        assert harness.topic("changes") in {o["metric"]["topic"] for o in offsets}, offsets
        assert await prom.alerts(ALERT) == [], "a converged worker is not lagging"

        await harness.set_faults("chargebee", {"error_rate": 1.0, "status": 503})
        harness.po_store.add_employee(**person(500, "alert.no"))
        started = time.monotonic()
        (alert,) = await wait_for_alert(prom, harness, firing=True, within=60)
        print(f"{ALERT} fired {time.monotonic() - started:.1f} s after Chargebee began failing")
        assert alert["labels"]["connection"] == "default"
        assert alert["labels"]["severity"] == "critical"
        assert "Connection default" in alert["annotations"]["description"]
        assert float(alert["value"]) > TEST_THRESHOLD
        assert (await harness.status())["parked"] >= 1
        # The same lag from the command line, as a cron job or probe reads it.
        _, out, err = await lag_exit(harness, 1, within=started + 60 - time.monotonic())
        print(f"ledgerlink lag --max-seconds 20 exited 1 {time.monotonic() - started:.1f} s in")
        assert "default" in out, (out, err)

        await harness.set_faults("chargebee", {})
        recovered = time.monotonic()
        await wait_for_alert(prom, harness, firing=False, within=90)
        print(f"{ALERT} resolved {time.monotonic() - recovered:.1f} s after the faults cleared")
        await lag_exit(harness, 0, within=30)
        status = await harness.wait_converged(within=30)
        assert status["parked"] == 0, status
        (lag,) = await prom.query('ledgerlink_sync_lag_seconds{connection="default"}')
        assert float(lag["value"][1]) <= TEST_THRESHOLD
