"""Recovery by replay (issue 8, item 4), against a real worker subprocess, real Kafka and
both simulators over HTTP: `dlq replay` applies a record fixed at the source once,
`replay --since` over a synced period writes nothing, and `resync` repairs Chargebee
customers changed behind ledgerlink's back with one write each."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time

import httpx
import pytest

from connectors.poweroffice.resources import Resource
from connectors.poweroffice.timestamps import parse_timestamp

from .conftest import REPO_ROOT, Harness, WorkerProblem, customer_values, person

pytestmark = pytest.mark.integration

CUSTOMER_WRITES = ("POST", "/api/v2/customers/{id}")
CREATES = ("POST", "/api/v2/customers")
SUMMARY = re.compile(r"read (\d+), re-driven (\d+), written (\d+), unchanged (\d+)")


async def ledgerlink(harness: Harness, *args: str) -> tuple[int, str, str]:
    """Run `ledgerlink ARGS` configured like the worker; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams.cli",
        *args,
        cwd=REPO_ROOT,
        env={**os.environ, **harness.env()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def summary_of(out: str) -> dict[str, int]:
    match = SUMMARY.search(out)
    assert match, f"no summary line in {out!r}"
    read, redriven, written, unchanged = (int(g) for g in match.groups())
    return {"read": read, "redriven": redriven, "written": written, "unchanged": unchanged}


async def wait_for(what: str, check, harness: Harness, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise WorkerProblem(f"{what} not within {within:.0f} s; log:\n{harness.log_tail()}")
        harness.check_alive(f"while waiting for {what}")
        await asyncio.sleep(0.2)


async def test_dead_letter_replay_after_a_fix_at_the_source_applies_the_record_once(
    harness: Harness,
):
    long_email = "kari.nordmann." + "x" * 45 + "@eksempel.no"
    neighbours = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(3)]
    bad = harness.po_store.add_employee(
        FirstName="Kari", LastName="Nordmann", EmailAddress=long_email
    )
    await harness.start_worker()
    await harness.wait_converged(within=60)
    record_key = f"poweroffice:Employee:{bad['Id']}"

    code, out, err = await ledgerlink(harness, "dlq", "list")
    assert code == 0, err
    [line] = [row for row in out.splitlines() if record_key in row]
    letter_id = line.split()[0]
    assert "70" in line, line
    code, shown, err = await ledgerlink(harness, "dlq", "show", "--id", letter_id)
    assert code == 0, err
    assert record_key in shown
    assert long_email not in shown  # e-mail addresses are masked

    # Fixed at the source the way a support desk's data fix does it: the record's
    # LastChanged stays, so no poll brings it again. Only the replay can.
    await harness.reset_stats()
    stamp = parse_timestamp(bad["LastChangedDateTimeOffset"])
    harness.po_store.edit(
        Resource.EMPLOYEES, bad["Id"], at=stamp, EmailAddress="kari.nordmann@eksempel.no"
    )
    await harness.wait_poll_cycles(2)
    assert await harness.writes("chargebee") == {}

    code, out, err = await ledgerlink(harness, "dlq", "replay", "--id", letter_id)
    assert code == 0, (out, err)
    assert summary_of(out)["written"] == 1, out
    assert summary_of(out)["redriven"] == 1, out

    def applied() -> bool:
        return harness.cb_store.customer_count() == len(neighbours) + 1

    await wait_for("the replayed record's customer", applied, harness)
    status = await harness.wait_converged(within=60)
    assert status["dead_letters"] == 0, status  # taken: no longer counted as open
    links = await harness.links_by_left()
    link = links[("Employee", str(bad["Id"]))]
    assert link["state"] == "linked", link
    customer = harness.cb_store.get_customer(str(link["right"]["id"]))
    assert customer is not None
    assert customer["email"] == "kari.nordmann@eksempel.no"
    assert await harness.writes("chargebee") == {CREATES: 1}

    # Replaying again (every letter) changes nothing.
    code, out, err = await ledgerlink(harness, "dlq", "replay", "--all")
    assert code == 0, (out, err)
    assert summary_of(out)["written"] == 0, out
    await harness.wait_converged(within=60)
    assert await harness.writes("chargebee") == {CREATES: 1}
    assert await harness.writes("poweroffice") == {}


async def test_replay_since_over_a_synced_period_makes_no_write(harness: Harness):
    records = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(6)]
    await harness.start_worker()
    await harness.wait_converged(within=60)
    edited = records[2]
    harness.po_store.edit(Resource.EMPLOYEES, edited["Id"], FirstName="Ingeborg")
    await harness.wait_converged(within=60)
    await harness.reset_stats()

    code, out, err = await ledgerlink(harness, "replay", "--since", "1h")
    assert code == 0, (out, err)
    summary = summary_of(out)
    assert summary["redriven"] >= len(records) + 1, out  # every customer and every version
    assert summary["written"] == 0, out
    assert summary["unchanged"] == summary["redriven"], out
    await harness.wait_converged(within=60)
    assert await harness.writes("chargebee") == {}
    assert await harness.writes("poweroffice") == {}


