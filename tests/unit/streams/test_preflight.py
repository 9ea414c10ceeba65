"""The start-up check: one line naming what to fix, never a secret; 5xx only warns."""

from __future__ import annotations

import base64
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from connectors.exceptions import AuthenticationError, TransientApiError
from connectors.poweroffice.client import subscription_budget
from connectors.secrets import Secret
from streams.config import load_settings
from streams.preflight import (
    POWEROFFICE_PROBES,
    StartupError,
    check_connections,
    describe_failure,
    explain,
    probe_rate,
    stop_or_warn,
)

SIM = {
    "POWEROFFICE_BASE_URL": "http://po.test/v2",
    "POWEROFFICE_TOKEN_URL": "http://po.test/OAuth/Token",
    "CHARGEBEE_BASE_URL": "http://cb.test/api/v2",
}
SECRETS = {
    "POWEROFFICE_APPLICATION_KEY": "app-secret-1",
    "POWEROFFICE_CLIENT_KEY": "client-secret-1",
    "POWEROFFICE_SUBSCRIPTION_KEY": "sub-secret-1",
    "CHARGEBEE_SITE": "acme-test",
    "CHARGEBEE_API_KEY": "live_secret_1",
}

Handler = Callable[[httpx.Request], httpx.Response]


def api(
    *,
    token: int = 200,
    departments: int = 200,
    customers: int = 200,
    unreachable: tuple[str, ...] = (),
) -> Handler:
    """A stand-in for both APIs answering each call with the given status."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host in unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if path.endswith("/OAuth/Token"):
            if token != 200:
                return httpx.Response(token, json={"error": "invalid_client"})
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 1200})
        if path.endswith("/Departments"):
            return httpx.Response(departments, json=[] if departments == 200 else {})
        if path.endswith("/customers"):
            if customers == 200:
                return httpx.Response(200, json={"list": []})
            return httpx.Response(
                customers,
                json={"message": "Sorry, authentication failed", "api_error_code": "api_failed"},
            )
        return httpx.Response(404)

    return handle


async def check(env: dict[str, str], handler: Handler) -> None:
    """The check over ``handler``, at the whole budget (one partition, so one worker):
    these tests are about the messages, not the pace."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await check_connections(load_settings({"LEDGERLINK_PARTITIONS": "1", **env}), http=http)


SECRET_VALUES = (
    "app-secret-1",
    "client-secret-1",
    "sub-secret-1",
    "live_secret_1",
    "local-client-key",
    "test_local_api_key",
)


def assert_one_line_without_secrets(message: str) -> None:
    assert "\n" not in message
    for secret in SECRET_VALUES:
        assert secret not in message


async def test_a_working_setup_passes():
    await check({**SIM, **SECRETS}, api())


async def test_a_refused_chargebee_key_names_the_variable_not_the_key():
    with pytest.raises(StartupError) as caught:
        await check({**SIM, **SECRETS}, api(customers=401))
    message = str(caught.value)
    assert "CHARGEBEE_API_KEY" in message
    assert "POWEROFFICE_" not in message
    assert_one_line_without_secrets(message)


async def test_refused_poweroffice_keys_name_the_three_key_variables():
    with pytest.raises(StartupError) as caught:
        await check({**SIM, **SECRETS}, api(token=401))
    message = str(caught.value)
    for name in (
        "POWEROFFICE_CLIENT_KEY",
        "POWEROFFICE_APPLICATION_KEY",
        "POWEROFFICE_SUBSCRIPTION_KEY",
    ):
        assert name in message
    assert "CHARGEBEE" not in message
    assert_one_line_without_secrets(message)


async def test_a_refused_key_that_was_not_set_says_the_simulators_key_was_used():
    with pytest.raises(StartupError) as caught:
        await check(SIM, api(customers=401))
    assert "CHARGEBEE_API_KEY is not set, so the local simulator's key was used" in str(
        caught.value
    )


async def test_unreachable_defaults_name_every_unset_variable_and_the_simulators():
    unreachable = ("127.0.0.1",)
    with pytest.raises(StartupError) as caught:
        await check({}, api(unreachable=unreachable))
    message = str(caught.value)
    assert "http://127.0.0.1:8101/OAuth/Token" in message
    assert "http://127.0.0.1:8102/api/v2" in message
    for name in (
        "POWEROFFICE_BASE_URL",
        "POWEROFFICE_TOKEN_URL",
        "POWEROFFICE_APPLICATION_KEY",
        "POWEROFFICE_CLIENT_KEY",
        "POWEROFFICE_SUBSCRIPTION_KEY",
        "CHARGEBEE_SITE",
        "CHARGEBEE_API_KEY",
        "CHARGEBEE_BASE_URL",
    ):
        assert name in message
    assert "ledgerlink simulator poweroffice" in message
    assert "ledgerlink simulator chargebee" in message
    assert_one_line_without_secrets(message)


