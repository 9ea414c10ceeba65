"""The worker's start-up check of the two APIs: can this integration reach and sign in?

`check_connections` runs before the worker touches the disk or starts Faust, before the
worker knows which connections (and so which share of the PowerOffice Go budget) will be
its own. So it checks what is common to every connection with very few calls, and leaves
each connection's own keys to the worker that comes to own it (its first poll, through
that worker's budget share; `streams.agents.poll_loop`):

- **PowerOffice Go**, once per subscription key: one connection signs in and lists one
  department. Only when that fails is the next connection tried (at most
  `POWEROFFICE_PROBES`): when one passes, the integration's keys and URLs are fine and the
  connections that failed before it only get a warning (their client key is theirs). The
  calls are paced at the budget divided by ``LEDGERLINK_PARTITIONS`` (`probe_rate`): at
  most that many workers have work, so workers started together stay within the
  integration's budget even before each knows its share.
- **Chargebee**, every connection's site lists one customer (each site is its own budget).

Each connection's failure becomes one sentence naming the variables to fix — for a
connections file, the connection and the variables the file points at — and never a value:

- a refused key (401/403) names the key variables;
- an unreachable host names the URL variable; when that variable was not set, it says
  that the local simulator's address was used, lists the unset variables of that system
  and how to start the simulator;
- any other refusal (404, 400) names the URL variable.

The worker stops (`StartupError`) when nothing would work: every connection tried failed
(with one connection: when it fails). A failure of some connections among several only
gets a warning: one tenant's bad key must not keep the others from syncing. An API that
answers 5xx or 429 only gets a warning too: the pollers retry those. `explain` gives the
same wording for an `ApiError` that stops a worker that is already running, and
`describe_refusal` for one connection's keys refused while it runs.
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
from connectors.poweroffice.client import subscription_budget, subscription_budget_key
from connectors.poweroffice.resources import Resource
from connectors.transport import RetryPolicy
from streams.clients import chargebee_client, poweroffice_client
from streams.config import ConnectionSettings, Settings

__all__ = [
    "POWEROFFICE_PROBES",
    "StartupError",
    "check_connections",
    "describe_failure",
    "describe_refusal",
    "explain",
    "probe_rate",
    "stop_or_warn",
]

log = logging.getLogger(__name__)

#: One retry, quickly: a person is waiting for the verdict.
CHECK_RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=0.5)
CHECK_TIMEOUT = 5.0
#: The most connections tried in turn to tell a PowerOffice Go integration works.
POWEROFFICE_PROBES = 3

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


def _system_of(exc: ApiError) -> str:
    return exc.system if exc.system in _SYSTEM_NAMES else POWEROFFICE


def _step_of(exc: ApiError) -> str:
    """Whether ``exc`` came from PowerOffice Go's token call or from the API itself."""
    return TOKEN if "OAuth/Token" in exc.message or "token" in exc.message else API


def describe_refusal(connection: ConnectionSettings, exc: ApiError) -> str:
    """One sentence for ``connection``'s keys refused while the worker runs, in the start-up
    check's words (the variables to check, never a value)."""
    return _prefix(connection) + _refused(connection, _system_of(exc), _step_of(exc), exc)


def explain(settings: Settings, exc: ApiError) -> StartupError:
    """The error for an `ApiError` that stopped a running worker, in `check_connections`'
    words when the worker serves one connection."""
    system = _system_of(exc)
    if len(settings.connections) == 1:
        text = describe_failure(settings.connections[0], system, _step_of(exc), exc)
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


def probe_rate(requests_per_second: float, partitions: int) -> float:
    """The pace of the start-up check's PowerOffice Go calls in one worker: the budget
    divided by ``partitions``, the most workers that ever have work, so that the workers
    of one integration started together stay within its budget."""
    return requests_per_second / max(partitions, 1)


