"""The worker's start-up check of the two APIs: can every connection reach and sign in?

`check_connections` runs before the worker touches the disk or starts Faust. For each
connection it fetches a PowerOffice Go token and lists one department, and lists one
Chargebee customer, each with a short timeout and one retry. Whatever fails becomes one
`StartupError` line that names the variables to fix — for a connections file, the
connection and the variables the file points at — and never a value:

- a refused key (401/403) names the key variables;
- an unreachable host names the URL variable; when that variable was not set, it says
  that the local simulator's address was used, lists the unset variables of that system
  and how to start the simulator;
- any other refusal (404, 400) names the URL variable.

An API that answers 5xx or 429 only gets a warning: the pollers retry those, and an
outage of a remote API should not keep the worker from starting. `explain` gives the same
wording for an `ApiError` that stops a worker that is already running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx

from connectors.exceptions import (
    ApiError,
    AuthenticationError,
    LedgerlinkError,
    TransientApiError,
)
from connectors.poweroffice.resources import Resource
from connectors.transport import RetryPolicy
from streams.clients import chargebee_client, poweroffice_client
from streams.config import ConnectionSettings, Settings

__all__ = ["StartupError", "check_connections", "describe_failure", "explain"]

log = logging.getLogger(__name__)

#: One retry, quickly: a person is waiting for the verdict.
CHECK_RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=0.5)
CHECK_TIMEOUT = 5.0

POWEROFFICE = "poweroffice"
CHARGEBEE = "chargebee"
_SYSTEM_NAMES = {POWEROFFICE: "PowerOffice Go", CHARGEBEE: "Chargebee"}
_VARIABLE_PREFIXES = {POWEROFFICE: "POWEROFFICE_", CHARGEBEE: "CHARGEBEE_"}

#: Loggers whose own lines about a failed request the check replaces with its one line.
CLIENT_LOGGERS = (
    "connectors.chargebee.client",
    "connectors.poweroffice.client",
    "connectors.transport.retry",
)

#: What a check was doing when it failed: which URL it used.
TOKEN = "token"
API = "api"


class StartupError(LedgerlinkError):
    """The worker cannot start (or go on); the message says what to set, fix or start."""


def _shown(url: str) -> str:
    """``url`` without any user:password part, fit for a message."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _listed(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _prefix(connection: ConnectionSettings) -> str:
    if connection.names.file is None:
        return ""
    return f"connection {connection.id!r} ({connection.names.file}): "


def _url_and_variable(connection: ConnectionSettings, system: str, step: str) -> tuple[str, str]:
    names = connection.names
    if system == CHARGEBEE:
        return connection.chargebee.base_url, names.chargebee_base_url
    if step == TOKEN:
        return connection.poweroffice.token_url, names.poweroffice_token_url
    return connection.poweroffice.base_url, names.poweroffice_base_url


def _unset_of(connection: ConnectionSettings, system: str) -> list[str]:
    prefix = _VARIABLE_PREFIXES[system]
    return [name for name in connection.names.unset if name.startswith(prefix)]


def _key_variables(connection: ConnectionSettings, system: str, step: str) -> list[str]:
    names = connection.names
    if system == CHARGEBEE:
        return [names.chargebee_api_key]
    if step == TOKEN:
        return [
            names.poweroffice_client_key,
            names.poweroffice_application_key,
            names.poweroffice_subscription_key,
        ]
    # The token was granted, so the API call was refused on the subscription or the
    # client's grant of access to the integration.
    return [names.poweroffice_subscription_key, names.poweroffice_client_key]


def _refused(connection: ConnectionSettings, system: str, step: str, exc: ApiError) -> str:
    status = f"HTTP {exc.status}" if exc.status is not None else "refused"
    code = f" {exc.code}" if exc.code else ""
    keys = _key_variables(connection, system, step)
    what = "the API key" if system == CHARGEBEE else "the keys"
    text = f"{_SYSTEM_NAMES[system]} refused {what} ({status}{code}): check {_listed(keys)}"
    defaulted = [name for name in keys if name in connection.names.unset]
    if len(defaulted) == 1:
        text += f" ({defaulted[0]} is not set, so the local simulator's key was used)"
    elif defaulted:
        text += f" ({_listed(defaulted)} are not set, so the local simulator's keys were used)"
    return text


def _unreachable(connection: ConnectionSettings, system: str, step: str, exc: ApiError) -> str:
    url, variable = _url_and_variable(connection, system, step)
    cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else exc.message
    text = f"cannot reach {_SYSTEM_NAMES[system]} at {_shown(url)} ({cause})"
    if variable not in connection.names.unset:
        return f"{text}; check {variable} and that the service is up"
    return (
        f"{text}: {variable} is not set, so the local simulator's address was used; set "
        f"{_listed(_unset_of(connection, system))} for the real service, or start "
        f"`ledgerlink simulator {system}`"
    )