async def test_an_unreachable_named_url_says_to_check_that_variable():
    with pytest.raises(StartupError) as caught:
        await check({**SIM, **SECRETS}, api(unreachable=("cb.test",)))
    message = str(caught.value)
    assert "cannot reach Chargebee at http://cb.test/api/v2" in message
    assert "check CHARGEBEE_BASE_URL" in message
    assert "simulator" not in message


async def test_a_wrong_base_url_names_it():
    with pytest.raises(StartupError) as caught:
        await check({**SIM, **SECRETS}, api(departments=404))
    assert "HTTP 404; check POWEROFFICE_BASE_URL" in str(caught.value)


async def test_a_server_error_only_warns(caplog):
    caplog.set_level(logging.WARNING)
    await check({**SIM, **SECRETS}, api(customers=503))
    assert any("starting anyway" in record.getMessage() for record in caplog.records)


async def test_a_connections_file_error_names_the_connection_and_the_variable_it_points_at(
    tmp_path,
):
    path = tmp_path / "connections.toml"
    path.write_text(
        '[poweroffice]\nbase_url = "http://po.test/v2"\ntoken_url = "http://po.test/OAuth/Token"\n'
        '[[connection]]\nid = "acme"\npoweroffice_client_key_env = "ACME_PO"\n'
        'chargebee_site = "acme"\nchargebee_api_key_env = "ACME_CB"\n'
        'chargebee_base_url = "http://cb.test/api/v2"\n',
        encoding="utf-8",
    )
    env = {
        "LEDGERLINK_CONNECTIONS_FILE": str(path),
        "POWEROFFICE_APPLICATION_KEY": "app-secret-1",
        "POWEROFFICE_SUBSCRIPTION_KEY": "sub-secret-1",
        "ACME_PO": "client-secret-1",
        "ACME_CB": "live_secret_1",
    }
    with pytest.raises(StartupError) as caught:
        await check(env, api(customers=401))
    message = str(caught.value)
    assert f"connection 'acme' ({path})" in message
    assert "check ACME_CB" in message
    assert_one_line_without_secrets(message)


def test_an_auth_error_that_stops_a_running_worker_is_explained_the_same_way():
    error = AuthenticationError("Sorry", system="chargebee", status=401)
    explained = explain(load_settings({**SIM, **SECRETS}), error)
    assert str(explained).startswith("the worker stopped: Chargebee refused the API key")
    assert "CHARGEBEE_API_KEY" in str(explained)


def _transient(cause: BaseException) -> TransientApiError:
    try:
        raise TransientApiError("no answer", system="chargebee") from cause
    except TransientApiError as exc:
        return exc


@pytest.mark.parametrize(
    ("cause", "refuses"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ConnectTimeout("no route"), True),
        (httpx.ReadTimeout("slow"), False),
        (httpx.RemoteProtocolError("dropped"), False),
    ],
)
def test_only_a_service_that_cannot_be_connected_to_stops_the_start(cause, refuses):
    """A site that is reached but slow (or drops one answer) is one tenant's trouble for
    the sinks and pollers to retry, not a reason to keep every other tenant waiting."""
    connection = load_settings({**SIM, **SECRETS}).connections[0]
    problem = describe_failure(connection, "chargebee", "api", _transient(cause))
    assert (problem is not None) is refuses


# -- several connections: the integration is checked once, a tenant's trouble only warns ---


def connections_file(tmp_path: Path, ids: list[str]) -> dict[str, str]:
    """A connections file of ``ids`` (one integration) and the environment naming it; each
    connection's client key is ``{id}-client``, its site ``{id}`` on ``{id}.cb.test``."""
    path = tmp_path / "connections.toml"
    blocks = [
        f'[[connection]]\nid = "{c}"\npoweroffice_client_key_env = "{c.upper()}_PO"\n'
        f'chargebee_site = "{c}"\nchargebee_api_key_env = "{c.upper()}_CB"\n'
        f'chargebee_base_url = "http://{c}.cb.test/api/v2"\n'
        for c in ids
    ]
    path.write_text(
        '[poweroffice]\nbase_url = "http://po.test/v2"\ntoken_url = "http://po.test/OAuth/Token"\n'
        + "".join(blocks),
        encoding="utf-8",
    )
    env = {
        "LEDGERLINK_CONNECTIONS_FILE": str(path),
        "POWEROFFICE_APPLICATION_KEY": "app-secret-1",
        "POWEROFFICE_SUBSCRIPTION_KEY": "sub-secret-1",
    }
    for c in ids:
        env[f"{c.upper()}_PO"] = f"{c}-client"
        env[f"{c.upper()}_CB"] = f"{c}_cb_key"
    return env


