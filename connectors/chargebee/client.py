"""The Chargebee API v2 as ledgerlink uses it: customers, events and webhook endpoints.

`ChargebeeClient` owns the HTTP session of one site. Every request spends a token from the
site's one budget (`shared_buckets`, shared by every client of the site), goes through
`send_with_retries` (429 with `Retry-After`, 5xx and dropped connections), and an error
answer becomes a typed `connectors.exceptions` error in `errors.error_from_response`.
Creates always carry a ``chargebee-idempotency-key``, which makes them safe to repeat
after a connection broke mid-request. Webhook endpoints can be created, listed, retrieved,
updated and found by URL, so a worker can register its receiver once and reuse it on
restart; their Basic password goes in as a `Secret` and Chargebee never answers it back.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from connectors.chargebee.auth import ApiKeyAuth
from connectors.chargebee.errors import SYSTEM, error_from_response
from connectors.chargebee.forms import encode_form, filter_param
from connectors.chargebee.paging import Page, follow_offsets, next_offset_of
from connectors.exceptions import ApiError, PermanentApiError
from connectors.secrets import Secret, mask_email
from connectors.transport import RetryPolicy, send_with_retries
from connectors.transport.ratelimit import TokenBucket, budget_key, shared_buckets
from connectors.transport.session import HttpSession

__all__ = [
    "BUSINESS_ENTITY_HEADER",
    "IDEMPOTENCY_HEADER",
    "REPLAYED_HEADER",
    "ChargebeeClient",
    "Page",
]

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "chargebee-idempotency-key"
REPLAYED_HEADER = "chargebee-idempotency-replayed"
BUSINESS_ENTITY_HEADER = "chargebee-business-entity-id"

MAX_LIMIT = 100
DEFAULT_RETRY = RetryPolicy()


class ChargebeeClient(HttpSession):
    """An async client for one Chargebee site.

    ``base_url`` is the API root (``https://{site}.chargebee.com/api/v2`` or a simulator's
    ``{root}/api/v2``). ``requests_per_minute`` sizes the site's budget the first time any
    client of the site is built. Pass ``http`` to reuse a session (it is then not closed
    here); otherwise the client opens its own and `aclose` closes it.
    """

    def __init__(
        self,
        *,
        site: str,
        api_key: Secret,
        base_url: str,
        requests_per_minute: int = 150,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        if requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive")
        self.site = site
        self.base_url = base_url.rstrip("/")
        self._auth = ApiKeyAuth(api_key)
        self._retry = retry
        self._bucket = shared_buckets.get(budget_key(SYSTEM, site), requests_per_minute / 60.0)
        super().__init__(http)

    def __repr__(self) -> str:
        return f"ChargebeeClient(site={self.site!r}, base_url={self.base_url!r})"

    @property
    def bucket(self) -> TokenBucket:
        """The request budget this client spends from (shared with every client of it)."""
        return self._bucket

    # -- customers -------------------------------------------------------------------

    async def list_customers_page(
        self,
        *,
        updated_after: int | None = None,
        include_deleted: bool = False,
        sort_by_updated_at: bool = True,
        limit: int = 100,
        offset: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Page:
        """One page of customers, oldest change first when ``sort_by_updated_at``.

        ``updated_after`` is strict (``updated_at[after]``). ``filters`` are extra raw
        list parameters, e.g. ``{"email[is]": "kari@example.no"}``.
        """
        params = _list_params(limit, offset)
        if updated_after is not None:
            params.append(filter_param("updated_at", "after", updated_after))
        if include_deleted:
            params.append(("include_deleted", "true"))
        if sort_by_updated_at:
            params.append(("sort_by[asc]", "updated_at"))
        params.extend((key, value) for key, value in (filters or {}).items())
        body = await self._request("GET", "/customers", "GET /customers", params=params)
        items = [_unwrap(entry, "customer") for entry in _entries(body)]
        return Page(items=items, next_offset=next_offset_of(body))

    async def iter_customers(
        self,
        *,
        updated_after: int | None = None,
        include_deleted: bool = False,
        sort_by_updated_at: bool = True,
        limit: int = 100,
        filters: Mapping[str, str] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every customer matching the filters, page after page."""
        pages = follow_offsets(
            lambda offset: self.list_customers_page(
                updated_after=updated_after,
                include_deleted=include_deleted,
                sort_by_updated_at=sort_by_updated_at,
                limit=limit,
                offset=offset,
                filters=filters,
            )
        )
        async for page in pages:
            for item in page.items:
                yield item

    async def create_customer(
        self,
        fields: Mapping[str, Any],
        *,
        customer_id: str | None = None,
        idempotency_key: str | None = None,
        business_entity_id: str | None = None,
    ) -> dict[str, Any]:
        """Create a customer; with ``customer_id`` the id is ours (a repeat raises
        `DuplicateIdError`). An idempotency key is generated when none is given."""
        payload: dict[str, Any] = dict(fields)
        if customer_id is not None:
            payload["id"] = customer_id
        if business_entity_id is not None:
            payload["business_entity_id"] = business_entity_id
        key = idempotency_key or str(uuid.uuid4())
        body = await self._request(
            "POST",
            "/customers",
            "POST /customers",
            form=encode_form(payload),
            idempotency_key=key,
        )
        customer = _unwrap(body, "customer")
        log.info(
            "chargebee customer %s created (%s)",
            customer.get("id"),
            mask_email(customer.get("email")),
        )
        return customer

    async def update_customer(
        self,
        customer_id: str,
        fields: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Change the given fields of a customer; others stay as they are."""
        body = await self._request(
            "POST",
            f"/customers/{_segment(customer_id)}",
            "POST /customers/{id}",
            form=encode_form(dict(fields)),
            idempotency_key=idempotency_key,
        )
        customer = _unwrap(body, "customer")
        log.info(
            "chargebee customer %s updated (%s)",
            customer.get("id"),
            mask_email(customer.get("email")),
        )
        return customer

    async def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        """One customer; `NotFoundError` when there is none."""
        body = await self._request(
            "GET", f"/customers/{_segment(customer_id)}", "GET /customers/{id}"
        )
        return _unwrap(body, "customer")

    async def delete_customer(self, customer_id: str) -> dict[str, Any]:
        """Delete a customer; answers the customer as it was deleted."""
        body = await self._request(
            "POST",
            f"/customers/{_segment(customer_id)}/delete",
            "POST /customers/{id}/delete",
            form=[],
        )
        customer = _unwrap(body, "customer")
        log.info("chargebee customer %s deleted", customer.get("id"))
        return customer

    # -- events ----------------------------------------------------------------------

    async def list_events_page(
        self,
        *,
        occurred_after: int | None = None,
        event_types: Sequence[str] | None = None,
        limit: int = 100,
        offset: str | None = None,
    ) -> Page:
        """One page of whole event objects, oldest first (``occurred_at[after]`` is strict)."""
        params = _list_params(limit, offset)
        if occurred_after is not None:
            params.append(filter_param("occurred_at", "after", occurred_after))
        if event_types:
            params.append(filter_param("event_type", "in", list(event_types)))
        params.append(("sort_by[asc]", "occurred_at"))
        body = await self._request("GET", "/events", "GET /events", params=params)
        items = [_unwrap(entry, "event") for entry in _entries(body)]
        return Page(items=items, next_offset=next_offset_of(body))

    async def iter_events(
        self,
        *,
        occurred_after: int | None = None,
        event_types: Sequence[str] | None = None,
        limit: int = 100,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every event matching the filters, oldest first, page after page."""
        pages = follow_offsets(
            lambda offset: self.list_events_page(
                occurred_after=occurred_after,
                event_types=event_types,
                limit=limit,
                offset=offset,
            )
        )
        async for page in pages:
            for item in page.items:
                yield item

    # -- webhook endpoints -----------------------------------------------------------

    async def create_webhook_endpoint(
        self,
        name: str,
        url: str,
        *,
        basic_auth: tuple[str, Secret] | None = None,
        enabled_events: Sequence[str] | None = None,
        fields: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Register ``url`` to receive events. ``basic_auth`` is the (user name, password)
        Chargebee will send; ``enabled_events`` limits the event types (none means all);
        ``fields`` are the other parameters (``api_version``, ``disabled``,
        ``primary_url``, ``send_card_resource``, ``chargebee_response_schema_type``).
        An idempotency key is generated when none is given."""
        payload: dict[str, Any] = {**(fields or {}), "name": name, "url": url}
        payload.update(_webhook_extras(basic_auth, enabled_events))
        body = await self._request(
            "POST",
            "/webhook_endpoints",
            "POST /webhook_endpoints",
            form=encode_form(payload),
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        )
        endpoint = _unwrap(body, "webhook_endpoint")
        log.info("chargebee webhook endpoint %s created for %s", endpoint.get("id"), url)
        return endpoint

    async def update_webhook_endpoint(
        self,
        endpoint_id: str,
        fields: Mapping[str, Any],
        *,
        basic_auth: tuple[str, Secret] | None = None,
        enabled_events: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Change the given settings of an endpoint; ``enabled_events`` replaces the list."""
        payload: dict[str, Any] = dict(fields)
        payload.update(_webhook_extras(basic_auth, enabled_events))
        body = await self._request(
            "POST",
            f"/webhook_endpoints/{_segment(endpoint_id)}",
            "POST /webhook_endpoints/{id}",
            form=encode_form(payload),
            idempotency_key=idempotency_key,
        )
        endpoint = _unwrap(body, "webhook_endpoint")
        log.info("chargebee webhook endpoint %s updated", endpoint.get("id"))
        return endpoint

    async def retrieve_webhook_endpoint(self, endpoint_id: str) -> dict[str, Any]:
        """One webhook endpoint; `NotFoundError` when there is none."""
        body = await self._request(
            "GET",
            f"/webhook_endpoints/{_segment(endpoint_id)}",
            "GET /webhook_endpoints/{id}",
        )
        return _unwrap(body, "webhook_endpoint")

    async def list_webhook_endpoints_page(
        self, *, limit: int = 100, offset: str | None = None
    ) -> Page:
        """One page of the site's webhook endpoints."""
        body = await self._request(
            "GET",
            "/webhook_endpoints",
            "GET /webhook_endpoints",
            params=_list_params(limit, offset),
        )
        items = [_unwrap(entry, "webhook_endpoint") for entry in _entries(body)]
        return Page(items=items, next_offset=next_offset_of(body))

    async def iter_webhook_endpoints(self, *, limit: int = 100) -> AsyncIterator[dict[str, Any]]:
        """Every webhook endpoint of the site, page after page."""
        pages = follow_offsets(
            lambda offset: self.list_webhook_endpoints_page(limit=limit, offset=offset)
        )
        async for page in pages:
            for item in page.items:
                yield item

    async def find_webhook_endpoint(self, url: str) -> dict[str, Any] | None:
        """The first endpoint registered for exactly ``url``, or None: what a restart
        looks for before creating another."""
        async for endpoint in self.iter_webhook_endpoints():
            if endpoint.get("url") == url:
                return endpoint
        return None

    # -- plumbing --------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        describe: str,
        *,
        params: list[tuple[str, str]] | None = None,
        form: list[tuple[str, str]] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        if params:
            url = f"{url}?{urlencode(params)}"
        headers = {"Accept": "application/json"}
        policy = self._retry
        if idempotency_key is not None:
            if len(idempotency_key) > 100:
                raise ValueError("an idempotency key is at most 100 characters")
            headers[IDEMPOTENCY_HEADER] = idempotency_key
            # The server answers a repeat with the first result, so a repeat is harmless.
            policy = dataclasses.replace(policy, retry_unsafe=True)
        content: bytes | None = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            content = urlencode(form).encode("ascii")

        async def send() -> httpx.Response:
            return await self._http.request(
                method,
                url,
                content=content,
                headers=headers,
                auth=self._auth,
            )

        response = await send_with_retries(
            send,
            system=SYSTEM,
            bucket=self._bucket,
            policy=policy,
            describe=describe,
            priority=self._priority,
        )
        if response.headers.get(REPLAYED_HEADER, "").lower() == "true":
            log.info("chargebee %s: idempotent replay of an earlier request", describe)
        if response.is_success:
            data = _json_object(response)
            if data is None:
                raise PermanentApiError(
                    f"{describe} answered {response.status_code} without a JSON object",
                    system=SYSTEM,
                    status=response.status_code,
                )
            return data
        error = error_from_response(
            response.status_code,
            _json_object(response),
            retry_after=response.headers.get("Retry-After"),
            default_retry_after=self._retry.default_retry_after,
        )
        log.warning("chargebee %s failed: %s", describe, _describe_error(error))
        raise error


def _webhook_extras(
    basic_auth: tuple[str, Secret] | None, enabled_events: Sequence[str] | None
) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if basic_auth is not None:
        username, password = basic_auth
        extras["basic_auth_username"] = username
        extras["basic_auth_password"] = password.reveal()
    if enabled_events is not None:
        extras["enabled_events"] = list(enabled_events)
    return extras


def _list_params(limit: int, offset: str | None) -> list[tuple[str, str]]:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    params = [("limit", str(limit))]
    if offset is not None:
        params.append(("offset", offset))
    return params


def _segment(identifier: str) -> str:
    if not identifier:
        raise ValueError("an id must not be empty")
    return quote(identifier, safe="")


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _entries(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = body.get("list")
    if not isinstance(entries, list):
        raise PermanentApiError("a list answer had no 'list' array", system=SYSTEM)
    return entries


def _unwrap(body: Mapping[str, Any], resource: str) -> dict[str, Any]:
    value = body.get(resource)
    if not isinstance(value, dict):
        raise PermanentApiError(f"the answer had no '{resource}' object", system=SYSTEM)
    return value


def _describe_error(error: ApiError) -> str:
    return f"{type(error).__name__}: {error}"
