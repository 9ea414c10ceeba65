"""A Chargebee API v2 simulator: customers, events and webhook endpoints over real HTTP,
served to our client and to the official Chargebee SDK unchanged.

It implements what `reference/chargebee-api.md` states and nothing the real API lacks:
Basic auth with the API key, form bodies (JSON bodies refused), answers wrapped by resource
name, offset paging, the customer filters, idempotency keys, and a per-site rate limit per
minute answered with 429 and `Retry-After`. Business entities have no API; the web app
that creates and renames them is stood in for by ``/_sim/business_entities`` (design §6),
which emits the events the real app would. ``POST /_sim/customers/{id}/restore`` with a
JSON object of customer fields stands in for a restored backup or a bulk import: the
fields change, `updated_at` and `resource_version` stay and no event is emitted, so only
a full re-read (`ledgerlink resync`) can notice. The data lives in a `ChargebeeStore`; the
choices made where Chargebee's behaviour is undocumented are listed in `store`.

Webhook endpoints have the official SDK's routes (create, retrieve, list, update,
delete); a `WebhookDeliverer` (`webhooks`) runs from app start-up to clean-up and POSTs
every event to the endpoints that want it; ``GET /_sim/webhook_deliveries`` (optionally
``?endpoint_id=``) lists its attempts oldest first.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from connectors.chargebee.forms import FormError, decode_form
from connectors.chargebee.listing import (
    Kind,
    ListingError,
    compile_filters,
    paginate,
    parse_bool,
    parse_limit,
    parse_sort,
)
from connectors.chargebee.sim.store import ChargebeeStore, StoreError, not_found
from connectors.chargebee.sim.webhooks import (
    DEFAULT_RETRY_DELAYS,
    DEFAULT_TIMEOUT,
    WebhookDeliverer,
)
from connectors.simkit import SlidingWindowLimiter, build_simulator_app, serve_forever

__all__ = ["API_PREFIX", "DELIVERER_KEY", "STORE_KEY", "build_app", "serve"]

API_PREFIX = "/api/v2"
IDEMPOTENCY_HEADER = "chargebee-idempotency-key"
REPLAYED_HEADER = "chargebee-idempotency-replayed"
BUSINESS_ENTITY_HEADER = "chargebee-business-entity-id"
IDEMPOTENCY_KEY_MAX = 100

STORE_KEY = web.AppKey("chargebee_store", ChargebeeStore)
LIMITER_KEY = web.AppKey("chargebee_limiter", SlidingWindowLimiter)
DELIVERER_KEY = web.AppKey("chargebee_webhook_deliverer", WebhookDeliverer)

CUSTOMER_FILTERS: dict[str, Kind] = {
    "id": "string",
    "email": "string",
    "first_name": "string",
    "last_name": "string",
    "company": "string",
    "phone": "string",
    "business_entity_id": "string",
    "created_at": "timestamp",
    "updated_at": "timestamp",
}
EVENT_FILTERS: dict[str, Kind] = {
    "id": "string",
    "event_type": "enum",
    "source": "enum",
    "occurred_at": "timestamp",
}
LIST_CONTROLS = frozenset({"limit", "offset", "sort_by", "include_deleted"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(dict(body), status=status, headers=headers)


def _invalid(
    message: str, *, param: str | None = None, code: str = "param_wrong_value"
) -> web.Response:
    return _error(400, StoreError(400, code, message, param=param).body())


# -- middlewares (inside simkit's stats and fault middlewares) ---------------------------


@web.middleware
async def _api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every failure under /api/v2 with Chargebee's JSON error body."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except StoreError as exc:
        return _error(exc.status, exc.body())
    except (ListingError, FormError) as exc:
        message = exc.message if isinstance(exc, ListingError) else str(exc)
        return _invalid(message, param=exc.param)
    except web.HTTPNotFound:
        return _error(404, not_found("resource").body())
    except web.HTTPMethodNotAllowed:
        return _error(
            405,
            StoreError(
                405, "http_method_not_supported", "Sorry, the method is not allowed."
            ).body(),
        )


def _auth_middleware(api_key: str) -> Any:
    expected = api_key.encode()

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        given = _basic_user(request.headers.get("Authorization", ""))
        if given is None or not hmac.compare_digest(given.encode(), expected):
            message = "Sorry, authentication failed. Invalid api key"
            return _error(
                401,
                {
                    "message": message,
                    "api_error_code": "api_authentication_failed",
                    "error_code": "api_authentication_failed",
                    "error_msg": message,
                    "http_status_code": 401,
                },
                headers={"WWW-Authenticate": 'Basic realm="chargebee"'},
            )
        return await handler(request)

    return authenticate


def _basic_user(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user


def _rate_middleware(site: str) -> Any:
    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        retry_after = request.app[LIMITER_KEY].check(site)
        if retry_after is not None:
            return _error(
                429,
                {
                    "message": "Sorry, access has been blocked temporarily due to request count "
                    "exceeding acceptable limits. Please try after some time.",
                    "type": "operation_failed",
                    "api_error_code": "api_request_limit_exceeded",
                    "http_status_code": 429,
                },
                headers={"Retry-After": str(retry_after)},
            )
        return await handler(request)

    return limit


def _idempotency_middleware() -> Any:
    # key -> (lock, number of requests holding or awaiting it)
    locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @web.middleware
    async def replay(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if request.method != "POST" or not request.path.startswith(API_PREFIX) or key is None:
            return await handler(request)
        if not key or len(key) > IDEMPOTENCY_KEY_MAX:
            return _invalid(
                f"{IDEMPOTENCY_HEADER} : must be 1 to {IDEMPOTENCY_KEY_MAX} characters",
                param=IDEMPOTENCY_HEADER,
            )
        store = request.app[STORE_KEY]
        # A repeat that arrives while the first is still being handled waits for its answer.
        lock, users = locks.get(key, (asyncio.Lock(), 0))
        locks[key] = (lock, users + 1)
        try:
            async with lock:
                remembered = store.recall(key)
                if remembered is not None:
                    return web.Response(
                        body=remembered.body,
                        status=remembered.status,
                        content_type="application/json",
                        headers={REPLAYED_HEADER: "true"},
                    )
                response = await handler(request)
                if isinstance(response, web.Response) and response.status < 500:
                    body = response.body
                    if isinstance(body, (bytes, bytearray)):
                        store.remember(key, response.status, bytes(body))
                return response
        finally:
            lock, users = locks[key]
            if users <= 1:
                del locks[key]
            else:
                locks[key] = (lock, users - 1)

    return replay


# -- request reading ----------------------------------------------------------------------


async def _form(request: web.Request) -> dict[str, Any]:
    """The decoded parameters of a request: the query of a GET, the form body of a POST."""
    if request.method == "GET":
        return decode_form(request.query.items())
    content_type = request.content_type
    if "json" in content_type:
        raise StoreError(
            400,
            "invalid_request",
            "Sorry, JSON request bodies are not accepted; "
            "send application/x-www-form-urlencoded parameters.",
        )
    text = await request.text()
    if text and content_type not in (
        "application/x-www-form-urlencoded",
        "application/octet-stream",
    ):
        raise StoreError(
            400, "invalid_request", "Send parameters as application/x-www-form-urlencoded."
        )
    pairs = parse_qsl(text, keep_blank_values=True) if text else []
    return decode_form([*request.query.items(), *pairs])


def _wrapped(resource: str, data: Mapping[str, Any]) -> web.Response:
    return web.json_response({resource: data})


def _listed(resource: str, items: list[Mapping[str, Any]], next_offset: str | None) -> web.Response:
    body: dict[str, Any] = {"list": [{resource: item} for item in items]}
    if next_offset is not None:
        body["next_offset"] = next_offset
    return web.json_response(body)


def _reject_unknown_filters(params: Mapping[str, Any], known: Mapping[str, Kind]) -> None:
    for name, value in params.items():
        if name in LIST_CONTROLS or name in known:
            continue
        if isinstance(value, Mapping):
            raise ListingError(f"{name}[{next(iter(value), '')}]", "unsupported filter")


# -- API routes ---------------------------------------------------------------------------


def _api_routes(app: web.Application) -> None:
    def store_of(request: web.Request) -> ChargebeeStore:
        return request.app[STORE_KEY]

    async def create_customer(request: web.Request) -> web.Response:
        params = await _form(request)
        header_entity = request.headers.get(BUSINESS_ENTITY_HEADER)
        if header_entity and not params.get("business_entity_id"):
            params["business_entity_id"] = header_entity
        return _wrapped("customer", store_of(request).create_customer(params))

    async def list_customers(request: web.Request) -> web.Response:
        params = await _form(request)
        store = store_of(request)
        _reject_unknown_filters(params, CUSTOMER_FILTERS)
        header_entity = request.headers.get(BUSINESS_ENTITY_HEADER)
        if header_entity and "business_entity_id" not in params:
            store.check_business_entity(header_entity)
            params["business_entity_id"] = {"is": header_entity}
        include_deleted = parse_bool(
            params.get("include_deleted", "false"), param="include_deleted"
        )
        predicates = compile_filters(params, CUSTOMER_FILTERS)
        sort = parse_sort(
            params.get("sort_by"),
            allowed=frozenset({"updated_at", "created_at"}),
            default=("created_at", "desc"),
        )
        limit = parse_limit(params.get("limit"))
        offset = params.get("offset") or None
        rows = [
            row
            for row in store.customer_rows(include_deleted=include_deleted)
            if all(predicate(row.data) for predicate in predicates)
        ]
        items, next_offset = paginate(rows, sort=sort, limit=limit, offset=offset)
        return _listed("customer", items, next_offset)

    async def retrieve_customer(request: web.Request) -> web.Response:
        return _wrapped("customer", store_of(request).retrieve_customer(request.match_info["id"]))

    async def update_customer(request: web.Request) -> web.Response:
        params = await _form(request)
        customer = store_of(request).update_customer(request.match_info["id"], params)
        return _wrapped("customer", customer)

    async def delete_customer(request: web.Request) -> web.Response:
        await _form(request)
        return _wrapped("customer", store_of(request).delete_customer(request.match_info["id"]))

    async def list_events(request: web.Request) -> web.Response:
        params = await _form(request)
        _reject_unknown_filters(params, EVENT_FILTERS)
        predicates = compile_filters(params, EVENT_FILTERS)
        sort = parse_sort(
            params.get("sort_by"),
            allowed=frozenset({"occurred_at"}),
            default=("occurred_at", "desc"),
        )
        limit = parse_limit(params.get("limit"))
        rows = [
            row
            for row in store_of(request).event_rows()
            if all(predicate(row.data) for predicate in predicates)
        ]
        items, next_offset = paginate(
            rows, sort=sort, limit=limit, offset=params.get("offset") or None
        )
        return _listed("event", items, next_offset)

    async def retrieve_event(request: web.Request) -> web.Response:
        wanted = request.match_info["id"]
        for row in store_of(request).event_rows():
            if row.data["id"] == wanted:
                return _wrapped("event", row.data)
        raise not_found("event")

    app.router.add_post(f"{API_PREFIX}/customers", create_customer)
    app.router.add_get(f"{API_PREFIX}/customers", list_customers)
    app.router.add_get(f"{API_PREFIX}/customers/{{id}}", retrieve_customer)
    app.router.add_post(f"{API_PREFIX}/customers/{{id}}", update_customer)
    app.router.add_post(f"{API_PREFIX}/customers/{{id}}/delete", delete_customer)

    async def create_webhook_endpoint(request: web.Request) -> web.Response:
        params = await _form(request)
        endpoint = store_of(request).create_webhook_endpoint(params)
        return _wrapped("webhook_endpoint", endpoint)

    async def list_webhook_endpoints(request: web.Request) -> web.Response:
        params = await _form(request)
        _reject_unknown_filters(params, {})
        items, next_offset = paginate(
            store_of(request).webhook_endpoint_rows(),
            # Endpoints carry no timestamp: oldest first by insertion.
            sort=("seq", "asc"),
            limit=parse_limit(params.get("limit")),
            offset=params.get("offset") or None,
        )
        return _listed("webhook_endpoint", items, next_offset)

    async def retrieve_webhook_endpoint(request: web.Request) -> web.Response:
        endpoint = store_of(request).retrieve_webhook_endpoint(request.match_info["id"])
        return _wrapped("webhook_endpoint", endpoint)

    async def update_webhook_endpoint(request: web.Request) -> web.Response:
        params = await _form(request)
        endpoint = store_of(request).update_webhook_endpoint(request.match_info["id"], params)
        return _wrapped("webhook_endpoint", endpoint)

    async def delete_webhook_endpoint(request: web.Request) -> web.Response:
        await _form(request)
        endpoint = store_of(request).delete_webhook_endpoint(request.match_info["id"])
        return _wrapped("webhook_endpoint", endpoint)

    app.router.add_get(f"{API_PREFIX}/events", list_events)
    app.router.add_get(f"{API_PREFIX}/events/{{id}}", retrieve_event)
    webhooks = f"{API_PREFIX}/webhook_endpoints"
    app.router.add_post(webhooks, create_webhook_endpoint)
    app.router.add_get(webhooks, list_webhook_endpoints)
    app.router.add_get(f"{webhooks}/{{id}}", retrieve_webhook_endpoint)
    app.router.add_post(f"{webhooks}/{{id}}", update_webhook_endpoint)
    app.router.add_post(f"{webhooks}/{{id}}/delete", delete_webhook_endpoint)


# -- the web app's stand-in (design §6) ---------------------------------------------------


def _admin_routes(app: web.Application) -> None:
    async def body_of(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise StoreError(400, "invalid_request", "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise StoreError(400, "invalid_request", "the body must be a JSON object")
        return body

    def answer(call: Callable[[], dict[str, Any]]) -> web.Response:
        try:
            return _wrapped("business_entity", call())
        except StoreError as exc:
            return _error(exc.status, exc.body())

    async def add(request: web.Request) -> web.Response:
        try:
            body = await body_of(request)
        except StoreError as exc:
            return _error(exc.status, exc.body())
        store = request.app[STORE_KEY]
        return answer(
            lambda: store.add_business_entity(
                str(body.get("id") or ""), str(body.get("name") or "")
            )
        )

    async def rename(request: web.Request) -> web.Response:
        try:
            body = await body_of(request)
        except StoreError as exc:
            return _error(exc.status, exc.body())
        store = request.app[STORE_KEY]
        entity_id = request.match_info["id"]
        return answer(lambda: store.rename_business_entity(entity_id, str(body.get("name") or "")))

    async def delete(request: web.Request) -> web.Response:
        store = request.app[STORE_KEY]
        entity_id = request.match_info["id"]
        return answer(lambda: store.delete_business_entity(entity_id))

    async def restore(request: web.Request) -> web.Response:
        store = request.app[STORE_KEY]
        try:
            body = await body_of(request)
            return _wrapped("customer", store.restore_customer(request.match_info["id"], body))
        except StoreError as exc:
            return _error(exc.status, exc.body())

    async def webhook_deliveries(request: web.Request) -> web.Response:
        attempts = request.app[DELIVERER_KEY].attempts(request.query.get("endpoint_id"))
        return web.json_response({"deliveries": [attempt.as_json() for attempt in attempts]})

    app.router.add_get("/_sim/webhook_deliveries", webhook_deliveries)
    app.router.add_post("/_sim/business_entities", add)
    app.router.add_post("/_sim/business_entities/{id}", rename)
    app.router.add_post("/_sim/business_entities/{id}/delete", delete)
    app.router.add_post("/_sim/customers/{id}/restore", restore)


# -- building and serving -----------------------------------------------------------------


def build_app(
    *,
    site: str,
    api_key: str,
    rate_limit_per_minute: int = 3500,
    store: ChargebeeStore | None = None,
    limiter: SlidingWindowLimiter | None = None,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    webhook_timeout: float = DEFAULT_TIMEOUT,
) -> web.Application:
    """The simulator for one site. ``rate_limit_per_minute`` 0 turns the limit off;
    ``limiter`` replaces the per-minute window (tests use short windows);
    ``webhook_retry_delays`` are the waits before each retry of a failed webhook delivery
    and ``webhook_timeout`` bounds one delivery, in seconds."""
    the_store = store if store is not None else ChargebeeStore()
    the_limiter = (
        limiter if limiter is not None else SlidingWindowLimiter(rate_limit_per_minute, 60.0)
    )
    deliverer = WebhookDeliverer(
        the_store, retry_delays=webhook_retry_delays, timeout=webhook_timeout
    )

    def on_reset() -> None:
        deliverer.reset()
        the_store.reset()
        the_limiter.reset()

    async def start_delivery(_: web.Application) -> None:
        await deliverer.start()

    async def stop_delivery(_: web.Application) -> None:
        await deliverer.stop()

    app = build_simulator_app(
        "chargebee",
        on_reset=on_reset,
        middlewares=[
            _api_errors,
            _auth_middleware(api_key),
            _rate_middleware(site),
            _idempotency_middleware(),
        ],
    )
    app[STORE_KEY] = the_store
    app[LIMITER_KEY] = the_limiter
    app[DELIVERER_KEY] = deliverer
    app.on_startup.append(start_delivery)
    app.on_cleanup.append(stop_delivery)
    _api_routes(app)
    _admin_routes(app)
    return app


def sdk_hint(host: str, port: int, api_key: str) -> str:
    """How to point the official SDK at a simulator on ``host:port``."""
    label, dot, rest = host.partition(".")
    if not dot:
        return "  official SDK: listen on 127.0.0.1 so that site and domain can spell the host"
    shown_port = str(port) if port else "<port>"
    return (
        f'  official SDK: Chargebee(api_key="{api_key}", site="{label}", '
        f'chargebee_domain="{rest}:{shown_port}", protocol="http"), '
        "and set chargebee.Chargebee.verify_ca_certs = False"
    )


async def serve(
    *, host: str, port: int, site: str, api_key: str, rate_limit_per_minute: int
) -> None:
    """Run the simulator in the foreground until cancelled, printing how to reach it."""
    app = build_app(site=site, api_key=api_key, rate_limit_per_minute=rate_limit_per_minute)
    banner = [
        f"Chargebee simulator for site {site!r}",
        f"  base URL: {{root}}{API_PREFIX}",
        f"  API key (HTTP Basic user name, empty password): {api_key}",
        f"  rate limit: {rate_limit_per_minute} requests per minute",
        "  admin: {root}/_sim/health, /_sim/stats, /_sim/faults, /_sim/reset, "
        "/_sim/business_entities, /_sim/customers/{id}/restore, /_sim/webhook_deliveries",
        sdk_hint(host, port, api_key),
    ]
    await serve_forever(app, host, port, banner)
