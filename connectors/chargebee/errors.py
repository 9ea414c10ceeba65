"""Reading Chargebee's error body; the shared `connectors.exceptions.error_for_status` picks
the typed error from the status.

Chargebee answers errors with ``{"message", "type", "api_error_code", "param",
"error_code", "error_msg", "http_status_code"}``. `error_from_response` reads that (or a
body that is not Chargebee's, such as a proxy's 503 page) and adds the one case the status
cannot tell: a create refused because the chosen id exists becomes `DuplicateIdError`.
Messages carry the API's own words, never a request's headers, so no key can leak through
an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.exceptions import ApiError, DuplicateIdError, error_for_status
from connectors.transport import parse_retry_after

__all__ = ["DUPLICATE_CODES", "SYSTEM", "error_from_response"]

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

    if (
        status in (400, 422)
        and param == "id"
        and (code in DUPLICATE_CODES or _says_duplicate(data))
    ):
        return DuplicateIdError(message, system=SYSTEM, status=status, code=code, param=param)
    return error_for_status(
        status,
        message,
        system=SYSTEM,
        code=code,
        param=param,
        retry_after=parse_retry_after(retry_after),
        default_retry_after=default_retry_after,
    )


def _says_duplicate(data: Mapping[str, Any]) -> bool:
    text = f"{data.get('message', '')} {data.get('error_msg', '')}".lower()
    return "already" in text or "duplicate" in text