def stop_or_warn(checked: int, problems: list[str]) -> tuple[list[str], list[str]]:
    """(problems that stop the worker, problems only worth a warning) of ``checked``
    connections: the worker stops when every one of them failed (one connection: when it
    failed); otherwise the failed ones are their tenants' trouble and only warned about."""
    if problems and len(problems) >= checked:
        return problems, []
    return [], problems


def _integrations(connections: tuple[ConnectionSettings, ...]) -> list[list[ConnectionSettings]]:
    """The connections grouped by PowerOffice Go subscription key (one budget each), in order."""
    groups: dict[str, list[ConnectionSettings]] = {}
    for connection in connections:
        key = subscription_budget_key(connection.poweroffice.subscription_key)
        groups.setdefault(key, []).append(connection)
    return list(groups.values())


async def _check_one_poweroffice(
    connection: ConnectionSettings, http: httpx.AsyncClient
) -> str | None:
    poweroffice = poweroffice_client(connection.poweroffice, http=http, retry=CHECK_RETRY)

    async def one_department() -> object:
        return await poweroffice.list_page(Resource.DEPARTMENTS, page_size=1)

    return await _check(
        connection, POWEROFFICE, [(TOKEN, poweroffice.sign_in), (API, one_department)]
    )


async def _check_poweroffice(
    connections: list[ConnectionSettings], http: httpx.AsyncClient
) -> tuple[list[str], list[str]]:
    """Try ``connections`` of one subscription key in turn until one signs in and lists a
    department; (stopping problems, warnings)."""
    failed: list[str] = []
    tried = connections[:POWEROFFICE_PROBES]
    for connection in tried:
        problem = await _check_one_poweroffice(connection, http)
        if problem is None:
            break
        failed.append(problem)
    return stop_or_warn(len(tried), failed)


async def _check_chargebee(
    connections: tuple[ConnectionSettings, ...], http: httpx.AsyncClient
) -> tuple[list[str], list[str]]:
    """Every connection's site lists one customer; (stopping problems, warnings)."""

    async def check_site(connection: ConnectionSettings) -> str | None:
        chargebee = chargebee_client(connection.chargebee, http=http, retry=CHECK_RETRY)

        async def one_customer() -> object:
            return await chargebee.list_customers_page(limit=1, sort_by_updated_at=False)

        return await _check(connection, CHARGEBEE, [(API, one_customer)])

    found = await asyncio.gather(*(check_site(c) for c in connections))
    return stop_or_warn(len(connections), [p for p in found if p is not None])


@contextlib.contextmanager
def _paced(settings: Settings) -> Iterator[None]:
    """Slow each subscription key's budget in this process to `probe_rate` while checking."""
    budgets = [group[0].poweroffice for group in _integrations(settings.connections)]
    for po in budgets:
        bucket = subscription_budget(po.subscription_key, po.requests_per_second)
        bucket.set_rate(probe_rate(po.requests_per_second, settings.partitions))
    try:
        yield
    finally:
        for po in budgets:
            subscription_budget(po.subscription_key, po.requests_per_second).set_rate(
                po.requests_per_second
            )


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
    """Raise `StartupError` naming every problem that stops the worker, or return (having
    logged a warning for each connection that failed while others passed).

    ``http`` lends the HTTP session (tests pass one over a mock transport); by default the
    check opens its own with ``request_timeout``.
    """
    with _clients_quiet(), _paced(settings):
        if http is None:
            async with httpx.AsyncClient(timeout=request_timeout) as own:
                found = await _check_all(settings, own)
        else:
            found = await _check_all(settings, http)
    problems = [problem for stopping, _ in found for problem in stopping]
    if problems:
        raise StartupError("cannot start the worker: " + "; ".join(problems))
    for _, warnings in found:
        for warning in warnings:
            log.warning(
                "%s; starting without it: its owner retries it while the others sync", warning
            )


async def _check_all(
    settings: Settings, http: httpx.AsyncClient
) -> list[tuple[list[str], list[str]]]:
    groups = _integrations(settings.connections)
    return await asyncio.gather(
        *(_check_poweroffice(group, http) for group in groups),
        _check_chargebee(settings.connections, http),
    )
