"""Turning PowerOffice Go error answers into the typed errors of `connectors.exceptions`.

API errors are RFC 7807 problem details (`Type, Title, Status, Detail, Instance`); their
casing is unverified, so keys are matched case-insensitively. Token errors are RFC 6749
(`{"error": "invalid_client", "error_description": ...}`) and always become
`AuthenticationError` carrying the `error` code. E-mail addresses the server echoes in a
message are masked, since these messages end up in logs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from connectors.exceptions import (
    ApiError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermanentApiError,
    RateLimitedError,
    TransientApiError,
)
from connectors.secrets import mask_email
from connectors.transport import parse_retry_after

__all__ = [
    "SYSTEM",
    "ProblemDetails",
    "error_for_response",
    "error_for_status",
    "parse_problem",
    "token_error",
]

SYSTEM = "poweroffice"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _scrub(text: str) -> str:
    return _EMAIL.sub(lambda m: mask_email(m.group(0)), text)


@dataclass(frozen=True, slots=True)
class ProblemDetails:
    """An RFC 7807 body; every member optional. ``param`` is the first field named in an
    ASP.NET-style `errors` extension, when the server sent one."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    param: str | None = None

    def message(self) -> str:
        parts = [p for p in (self.title, self.detail) if p]
        return _scrub(": ".join(parts)) if parts else ""


def _decode(body: bytes | str | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if body is None or isinstance(body, Mapping):
        return body
    if not body:
        return None
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def parse_problem(body: bytes | str | Mapping[str, Any] | None) -> ProblemDetails:
    """Read problem details from a body, matching member names case-insensitively.

    Anything that is not a JSON object yields an empty `ProblemDetails`. The APIM-style
    `{"statusCode": 429, "message": ...}` body is understood too.
    """
    decoded = _decode(body)
    if decoded is None:
        return ProblemDetails()
    lowered = {str(k).lower(): v for k, v in decoded.items()}
    status = lowered.get("status", lowered.get("statuscode"))
    errors = lowered.get("errors")
    param = next(iter(errors), None) if isinstance(errors, Mapping) and errors else None
    return ProblemDetails(
        type=_text(lowered.get("type")),
        title=_text(lowered.get("title")),
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        detail=_text(lowered.get("detail", lowered.get("message"))),
        instance=_text(lowered.get("instance")),
        param=_text(param),
    )


def error_for_status(
    status: int,
    problem: ProblemDetails,
    *,
    describe: str,
    retry_after: float | None = None,
) -> ApiError:
    """The typed error for an HTTP error status (400→InvalidRequestError, 401/403→
    AuthenticationError, 404→NotFoundError, 409→ConflictError, 429→RateLimitedError,
    5xx→TransientApiError, any other 4xx→PermanentApiError)."""
    message = f"{describe}: {problem.message() or f'HTTP {status}'}"
    if status == 429:
        return RateLimitedError(
            message, system=SYSTEM, retry_after=1.0 if retry_after is None else retry_after
        )
    if status >= 500:
        return TransientApiError(message, system=SYSTEM, status=status)
    if status in (401, 403):
        return AuthenticationError(
            f"{message} (check the PowerOffice Go application, client and subscription keys)",
            system=SYSTEM,
            status=status,
        )
    if status == 404:
        return NotFoundError(message, system=SYSTEM, status=status)
    if status == 409:
        return ConflictError(message, system=SYSTEM, status=status)
    if status in (400, 422):
        return InvalidRequestError(message, system=SYSTEM, status=status, param=problem.param)
    return PermanentApiError(message, system=SYSTEM, status=status)


def error_for_response(response: httpx.Response, *, describe: str) -> ApiError:
    """The typed error for an API answer that is not a success."""
    return error_for_status(
        response.status_code,
        parse_problem(response.content),
        describe=describe,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def token_error(response: httpx.Response) -> ApiError:
    """The typed error for a refused token request.

    An RFC 6749 body (or any 400/401/403) means the keys or the grant were refused:
    `AuthenticationError` with the `error` code. A 429 or 5xx stays retriable.
    """
    status = response.status_code
    if status == 429 or status >= 500:
        return error_for_response(response, describe="POST /OAuth/Token")
    decoded = _decode(response.content) or {}
    code = decoded.get("error")
    description = decoded.get("error_description")
    if isinstance(code, str) and code:
        text = f"token request refused: {code}"
        if isinstance(description, str) and description:
            text += f" ({_scrub(description)})"
        return AuthenticationError(
            f"{text}; check the PowerOffice Go application, client and subscription keys",
            system=SYSTEM,
            status=status,
            code=code,
        )
    problem = parse_problem(decoded)
    return AuthenticationError(
        f"token request refused: {problem.message() or f'HTTP {status}'}; check the "
        "PowerOffice Go application, client and subscription keys",
        system=SYSTEM,
        status=status,
    )
