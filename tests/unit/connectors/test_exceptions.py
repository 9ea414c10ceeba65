"""The one status→error helper both connectors share, as a table."""

from __future__ import annotations

import pytest

from connectors.exceptions import (
    ApiError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermanentApiError,
    RateLimitedError,
    TransientApiError,
    error_for_status,
)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (405, PermanentApiError),
        (409, ConflictError),
        (410, PermanentApiError),
        (415, PermanentApiError),
        (422, InvalidRequestError),
        (429, RateLimitedError),
        (500, TransientApiError),
        (502, TransientApiError),
        (503, TransientApiError),
        (504, TransientApiError),
        (599, TransientApiError),
    ],
)
@pytest.mark.parametrize("system", ["poweroffice", "chargebee"])
def test_each_status_maps_to_its_class_of_the_tree(
    status: int, error_type: type[ApiError], system: str
) -> None:
    error = error_for_status(status, "it failed", system=system)
    assert type(error) is error_type
    assert (error.status, error.system) == (status, system)
    assert str(error).endswith(": it failed")


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 500, 418])
def test_the_code_and_field_travel_with_the_error(status: int) -> None:
    error = error_for_status(status, "m", system="chargebee", code="c", param="email")
    assert (error.code, error.param) == ("c", "email")


def test_the_code_travels_with_a_rate_limited_error_too() -> None:
    error = error_for_status(429, "m", system="chargebee", code="api_request_limit_exceeded")
    assert error.code == "api_request_limit_exceeded"


@pytest.mark.parametrize(
    ("retry_after", "default", "expected"),
    [
        (3.0, 1.0, 3.0),
        (0.0, 1.0, 0.0),
        (None, 1.0, 1.0),
        (None, 2.5, 2.5),
    ],
)
def test_a_rate_limited_error_waits_retry_after_else_the_default(
    retry_after: float | None, default: float, expected: float
) -> None:
    error = error_for_status(
        429, "slow down", system="poweroffice", retry_after=retry_after, default_retry_after=default
    )
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == expected


@pytest.mark.parametrize("status", [401, 403])
def test_an_authentication_error_says_which_keys_to_check(status: int) -> None:
    error = error_for_status(status, "refused", system="poweroffice", auth_hint="check the keys")
    assert str(error).endswith("refused (check the keys)")


@pytest.mark.parametrize("status", [400, 404, 429, 500])
def test_the_hint_about_keys_is_only_for_authentication_errors(status: int) -> None:
    error = error_for_status(status, "failed", system="poweroffice", auth_hint="check the keys")
    assert "check the keys" not in str(error)
