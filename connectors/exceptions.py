"""The one error tree of ledgerlink.

Foreign errors (httpx, aiokafka, RocksDB) are translated into these where they enter,
with ``raise ... from exc``. Each error says what a person should do about it, and none
of them ever carries a secret (keys, tokens) in its message or repr.

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