async def test_recovery_commands_refuse_bad_input_with_one_line(harness: Harness):
    await harness.start_worker()
    for args, problem in (
        (("replay", "--since", "yesterday"), "--since"),
        (("replay", "--connection", "nope", "--since", "1h"), "unknown connection 'nope'"),
        (("resync", "--connection", "nope"), "unknown connection 'nope'"),
        (("dlq", "replay", "--id", "x"), "--id"),
    ):
        code, out, err = await ledgerlink(harness, *args)
        assert code == 2, (args, out, err)
        assert problem in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    harness.extra_env["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:1"
    code, _, err = await ledgerlink(harness, "dlq", "list")
    assert code == 2, err
    assert "KAFKA_BOOTSTRAP_SERVERS" in err
    assert len(err.strip().splitlines()) == 1, err


async def test_resync_repairs_customers_changed_behind_our_back_with_one_write_each(
    harness: Harness,
):
    records = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(5)]
    await harness.start_worker()
    await harness.wait_converged(within=60)
    links = await harness.links_by_left()
    partners = [str(links[("Employee", str(r["Id"]))]["right"]["id"]) for r in records]
    await harness.stop_worker()

    # A backup restored while the worker was stopped: names change, versions stay.
    drifted = partners[:2]
    async with httpx.AsyncClient(base_url=harness.cb.root_url) as admin:
        for customer_id in drifted:
            before = harness.cb_store.get_customer(customer_id)
            response = await admin.post(
                f"/_sim/customers/{customer_id}/restore",
                json={"first_name": "Gammel", "last_name": "Backup"},
            )
            response.raise_for_status()
            after = harness.cb_store.get_customer(customer_id)
            assert before is not None
            assert after is not None
            assert after["resource_version"] == before["resource_version"]
            assert after["first_name"] == "Gammel"

    await harness.start_worker()
    await harness.wait_converged(within=60)
    for customer_id in drifted:  # nothing a poll can see
        customer = harness.cb_store.get_customer(customer_id)
        assert customer is not None
        assert customer["first_name"] == "Gammel"
    await harness.reset_stats()

    code, out, err = await ledgerlink(harness, "resync")
    assert code == 0, (out, err)
    summary = summary_of(out)
    assert summary["read"] >= 2 * len(records), out  # both systems
    assert summary["written"] == len(drifted), out
    assert summary["unchanged"] == summary["redriven"] - len(drifted), out

    def repaired() -> bool:
        return all(
            (harness.cb_store.get_customer(cid) or {}).get("first_name") != "Gammel"
            for cid in drifted
        )

    await wait_for("the repair", repaired, harness)
    await harness.wait_converged(within=60)
    for record, customer_id in zip(records, partners, strict=True):
        customer = harness.cb_store.get_customer(customer_id)
        assert customer is not None
        assert customer_values(customer) == {
            "first_name": record["FirstName"],
            "last_name": record["LastName"],
            "email": record["EmailAddress"],
        }
    assert await harness.writes("chargebee") == {CUSTOMER_WRITES: len(drifted)}
    assert await harness.writes("poweroffice") == {}

    code, out, err = await ledgerlink(harness, "resync")
    assert code == 0, (out, err)
    assert summary_of(out)["written"] == 0, out
    await harness.wait_converged(within=60)
    assert await harness.writes("chargebee") == {CUSTOMER_WRITES: len(drifted)}
