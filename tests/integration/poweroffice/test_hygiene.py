"""What the connector writes to logs, and the simulator's admin reset."""

from __future__ import annotations

import logging

import httpx
import pytest

from connectors.poweroffice.resources import Resource
from connectors.poweroffice.sim.server import TOKENS_KEY

from .conftest import APPLICATION_KEY, CLIENT_KEY

pytestmark = pytest.mark.integration


async def test_logs_show_no_key_no_token_and_only_masked_email_addresses(
    sim, client, caplog, monkeypatch
) -> None:
    issued: list[str] = []
    issuer = sim.app[TOKENS_KEY]
    original_issue = issuer.issue

    def remembering_issue() -> str:
        token: str = original_issue()
        issued.append(token)
        return token

    monkeypatch.setattr(issuer, "issue", remembering_issue)
    caplog.set_level(logging.DEBUG)
    created = await client.create(
        Resource.EMPLOYEES,
        {"FirstName": "Kari", "LastName": "Nordmann", "EmailAddress": "kari.nordmann@fjord.no"},
    )
    await client.patch(
        Resource.EMPLOYEES,
        created["Id"],
        [{"op": "replace", "path": "/EmailAddress", "value": "kari@fjord.no"}],
    )
    assert issued
    for secret in (APPLICATION_KEY, CLIENT_KEY, sim.subscription_key, *issued):
        assert secret not in caplog.text
    assert "kari.nordmann@fjord.no" not in caplog.text
    assert "k***@fjord.no" in caplog.text


async def test_admin_reset_empties_the_store(sim) -> None:
    sim.store.seed_employees(3)
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{sim.root}/_sim/reset")).status_code == 200
    assert sim.store.count(Resource.EMPLOYEES) == 0
