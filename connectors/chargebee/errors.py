"""Chargebee's error body → ledgerlink's error tree, at the one place responses enter.

Chargebee answers errors with ``{"message", "type", "api_error_code", "param",
"error_code", "error_msg", "http_status_code"}``. `error_from_response` turns that (or a
body that is not Chargebee's, such as a proxy's 503 page) into the matching
`connectors.exceptions` class. Messages carry the API's own words, never a request's
headers, so no key can leak through an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.exceptions import (
    ApiError,
    AuthenticationError,
    ConflictError,
    DuplicateIdError,
    InvalidRequestError,
    NotFoundError,
    PermanentApiError,
    RateLimitedError,
    TransientApiError,
)
from connectors.transport import parse_retry_after

__all__ = ["SYSTEM", "error_from_response"]

SYSTEM = "chargebee"

#: What Chargebee calls a duplicate value on create (with ``param`` naming the field).
DUPLICATE_CODES = frozenset({"duplicate_entry", "param_not_unique"})


def error_from_response(
    status: int,
    body: Mapping[str, Any] | None,
    *,
    retry_after: str | None = None,
    default_retry_after: float = 1.0,
) -> ApiError:
    """The typed error for an HTTP error answer.

    ``body`` is the decoded JSON object, or None when the answer was not JSON;
    ``retry_after`` is the raw `Retry-After` header of a 429.
    """
    data: Mapping[str, Any] = body or {}
    message = str(data.get("message") or data.get("error_msg") or f"HTTP {status}")
    code_value = data.get("api_error_code") or data.get("error_code")
    code = str(code_value) if code_value else None
    param_value = data.get("param")
    param = str(param_value) if param_value else None

    if status == 429:
        wait = parse_retry_after(retry_after)
        return RateLimitedError(
            message,
            system=SYSTEM,
            retry_after=default_retry_after if wait is None else wait,
            code=code,
        )
    if status >= 500:
        return TransientApiError(message, system=SYSTEM, status=status, code=code)
    if status in (401, 403):
        return AuthenticationError(message, system=SYSTEM, status=status, code=code)
    if status == 404:
        return NotFoundError(message, system=SYSTEM, status=status, code=code, param=param)
    if status == 409:
        return ConflictError(message, system=SYSTEM, status=status, code=code, param=param)
    if status in (400, 422):
        if param == "id" and (code in DUPLICATE_CODES or _says_duplicate(data)):
            return DuplicateIdError(message, system=SYSTEM, status=status, code=code, param=param)
        return InvalidRequestError(message, system=SYSTEM, status=status, code=code, param=param)
    return PermanentApiError(message, system=SYSTEM, status=status, code=code, param=param)


def _says_duplicate(data: Mapping[str, Any]) -> bool:
    text = f"{data.get('message', '')} {data.get('error_msg', '')}".lower()
    return "already" in text or "duplicate" in text
