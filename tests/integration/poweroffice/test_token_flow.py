"""The OAuth2 client-credentials flow against the simulator's token endpoint."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from connectors.exceptions import AuthenticationError
from connectors.poweroffice.auth import basic_authorization
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.sim.server import TOKENS_KEY
from connectors.secrets import Secret

from .conftest import APPLICATION_KEY, CLIENT_KEY

pytestmark = pytest.mark.integration

TOKEN_ROUTE = "/OAuth/Token"
EMPLOYEE_ROUTE = "/v2/Employees/{employeeId}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_token_is_reused_until_shortly_before_it_expires(sim, make_client) -> None:
    clock = FakeClock()
    client = make_client(sim, clock=clock)
    (employee,) = sim.store.seed_employees(1)
    await client.get(Resource.EMPLOYEES, employee["Id"])
    clock.now += 1200 - 61
    await client.get(Resource.EMPLOYEES, employee["Id"])
    assert sim.count("POST", TOKEN_ROUTE, 200) == 1


async def test_token_is_renewed_sixty_seconds_before_it_expires(sim, make_client) -> None:
    clock = FakeClock()
    client = make_client(sim, clock=clock)
    (employee,) = sim.store.seed_employees(1)
    await client.get(Resource.EMPLOYEES, employee["Id"])
    clock.now += 1200 - 59
    await client.get(Resource.EMPLOYEES, employee["Id"])
    assert sim.count("POST", TOKEN_ROUTE, 200) == 2
    assert sim.count(status=401) == 0


async def test_concurrent_first_calls_fetch_one_token(sim, client) -> None:
    (employee,) = sim.store.seed_employees(1)
    await asyncio.gather(*(client.get(Resource.EMPLOYEES, employee["Id"]) for _ in range(8)))
    assert sim.count("POST", TOKEN_ROUTE) == 1


async def test_a_401_renews_the_token_once_and_retries(sim, client) -> None:
    (employee,) = sim.store.seed_employees(1)
    await client.get(Resource.EMPLOYEES, employee["Id"])
    sim.app[TOKENS_KEY].revoke_all()
    record = await client.get(Resource.EMPLOYEES, employee["Id"])
    assert record["Id"] == employee["Id"]
    assert sim.count("POST", TOKEN_ROUTE, 200) == 2
    assert sim.count("GET", EMPLOYEE_ROUTE, 401) == 1


async def test_a_second_401_after_renewal_is_an_authentication_error(
    sim, client, monkeypatch
) -> None:
    (employee,) = sim.store.seed_employees(1)
    monkeypatch.setattr(sim.app[TOKENS_KEY], "valid", lambda token: False)
    with pytest.raises(AuthenticationError):
        await client.get(Resource.EMPLOYEES, employee["Id"])
    assert sim.count("POST", TOKEN_ROUTE, 200) == 2
    assert sim.count("GET", EMPLOYEE_ROUTE, 401) == 2


async def test_wrong_client_key_is_an_authentication_error_with_the_oauth_code(
    sim, make_client
) -> None:
    client = make_client(sim, client_key="not-the-client-key")
    with pytest.raises(AuthenticationError) as caught:
        await client.list_page(Resource.EMPLOYEES)
    assert caught.value.code == "invalid_client"
    assert "not-the-client-key" not in str(caught.value)


async def test_wrong_subscription_key_is_an_authentication_error(sim, make_client) -> None:
    client = make_client(sim, subscription_key="not-the-subscription-key")
    with pytest.raises(AuthenticationError) as caught:
        await client.list_page(Resource.EMPLOYEES)
    assert "not-the-subscription-key" not in str(caught.value)


async def test_token_endpoint_refuses_another_grant_type(sim) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            sim.token_url,
            data={"grant_type": "password"},
            headers={
                "Authorization": basic_authorization(Secret(APPLICATION_KEY), Secret(CLIENT_KEY)),
                "Ocp-Apim-Subscription-Key": sim.subscription_key,
            },
        )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_token_endpoint_answers_a_bearer_token_for_twenty_minutes(sim) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            sim.token_url,
            data={"grant_type": "client_credentials"},
            headers={
                "Authorization": basic_authorization(Secret(APPLICATION_KEY), Secret(CLIENT_KEY)),
                "Ocp-Apim-Subscription-Key": sim.subscription_key,
            },
        )
    body = response.json()
    assert (response.status_code, body["token_type"], body["expires_in"]) == (200, "bearer", 1200)
    assert body["access_token"]


async def test_api_without_a_token_is_401_with_problem_details(sim) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{sim.base_url}/Employees",
            headers={"Ocp-Apim-Subscription-Key": sim.subscription_key},
        )
    assert response.status_code == 401
    assert response.json()["Status"] == 401
