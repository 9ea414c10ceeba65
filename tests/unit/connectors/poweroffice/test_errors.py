"""Problem details parsed case-insensitively and mapped onto the shared error tree."""

from __future__ import annotations

import httpx
import orjson
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
)
from connectors.poweroffice.errors import error_for_response, parse_problem, token_error


def _response(status: int, body: object = None, headers: dict[str, str] | None = None):
    content = b"" if body is None else orjson.dumps(body)
    return httpx.Response(status, content=content, headers=headers)


def test_parse_problem_reads_pascal_case_members() -> None:
    problem = parse_problem(
        {"Type": "t", "Title": "Object(s) not found", "Status": 404, "Detail": "d", "Instance": "i"}
    )
    assert (problem.type, problem.title, problem.status, problem.detail, problem.instance) == (
        "t",
        "Object(s) not found",
        404,
        "d",
        "i",
    )


def test_parse_problem_reads_lower_case_members() -> None:
    problem = parse_problem(b'{"title": "Customer conflict", "status": 409, "detail": "in use"}')
    assert (problem.title, problem.status, problem.detail) == ("Customer conflict", 409, "in use")


def test_parse_problem_takes_the_field_from_an_errors_extension() -> None:
    assert parse_problem({"errors": {"FirstName": ["required"]}}).param == "FirstName"


def test_parse_problem_understands_the_gateway_rate_limit_body() -> None:
    problem = parse_problem(
        {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}
    )
    assert problem.status == 429
    assert problem.detail == "Rate limit is exceeded. Try again in 1 seconds."


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", None])
def test_parse_problem_of_a_non_object_is_empty(body: bytes | None) -> None:
    assert parse_problem(body).message() == ""


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, InvalidRequestError),
        (415, PermanentApiError),
        (429, RateLimitedError),
        (500, TransientApiError),
        (503, TransientApiError),
    ],
)
def test_error_for_response_maps_each_status_to_its_typed_error(
    status: int, error_type: type[ApiError]
) -> None:
    error = error_for_response(_response(status, {"title": "x"}), describe="GET /Employees")
    assert type(error) is error_type
    assert error.status == status
    assert error.system == "poweroffice"


def test_error_message_names_the_route_title_and_detail() -> None:
    error = error_for_response(
        _response(404, {"Title": "Object(s) not found", "Detail": "Customer with id = 7"}),
        describe="GET /Customers/{id}",
    )
    assert "GET /Customers/{id}" in str(error)
    assert "Object(s) not found: Customer with id = 7" in str(error)


def test_invalid_request_error_carries_the_field() -> None:
    error = error_for_response(
        _response(400, {"Title": "Validation", "Errors": {"LastName": ["LastName is required."]}}),
        describe="POST /Employees",
    )
    assert isinstance(error, InvalidRequestError)
    assert error.param == "LastName"


def test_rate_limited_error_honours_retry_after() -> None:
    error = error_for_response(_response(429, None, {"Retry-After": "3"}), describe="GET /x")
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 3.0


def test_rate_limited_error_without_retry_after_waits_one_second() -> None:
    error = error_for_response(_response(429), describe="GET /x")
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 1.0


def test_error_messages_mask_email_addresses() -> None:
    error = error_for_response(
        _response(400, {"detail": "kari.nordmann@example.no is already in use"}),
        describe="POST /Employees",
    )
    assert "kari.nordmann@example.no" not in str(error)
    assert "k***@example.no" in str(error)


def test_token_error_carries_the_rfc6749_error_code() -> None:
    error = token_error(
        _response(401, {"error": "invalid_client", "error_description": "wrong keys"})
    )
    assert isinstance(error, AuthenticationError)
    assert error.code == "invalid_client"
    assert "invalid_client" in str(error)


def test_token_error_without_a_body_is_still_an_authentication_error() -> None:
    assert isinstance(token_error(_response(403)), AuthenticationError)


def test_token_error_on_a_server_error_stays_transient() -> None:
    assert isinstance(token_error(_response(503)), TransientApiError)
