"""The PowerOffice Go v2 API client for the four resources ledgerlink syncs.

One `PowerOfficeClient` per connection (client key). Every call spends from the token
bucket of its subscription key, which all clients in the process share, so together
they stay under the API's 10 requests/s. 429s, 5xx and dropped connections are retried
by `send_with_retries` (Retry-After honoured, else at least 1 s); a 401 makes the client
renew its token once and retry once. Whatever still fails is raised as a typed error of
`connectors.exceptions`. Neither logs nor reprs show a key or a token; e-mail addresses
in logs are masked.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import httpx
import orjson

from connectors.exceptions import PermanentApiError
from connectors.secrets import Secret, mask_email
from connectors.transport import RetryPolicy, send_with_retries
from connectors.transport.ratelimit import TokenBucket, budget_key, shared_buckets
from connectors.transport.session import HttpSession

from .auth import DEFAULT_RETRY, TokenProvider, bearer_headers
from .errors import SYSTEM, error_for_response
from .paging import DEFAULT_PAGE_SIZE, iter_pages
from .resources import (
    CHANGE_FILTER,
    Resource,
    collection_path,
    create_path,
    record_path,
    route_template,
)
from .timestamps import format_timestamp

__all__ = ["PowerOfficeClient", "subscription_budget", "subscription_budget_key"]

log = logging.getLogger(__name__)

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"


def subscription_budget_key(subscription_key: Secret) -> str:
    """The name of a subscription key's budget: connections with the same key share it."""
    return budget_key("poweroffice", subscription_key.reveal())


def subscription_budget(subscription_key: Secret, requests_per_second: float) -> TokenBucket:
    """The process's one bucket for a subscription key (created at ``requests_per_second``
    on first use); every client of the key draws on it, and a worker resizes it to its
    share of the integration's budget."""
    return shared_buckets.get(subscription_budget_key(subscription_key), requests_per_second)


