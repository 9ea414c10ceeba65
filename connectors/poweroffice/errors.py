"""Reading PowerOffice Go error answers; the shared `connectors.exceptions.error_for_status`
picks the typed error from the status.

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

from connectors.exceptions import ApiError, AuthenticationError, error_for_status
from connectors.secrets import mask_email
from connectors.transport import parse_retry_after

__all__ = [
    "AUTH_HINT",
    "SYSTEM",
    "ProblemDetails",
    "error_for_response",
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


#: What a person should check when PowerOffice Go refuses the credentials.
AUTH_HINT = "check the PowerOffice Go application, client and subscription keys"


def error_for_response(response: httpx.Response, *, describe: str) -> ApiError:
    """The typed error for an API answer that is not a success; ``describe`` names the
    route (`"GET /Customers/{id}"`) and opens the message."""
    status = response.status_code
    problem = parse_problem(response.content)
    return error_for_status(
        status,
        f"{describe}: {problem.message() or f'HTTP {status}'}",
        system=SYSTEM,
        param=problem.param,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        auth_hint=AUTH_HINT,
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
            f"{text}; {AUTH_HINT}",
            system=SYSTEM,
            status=status,
            code=code,
        )
    problem = parse_problem(decoded)
    return AuthenticationError(
        f"token request refused: {problem.message() or f'HTTP {status}'}; {AUTH_HINT}",
        system=SYSTEM,
        status=status,
    )
