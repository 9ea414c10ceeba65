"""Chargebee error bodies become the project's error tree."""

from __future__ import annotations

import pytest

from connectors.chargebee.errors import error_from_response
from connectors.exceptions import (
    AuthenticationError,
    ConflictError,
    DuplicateIdError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    TransientApiError,
)


def body(status: int, code: str, *, param: str | None = None, type_: str = "invalid_request"):
    data = {
        "message": f"{code} happened",
        "type": type_,
        "api_error_code": code,
        "error_code": code,
        "error_msg": f"{code} happened",
        "http_status_code": status,
    }
    if param:
        data["param"] = param
    return data


@pytest.mark.parametrize(
    ("status", "data", "expected"),
    [
        (400, body(400, "duplicate_entry", param="id"), DuplicateIdError),
        (400, body(400, "param_wrong_value", param="email"), InvalidRequestError),
        (400, body(400, "duplicate_entry", param="email"), InvalidRequestError),
        (401, body(401, "api_authentication_failed"), AuthenticationError),
        (403, body(403, "api_authorization_failed"), AuthenticationError),
        (404, body(404, "resource_not_found"), NotFoundError),
        (409, body(409, "invalid_state_for_request"), ConflictError),
        (429, body(429, "api_request_limit_exceeded", type_="operation_failed"), RateLimitedError),
        (500, body(500, "internal_error"), TransientApiError),
        (503, None, TransientApiError),
    ],
)
def test_status_and_body_map_to_the_error_class(status, data, expected):
    error = error_from_response(status, data)
    assert type(error) is expected


def test_duplicate_id_error_names_the_param_and_code():
    error = error_from_response(400, body(400, "duplicate_entry", param="id"))
    assert (error.param, error.code, error.status) == ("id", "duplicate_entry", 400)


def test_rate_limited_error_carries_retry_after_from_the_header():
    error = error_from_response(429, body(429, "api_request_limit_exceeded"), retry_after="7")
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 7.0


def test_rate_limited_error_falls_back_to_the_default_wait():
    error = error_from_response(429, None, default_retry_after=2.5)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 2.5


def test_a_body_that_is_not_chargebees_still_gives_a_message():
    error = error_from_response(502, None)
    assert "HTTP 502" in str(error)
