"""The start-up check: one line naming what to fix, never a secret; 5xx only warns."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from connectors.exceptions import AuthenticationError, TransientApiError
from streams.config import load_settings
from streams.preflight import StartupError, check_connections, describe_failure, explain

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
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await check_connections(load_settings(env), http=http)


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