class Integration:
    """One PowerOffice Go integration and a Chargebee site per connection: refuses the
    client keys of ``bad_clients`` (or every client with ``bad_application``) and the
    sites of ``bad_sites``; counts the calls made to each route."""

    def __init__(
        self,
        *,
        bad_clients: tuple[str, ...] = (),
        bad_application: bool = False,
        bad_sites: tuple[str, ...] = (),
    ) -> None:
        self.bad_clients = bad_clients
        self.bad_application = bad_application
        self.bad_sites = bad_sites
        self.calls: Counter[str] = Counter()
        self.rates: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "po.test":
            self.rates.append(subscription_budget(Secret("sub-secret-1"), 8.0).rate)
        if path.endswith("/OAuth/Token"):
            self.calls["token"] += 1
            client = base64.b64decode(request.headers["Authorization"].split()[1]).decode()
            client_key = client.partition(":")[2]
            if self.bad_application or client_key.removesuffix("-client") in self.bad_clients:
                return httpx.Response(401, json={"error": "invalid_client"})
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 1200})
        if path.endswith("/Departments"):
            self.calls["departments"] += 1
            return httpx.Response(200, json=[])
        if path.endswith("/customers"):
            self.calls["customers"] += 1
            if request.url.host.split(".")[0] in self.bad_sites:
                return httpx.Response(401, json={"message": "authentication failed"})
            return httpx.Response(200, json={"list": []})
        return httpx.Response(404)


async def test_several_connections_sign_in_to_poweroffice_go_once(tmp_path: Path):
    integration = Integration()
    await check(connections_file(tmp_path, ["a", "b", "c", "d", "e"]), integration)
    assert integration.calls["token"] == 1
    assert integration.calls["departments"] == 1
    assert integration.calls["customers"] == 5  # each site is its own budget


async def test_one_tenants_refused_client_key_only_warns_naming_it(tmp_path: Path, caplog):
    caplog.set_level(logging.WARNING)
    integration = Integration(bad_clients=("a",))
    await check(connections_file(tmp_path, ["a", "b", "c"]), integration)
    assert integration.calls["token"] == 2  # a was refused, b passed: enough said
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "connection 'a'" in warned
    assert "A_PO" in warned
    assert "a-client" not in warned


async def test_refused_integration_keys_stop_after_a_few_connections(tmp_path: Path):
    integration = Integration(bad_application=True)
    ids = [f"c{n}" for n in range(POWEROFFICE_PROBES + 3)]
    with pytest.raises(StartupError) as caught:
        await check(connections_file(tmp_path, ids), integration)
    assert integration.calls["token"] == POWEROFFICE_PROBES
    message = str(caught.value)
    assert "POWEROFFICE_APPLICATION_KEY" in message
    assert "POWEROFFICE_SUBSCRIPTION_KEY" in message
    assert_one_line_without_secrets(message)


async def test_one_refused_site_among_several_only_warns(tmp_path: Path, caplog):
    caplog.set_level(logging.WARNING)
    await check(connections_file(tmp_path, ["a", "b"]), Integration(bad_sites=("b",)))
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "connection 'b'" in warned
    assert "B_CB" in warned


async def test_every_site_refused_stops_the_worker(tmp_path: Path):
    with pytest.raises(StartupError) as caught:
        await check(connections_file(tmp_path, ["a", "b"]), Integration(bad_sites=("a", "b")))
    assert "A_CB" in str(caught.value)
    assert "B_CB" in str(caught.value)


async def test_the_check_spends_a_partitions_share_of_the_budget_and_gives_it_back(
    tmp_path: Path,
):
    integration = Integration()
    env = {
        **connections_file(tmp_path, ["a", "b"]),
        "POWEROFFICE_REQUESTS_PER_SECOND": "8",
        "LEDGERLINK_PARTITIONS": "4",
    }
    async with httpx.AsyncClient(transport=httpx.MockTransport(integration)) as http:
        await check_connections(load_settings(env), http=http)
    assert integration.rates == [2.0, 2.0]  # the token and the listing, at 8 / 4 partitions
    assert subscription_budget(Secret("sub-secret-1"), 8.0).rate == 8.0


@pytest.mark.parametrize(
    ("budget", "partitions", "workers_at_once"), [(8.0, 12, 12), (9.0, 3, 3), (8.0, 1, 1)]
)
def test_workers_probing_together_stay_within_the_budget(budget, partitions, workers_at_once):
    assert probe_rate(budget, partitions) * workers_at_once <= budget


@pytest.mark.parametrize(
    ("checked", "problems", "stops"),
    [
        (1, [], False),
        (1, ["x"], True),
        (3, ["x", "y"], False),
        (3, ["x", "y", "z"], True),
        (20, ["x"], False),
    ],
)
def test_the_worker_stops_only_when_every_checked_connection_failed(checked, problems, stops):
    stopping, warnings = stop_or_warn(checked, problems)
    assert (stopping, warnings) == ((problems, []) if stops else ([], problems))
