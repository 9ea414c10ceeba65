"""The one error tree of ledgerlink.

Foreign errors (httpx, aiokafka, RocksDB) are translated into these where they enter,
with ``raise ... from exc``. An HTTP error answer of either API becomes one of them through
`error_for_status`; each connector only reads its own error body (the message, code and
field) and handles what is special to its system, such as Chargebee's duplicate id. Each
error says what a person should do about it, and none of them ever carries a secret
(keys, tokens) in its message or repr.

    LedgerlinkError
     ├── ConfigError                 a setting is missing or malformed; names the setting
     ├── LocalKafkaError             the local Kafka broker could not be set up, started or stopped
     └── ApiError                    a call to PowerOffice Go or Chargebee failed
          ├── TransientApiError      worth retrying later: 5xx, dropped connection, timeout
          │    └── RateLimitedError  429: the budget is spent; ``retry_after`` says for how long
          └── PermanentApiError      retrying the same request will fail again
               ├── AuthenticationError   401/403 or a token error: check the keys
               ├── NotFoundError         404: the record is gone
               ├── ConflictError         409: e.g. deleting a record that is in use
               └── InvalidRequestError   400/422: the request itself is wrong
                    └── DuplicateIdError Chargebee refused a create because the id exists
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "DuplicateIdError",
    "InvalidRequestError",
    "LedgerlinkError",
    "LocalKafkaError",
    "NotFoundError",
    "PermanentApiError",
    "RateLimitedError",
    "TransientApiError",
    "error_for_status",
]


class LedgerlinkError(Exception):
    """Root of every error ledgerlink raises on purpose."""


class ConfigError(LedgerlinkError):
    """A setting is missing or malformed. The message names the setting and what it expects."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class LocalKafkaError(LedgerlinkError):
    """The local Apache Kafka broker could not be prepared, started or stopped."""


class ApiError(LedgerlinkError):
    """A call to one of the two systems failed.

    ``system`` is ``"poweroffice"`` or ``"chargebee"``; ``status`` is the HTTP status, or
    ``None`` when no response arrived; ``code`` is the API's own error code where it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        system: str,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        self.message = message
        self.system = system
        self.status = status
        self.code = code
        self.param = param
        detail = f"{system}"
        if status is not None:
            detail += f" HTTP {status}"
        if code:
            detail += f" {code}"
        super().__init__(f"{detail}: {message}")


class TransientApiError(ApiError):
    """Retrying later may succeed (server error, dropped connection, timeout)."""


class RateLimitedError(TransientApiError):
    """The API's rate limit was hit; wait ``retry_after`` seconds before the next call."""

    def __init__(
        self, message: str, *, system: str, retry_after: float, code: str | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, system=system, status=429, code=code)


class PermanentApiError(ApiError):
    """The same request will fail again; fix the data, the keys or the code."""


class AuthenticationError(PermanentApiError):
    """The credentials were refused. Check the keys configured for this connection."""


class NotFoundError(PermanentApiError):
    """The record does not exist (any more)."""


class ConflictError(PermanentApiError):
    """The request conflicts with the record's state, e.g. deleting a record in use."""


class InvalidRequestError(PermanentApiError):
    """The API rejected the request as invalid; ``param`` names the field where it said."""


class DuplicateIdError(InvalidRequestError):
    """A create named an id that already exists (Chargebee customers with chosen ids)."""


#: The permanent error of each 4xx status that has its own class; any other 4xx (and
#: anything below 400 that reached here) is a plain `PermanentApiError`.
_PERMANENT_BY_STATUS: Mapping[int, type[PermanentApiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidRequestError,
}


def error_for_status(
    status: int,
    message: str,
    *,
    system: str,
    code: str | None = None,
    param: str | None = None,
    retry_after: float | None = None,
    default_retry_after: float = 1.0,
    auth_hint: str | None = None,
) -> ApiError:
    """The error of the tree for an HTTP error status of either API.

    429 → `RateLimitedError` waiting ``retry_after`` seconds (the parsed `Retry-After`),
    else ``default_retry_after``; 5xx → `TransientApiError`; 400/422 →
    `InvalidRequestError`; 401/403 → `AuthenticationError`, whose message ends with
    ``auth_hint`` (which keys to check) when given; 404 → `NotFoundError`; 409 →
    `ConflictError`; any other status → `PermanentApiError`. ``message``, ``code`` and
    ``param`` are what the connector read from its system's error body.
    """
    if status == 429:
        return RateLimitedError(
            message,
            system=system,
            retry_after=default_retry_after if retry_after is None else retry_after,
            code=code,
        )
    if status >= 500:
        return TransientApiError(message, system=system, status=status, code=code, param=param)
    error_class = _PERMANENT_BY_STATUS.get(status, PermanentApiError)
    if auth_hint and error_class is AuthenticationError:
        message = f"{message} ({auth_hint})"
    return error_class(message, system=system, status=status, code=code, param=param)