def _answered(connection: ConnectionSettings, system: str, step: str, exc: ApiError) -> str:
    url, variable = _url_and_variable(connection, system, step)
    status = f"HTTP {exc.status}" if exc.status is not None else "an unusable answer"
    return f"{_SYSTEM_NAMES[system]} at {_shown(url)} answered {status}; check {variable}"


def describe_failure(
    connection: ConnectionSettings, system: str, step: str, exc: ApiError
) -> str | None:
    """One sentence for a failed check, naming what to fix; None when it is only worth a
    warning (the API answered 5xx or 429: the pollers retry those)."""
    if isinstance(exc, AuthenticationError) or exc.status in (401, 403):
        return _prefix(connection) + _refused(connection, system, step, exc)
    if isinstance(exc, TransientApiError):
        if exc.status is None and _could_not_connect(exc):
            return _prefix(connection) + _unreachable(connection, system, step, exc)
        return None  # it answered, or was reached but slow: the pollers and sinks retry
    return _prefix(connection) + _answered(connection, system, step, exc)


def _could_not_connect(exc: BaseException) -> bool:
    """Whether no connection was made at all (refused, no route, no such host, connect
    timeout), as opposed to a service that was reached but answered slowly."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        if isinstance(seen, httpx.TimeoutException | httpx.RemoteProtocolError):
            return False
        seen = seen.__cause__ or seen.__context__
    return True  # no cause to tell by: say what to check rather than start blind


def explain(settings: Settings, exc: ApiError) -> StartupError:
    """The error for an `ApiError` that stopped a running worker, in `check_connections`'
    words when the worker serves one connection."""
    system = exc.system if exc.system in _SYSTEM_NAMES else POWEROFFICE
    if len(settings.connections) == 1:
        step = TOKEN if "OAuth/Token" in exc.message or "token" in exc.message else API
        text = describe_failure(settings.connections[0], system, step, exc)
        if text is not None:
            return StartupError(f"the worker stopped: {text}")
    return StartupError(
        f"the worker stopped: {exc}; check the {_SYSTEM_NAMES[system]} settings of each connection"
    )


async def _check(
    connection: ConnectionSettings,
    system: str,
    steps: list[tuple[str, Callable[[], Awaitable[object]]]],
) -> str | None:
    for step, call in steps:
        try:
            await call()
        except ApiError as exc:
            problem = describe_failure(connection, system, step, exc)
            if problem is None:
                log.warning(
                    "%s%s answered %s at start-up; starting anyway, the pollers retry",
                    _prefix(connection),
                    _SYSTEM_NAMES[system],
                    exc,
                )
            return problem
    return None


async def _check_connection(connection: ConnectionSettings, http: httpx.AsyncClient) -> list[str]:
    poweroffice = poweroffice_client(connection.poweroffice, http=http, retry=CHECK_RETRY)
    chargebee = chargebee_client(connection.chargebee, http=http, retry=CHECK_RETRY)

    async def one_department() -> object:
        return await poweroffice.list_page(Resource.DEPARTMENTS, page_size=1)

    async def one_customer() -> object:
        return await chargebee.list_customers_page(limit=1, sort_by_updated_at=False)

    problems = await asyncio.gather(
        _check(connection, POWEROFFICE, [(TOKEN, poweroffice.sign_in), (API, one_department)]),
        _check(connection, CHARGEBEE, [(API, one_customer)]),
    )
    return [problem for problem in problems if problem is not None]


@contextlib.contextmanager
def _clients_quiet() -> Iterator[None]:
    """Hold back the clients' own lines about failed requests: the check reports them."""

    def below_error(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR

    loggers = [logging.getLogger(name) for name in CLIENT_LOGGERS]
    for logger in loggers:
        logger.addFilter(below_error)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(below_error)


async def check_connections(
    settings: Settings,
    *,
    request_timeout: float = CHECK_TIMEOUT,
    http: httpx.AsyncClient | None = None,
) -> None:
    """Raise `StartupError` naming every problem found, or return when all is well.

    ``http`` lends the HTTP session (tests pass one over a mock transport); by default the
    check opens its own with ``request_timeout``.
    """
    with _clients_quiet():
        if http is None:
            async with httpx.AsyncClient(timeout=request_timeout) as own:
                found = await _check_all(settings, own)
        else:
            found = await _check_all(settings, http)
    problems = [problem for problems in found for problem in problems]
    if problems:
        raise StartupError("cannot start the worker: " + "; ".join(problems))


async def _check_all(settings: Settings, http: httpx.AsyncClient) -> list[list[str]]:
    return await asyncio.gather(
        *(_check_connection(connection, http) for connection in settings.connections)
    )