class PowerOfficeClient(HttpSession):
    """Async client of PowerOffice Go v2: list, get, create, patch and delete records."""

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        application_key: Secret,
        client_key: Secret,
        subscription_key: Secret,
        requests_per_second: float = 8.0,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._subscription_key = subscription_key
        super().__init__(http)
        self._retry = retry
        self._bucket = subscription_budget(subscription_key, requests_per_second)
        self._auth = TokenProvider(
            token_url=token_url,
            application_key=application_key,
            client_key=client_key,
            subscription_key=subscription_key,
            http=self._http,
            bucket=self._bucket,
            retry=retry,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"PowerOfficeClient(base_url={self._base_url!r})"

    @property
    def bucket(self) -> TokenBucket:
        """The request budget this client spends from (shared with every client of it)."""
        return self._bucket

    # -- the API -------------------------------------------------------------------------

    async def sign_in(self) -> None:
        """Fetch an access token now, to check the keys and the token URL (at start-up)."""
        await self._auth.token(self._priority)

    async def list_page(
        self,
        resource: Resource,
        *,
        changed_after: int | None = None,
        page_number: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        order_by: str | None = None,
        contact_ids: Sequence[int] | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """One page of ``resource``; ``changed_after`` (ticks) is exclusive. `[]` on 204.

        ``fields`` asks for only those fields (the API's `Fields` parameter).
        """
        params: dict[str, str] = {"PageNumber": str(page_number), "PageSize": str(page_size)}
        if fields:
            params["Fields"] = ",".join(fields)
        if changed_after is not None:
            params[CHANGE_FILTER] = format_timestamp(changed_after)
        if order_by is not None:
            params["OrderBy"] = order_by
        if contact_ids is not None:
            if resource is not Resource.CONTACT_PERSONS:
                raise ValueError("contact_ids only filters ContactPersons")
            params["contactIds"] = ",".join(str(int(i)) for i in contact_ids)
        route = route_template(resource, one=False)
        response = await self._request("GET", collection_path(resource), route=route, params=params)
        if response.status_code == 204 or not response.content:
            return []
        records = self._decode(response, route)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise PermanentApiError(
                f"GET {route} answered something other than a list of objects", system=SYSTEM
            )
        return records

    async def iter_records(
        self,
        resource: Resource,
        *,
        changed_after: int | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        order_by: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of ``resource`` (changed after ``changed_after``), page by page."""
        pages = iter_pages(
            self, resource, page_size=page_size, changed_after=changed_after, order_by=order_by
        )
        async for page in pages:
            for record in page:
                yield record

    async def get(
        self, resource: Resource, record_id: int, *, contact_id: int | None = None
    ) -> dict[str, Any]:
        """One record by id (ContactPersons need their ``contact_id``)."""
        route = route_template(resource, one=True)
        response = await self._request(
            "GET", record_path(resource, record_id, contact_id), route=route
        )
        return self._entity(response, route)

    async def create(
        self,
        resource: Resource,
        body: Mapping[str, Any],
        *,
        contact_id: int | None = None,
    ) -> dict[str, Any]:
        """Create a record (PascalCase fields) and return it as stored, with its new Id."""
        route = route_template(resource, one=False, create=True)
        response = await self._request(
            "POST",
            create_path(resource, contact_id),
            route=route,
            content=orjson.dumps(dict(body)),
            content_type=JSON,
            # A connection that broke mid-POST may have created the record already.
            retry=dataclasses.replace(self._retry, retry_unsafe=False),
        )
        created = self._entity(response, route)
        log.info(
            "%s: created %s %s (%s)",
            SYSTEM,
            resource.value,
            created.get("Id"),
            mask_email(_email_of(created)),
        )
        return created

    async def patch(
        self,
        resource: Resource,
        record_id: int,
        operations: Sequence[Mapping[str, Any]],
        *,
        contact_id: int | None = None,
    ) -> dict[str, Any]:
        """Apply an RFC 6902 JSON Patch and return the updated record."""
        route = route_template(resource, one=True)
        response = await self._request(
            "PATCH",
            record_path(resource, record_id, contact_id),
            route=route,
            content=orjson.dumps([dict(op) for op in operations]),
            content_type=JSON_PATCH,
        )
        updated = self._entity(response, route)
        log.info("%s: patched %s %s", SYSTEM, resource.value, record_id)
        return updated

    async def delete(
        self, resource: Resource, record_id: int, *, contact_id: int | None = None
    ) -> None:
        """Delete a record; `ConflictError` when it is still in use."""
        route = route_template(resource, one=True)
        await self._request("DELETE", record_path(resource, record_id, contact_id), route=route)
        log.info("%s: deleted %s %s", SYSTEM, resource.value, record_id)

    # -- plumbing ------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> httpx.Response:
        url = self._base_url + path
        describe = f"{method} {route}"
        policy = retry or self._retry
        for renewed in (False, True):
            token = await self._auth.token(self._priority)
            headers = bearer_headers(token, self._subscription_key)
            headers["Accept"] = JSON
            if content_type is not None:
                headers["Content-Type"] = content_type

            async def send(headers: dict[str, str] = headers) -> httpx.Response:
                return await self._http.request(
                    method, url, params=params, content=content, headers=headers
                )

            response = await send_with_retries(
                send,
                system=SYSTEM,
                bucket=self._bucket,
                policy=policy,
                describe=describe,
                priority=self._priority,
            )
            if response.status_code == 401 and not renewed:
                log.info("%s %s: 401, renewing the access token once", SYSTEM, describe)
                self._auth.invalidate(token)
                continue
            break
        log.debug("%s %s -> %d", SYSTEM, describe, response.status_code)
        if response.is_error:
            raise error_for_response(response, describe=describe)
        return response

    @staticmethod
    def _decode(response: httpx.Response, route: str) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise PermanentApiError(f"{route} answered with invalid JSON", system=SYSTEM) from exc

    def _entity(self, response: httpx.Response, route: str) -> dict[str, Any]:
        entity = self._decode(response, route)
        if not isinstance(entity, dict):
            raise PermanentApiError(
                f"{route} answered something other than an object", system=SYSTEM
            )
        return entity


def _email_of(record: Mapping[str, Any]) -> str | None:
    value = record.get("EmailAddress")
    return value if isinstance(value, str) else None
