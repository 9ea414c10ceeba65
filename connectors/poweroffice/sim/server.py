"""A PowerOffice Go v2 simulator: a real HTTP server for the four resources ledgerlink uses.

Layout as the real service: the token endpoint at `{root}/OAuth/Token`, the API under
`{root}/v2`, plus simkit's `/_sim/` admin surface (health, reset, stats, faults). It
serves only endpoints the real API has. Data and data rules live in `PowerOfficeStore`
(see its docstring for the behaviours picked there); this module does HTTP: keys and
tokens, the rate limit, query parameters, status codes and bodies.

Behaviours picked where the reference is silent or *unverified*:

- Every request needs the `Ocp-Apim-Subscription-Key` header (the token call included);
  without the right key the answer is 401. The rate limit (`rate_limit` requests per
  sliding second, per subscription key) covers the token call too; over it the answer is
  429 `{"statusCode": 429, "message": "Rate limit is exceeded. Try again in N seconds."}`
  with `Retry-After: N`.
- Token errors are RFC 6749 bodies: `invalid_client` (401, also for a missing or wrong
  subscription key on the token call), `invalid_request` (400, no form body or no
  grant_type), `unsupported_grant_type` (400). Tokens live `token_lifetime` s (1200).
- API errors are RFC 7807 problem details with PascalCase members (`Type, Title, Status,
  Detail, Instance`, as in the schema) plus an `Errors` member naming the field for
  validation errors. A missing or expired bearer token is 401 with problem details.
- Timestamps are written with seven fractional digits and the `Z` offset.
- Query parameter names are matched case-insensitively (as ASP.NET binds them); unknown
  parameters are ignored, except any OData `$` parameter (`$top`, `$skip`, ...), which is
  400. `PageNumber` < 1, `PageSize` < 1 or > 20000 are 400; a page past the end is 204.
- No `X-Pagination` header is sent: clients must stop at 204 or a short page.
- POST answers 201 with the created entity, PATCH 200 with the updated entity, DELETE
  200 with an empty body. PATCH needs `Content-Type: application/json-patch+json` (else
  415); POST takes the JSON media types the schema lists.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from connectors.poweroffice.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from connectors.poweroffice.resources import CHANGE_FILTER, Resource
from connectors.poweroffice.sim.store import (
    ListQuery,
    PowerOfficeStore,
    Problem,
    parse_fields,
    parse_id_list,
    parse_order_by,
)
from connectors.poweroffice.timestamps import parse_timestamp
from connectors.secrets import Secret
from connectors.simkit import SlidingWindowLimiter, build_simulator_app, serve_forever
from connectors.simkit.app import ADMIN_PREFIX

__all__ = [
    "ADMITTED_KEY",
    "LIMITER_KEY",
    "STORE_KEY",
    "TOKENS_KEY",
    "TokenIssuer",
    "build_app",
    "serve",
]

SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
TOKEN_PATH = "/OAuth/Token"
API_PREFIX = "/v2"

_CREATED_FILTER = {
    Resource.CUSTOMERS: "customerCreatedDateTimeOffsetGreaterThan",
    Resource.EMPLOYEES: "employeeCreatedDateTimeOffsetGreaterThan",
    Resource.CONTACT_PERSONS: "createdDateTimeOffsetGreaterThan",
    Resource.DEPARTMENTS: "createdDateTimeOffsetGreaterThan",
}
_ID_PARAMETER = {
    Resource.CUSTOMERS: "id",
    Resource.EMPLOYEES: "employeeId",
    Resource.CONTACT_PERSONS: "id",
    Resource.DEPARTMENTS: "id",
}
_POST_TYPES = frozenset(
    {"application/json", "text/json", "application/json-patch+json", "application/*+json"}
)


class TokenIssuer:
    """Issues and checks bearer tokens for one application key / client key pair."""

    def __init__(
        self,
        *,
        application_key: Secret,
        client_key: Secret,
        lifetime: int = 1200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._application_key = application_key
        self._client_key = client_key
        self.lifetime = lifetime
        self._clock = clock
        self._tokens: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"TokenIssuer(lifetime={self.lifetime})"

    def accepts(self, application_key: str, client_key: str) -> bool:
        return secrets.compare_digest(
            application_key, self._application_key.reveal()
        ) and secrets.compare_digest(client_key, self._client_key.reveal())

    def issue(self) -> str:
        now = self._clock()
        self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
        token = secrets.token_urlsafe(32)
        self._tokens[token] = now + self.lifetime
        return token

    def valid(self, token: str) -> bool:
        expires = self._tokens.get(token)
        return expires is not None and self._clock() < expires

    def revoke_all(self) -> None:
        """Make every issued token invalid (as if they had expired), for tests."""
        self._tokens.clear()


STORE_KEY = web.AppKey("poweroffice_store", PowerOfficeStore)
TOKENS_KEY = web.AppKey("poweroffice_tokens", TokenIssuer)
LIMITER_KEY = web.AppKey("poweroffice_limiter", SlidingWindowLimiter)
#: Monotonic times of the requests the rate limiter admitted (the latest 100,000).
ADMITTED_KEY = web.AppKey("poweroffice_admitted", deque[float])


# -- answers ---------------------------------------------------------------------------------


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


_PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
    401: "https://tools.ietf.org/html/rfc7235#section-3.1",
    404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
    409: "https://tools.ietf.org/html/rfc7231#section-6.5.8",
    415: "https://tools.ietf.org/html/rfc7231#section-6.5.13",
}


def _problem(request: web.Request, problem: Problem) -> web.Response:
    body: dict[str, Any] = {
        "Type": _PROBLEM_TYPES.get(problem.status),
        "Title": problem.title,
        "Status": problem.status,
        "Detail": problem.detail,
        "Instance": request.path,
    }
    if problem.field is not None:
        body["Errors"] = {problem.field: [problem.detail]}
    return _json(body, status=problem.status)


def _token_error(error: str, description: str, status: int) -> web.Response:
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
    return _json({"error": error, "error_description": description}, status, headers)


# -- gateway: subscription key, rate limit, bearer token --------------------------------------


def _gateway(subscription_key: Secret) -> Middleware:
    @web.middleware
    async def gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        key = request.headers.get(SUBSCRIPTION_HEADER, "")
        is_token_call = request.path == TOKEN_PATH
        if not key or not secrets.compare_digest(key, subscription_key.reveal()):
            description = (
                "Access denied due to missing or invalid subscription key. Make sure to "
                f"include a valid {SUBSCRIPTION_HEADER} header."
            )
            if is_token_call:
                return _token_error("invalid_client", description, 401)
            return _problem(request, Problem(401, "Unauthorized", description))
        wait = request.app[LIMITER_KEY].check(key)
        if wait is not None:
            return _json(
                {
                    "statusCode": 429,
                    "message": f"Rate limit is exceeded. Try again in {wait} seconds.",
                },
                status=429,
                headers={"Retry-After": str(wait)},
            )
        request.app[ADMITTED_KEY].append(time.monotonic())
        if request.path.startswith(API_PREFIX + "/"):
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not request.app[TOKENS_KEY].valid(token.strip()):
                return _problem(
                    request,
                    Problem(
                        401, "Unauthorized", "The access token is missing, invalid or expired."
                    ),
                )
        return await handler(request)

    return gateway


# -- the token endpoint -------------------------------------------------------------------------


async def _issue_token(request: web.Request) -> web.Response:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        application_key, sep, client_key = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        sep = ""
    if scheme.lower() != "basic" or not sep:
        return _token_error(
            "invalid_client", "Client authentication must use HTTP Basic authentication.", 401
        )
    if request.content_type != "application/x-www-form-urlencoded":
        return _token_error(
            "invalid_request", "The body must be application/x-www-form-urlencoded.", 400
        )
    form = await request.post()
    grant_type = form.get("grant_type")
    if not grant_type:
        return _token_error("invalid_request", "The grant_type parameter is missing.", 400)
    if grant_type != "client_credentials":
        return _token_error(
            "unsupported_grant_type", "Only the client_credentials grant is supported.", 400
        )
    issuer = request.app[TOKENS_KEY]
    if not issuer.accepts(application_key, client_key):
        return _token_error("invalid_client", "The application key or client key is wrong.", 401)
    return _json(
        {"access_token": issuer.issue(), "token_type": "bearer", "expires_in": issuer.lifetime},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


# -- the API ----------------------------------------------------------------------------------


def _path_id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    try:
        return int(raw)
    except ValueError:
        raise Problem(400, "Invalid request", f"The value '{raw}' is not a valid {name}.") from None


def _int_parameter(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name.lower())
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise Problem(
            400, "Invalid request", f"The value '{raw}' is not valid for {name}."
        ) from None


def _timestamp_parameter(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name.lower())
    if raw is None or not raw.strip():
        return None
    try:
        return parse_timestamp(raw)
    except ValueError:
        raise Problem(
            400, "Invalid request", f"The value '{raw}' is not valid for {name}."
        ) from None


def _list_query(request: web.Request, resource: Resource) -> ListQuery:
    query: dict[str, str] = {}
    for name, value in request.query.items():
        if name.startswith("$"):
            raise Problem(
                400,
                "Invalid request",
                f"OData query option '{name}' is not supported; use PageNumber and PageSize.",
            )
        query[name.lower()] = value
    page_number = _int_parameter(query, "PageNumber", 1)
    page_size = _int_parameter(query, "PageSize", DEFAULT_PAGE_SIZE)
    if page_number < 1:
        raise Problem(400, "Invalid request", "PageNumber must be 1 or greater.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Problem(
            400, "Invalid request", f"PageSize must be between 1 and MaxPageSize ({MAX_PAGE_SIZE})."
        )
    contact_ids = None
    if resource is Resource.CONTACT_PERSONS and query.get("contactids", "").strip():
        contact_ids = parse_id_list(query["contactids"], parameter="contactIds")
    return ListQuery(
        changed_after=_timestamp_parameter(query, CHANGE_FILTER),
        created_after=_timestamp_parameter(query, _CREATED_FILTER[resource]),
        contact_ids=contact_ids,
        page_number=page_number,
        page_size=page_size,
        order_by=parse_order_by(resource, query.get("orderby", "")),
        fields=parse_fields(resource, query.get("fields", "")),
    )


async def _body(request: web.Request, allowed: frozenset[str]) -> Any:
    if request.content_type not in allowed:
        raise Problem(
            415,
            "Unsupported Media Type",
            f"Content-Type must be one of {', '.join(sorted(allowed))}.",
        )
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise Problem(400, "Invalid request", "The body is not valid JSON.") from None


def _contact_id(request: web.Request, resource: Resource) -> int | None:
    if resource is Resource.CONTACT_PERSONS:
        return _path_id(request, "contactId")
    return None


def _handlers(resource: Resource) -> dict[str, Handler]:
    id_name = _ID_PARAMETER[resource]

    async def list_records(request: web.Request) -> web.StreamResponse:
        records = request.app[STORE_KEY].list_page(resource, _list_query(request, resource))
        if not records:
            return web.Response(status=204)
        return _json(records)

    async def create(request: web.Request) -> web.StreamResponse:
        contact_id = _contact_id(request, resource)
        body = await _body(request, _POST_TYPES)
        if not isinstance(body, dict):
            raise Problem(400, "Invalid request", "The body must be a JSON object.")
        return _json(request.app[STORE_KEY].create(resource, body, contact_id=contact_id), 201)

    async def get(request: web.Request) -> web.StreamResponse:
        store = request.app[STORE_KEY]
        record_id = _path_id(request, id_name)
        return _json(store.get(resource, record_id, contact_id=_contact_id(request, resource)))

    async def patch(request: web.Request) -> web.StreamResponse:
        record_id = _path_id(request, id_name)
        contact_id = _contact_id(request, resource)
        operations = await _body(request, frozenset({"application/json-patch+json"}))
        store = request.app[STORE_KEY]
        return _json(store.patch(resource, record_id, operations, contact_id=contact_id))

    async def delete(request: web.Request) -> web.StreamResponse:
        record_id = _path_id(request, id_name)
        store = request.app[STORE_KEY]
        store.delete(resource, record_id, contact_id=_contact_id(request, resource))
        return web.Response(status=200)

    return {"list": list_records, "create": create, "get": get, "patch": patch, "delete": delete}


def _answer_problems(handler: Handler) -> Handler:
    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as problem:
            return _problem(request, problem)

    return answer


def _add_api_routes(app: web.Application) -> None:
    for resource in Resource:
        h = {name: _answer_problems(fn) for name, fn in _handlers(resource).items()}
        base = f"{API_PREFIX}/{resource.value}"
        if resource is Resource.CONTACT_PERSONS:
            one = f"{base}/{{contactId}}/{{id}}"
            app.router.add_post(f"{base}/{{contactId}}", h["create"])
        else:
            one = f"{base}/{{{_ID_PARAMETER[resource]}}}"
            app.router.add_post(base, h["create"])
        app.router.add_get(base, h["list"], allow_head=False)
        app.router.add_get(one, h["get"], allow_head=False)
        app.router.add_patch(one, h["patch"])
        app.router.add_delete(one, h["delete"])


# -- building and serving -----------------------------------------------------------------------


def _secret(value: str | Secret) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


def build_app(
    *,
    application_key: str | Secret,
    client_key: str | Secret,
    subscription_key: str | Secret,
    rate_limit: int = 10,
    store: PowerOfficeStore | None = None,
    token_lifetime: int = 1200,
    tokens: TokenIssuer | None = None,
) -> web.Application:
    """The simulator app. ``rate_limit`` is requests per second per subscription key (0
    turns the limit off). The store, token issuer, limiter and admitted-request times are
    reachable as ``app[STORE_KEY]``, ``app[TOKENS_KEY]``, ``app[LIMITER_KEY]`` and
    ``app[ADMITTED_KEY]``; `POST /_sim/reset` empties the store and the limiter."""
    the_store = store if store is not None else PowerOfficeStore()
    limiter = SlidingWindowLimiter(rate_limit, 1.0)
    issuer = tokens or TokenIssuer(
        application_key=_secret(application_key),
        client_key=_secret(client_key),
        lifetime=token_lifetime,
    )

    def on_reset() -> None:
        the_store.reset()
        limiter.reset()

    app = build_simulator_app(
        "poweroffice", on_reset=on_reset, middlewares=[_gateway(_secret(subscription_key))]
    )
    app[STORE_KEY] = the_store
    app[TOKENS_KEY] = issuer
    app[LIMITER_KEY] = limiter
    app[ADMITTED_KEY] = deque(maxlen=100_000)
    app.router.add_post(TOKEN_PATH, _issue_token)
    _add_api_routes(app)
    return app


async def serve(
    *,
    host: str,
    port: int,
    application_key: str,
    client_key: str,
    subscription_key: str,
    rate_limit: int,
) -> None:
    """Run the simulator in the foreground until cancelled, printing what it accepts."""
    app = build_app(
        application_key=application_key,
        client_key=client_key,
        subscription_key=subscription_key,
        rate_limit=rate_limit,
    )
    banner = [
        "PowerOffice Go v2 simulator",
        f"  base URL:         {{root}}{API_PREFIX}",
        f"  token URL:        {{root}}{TOKEN_PATH}",
        f"  application key:  {application_key}",
        f"  client key:       {client_key}",
        f"  subscription key: {subscription_key}",
        f"  rate limit:       {rate_limit} requests/s per subscription key",
        "  admin:            {root}/_sim/health, /_sim/stats, /_sim/faults, /_sim/reset",
    ]
    await serve_forever(app, host, port, banner)
