"""The Chargebee simulator's data: customers, business entities, events, webhook endpoints,
idempotency keys.

In memory, one site per store, with an injectable clock (Unix seconds as a float; records
carry whole seconds and a millisecond ``resource_version``). Every change appends the event
Chargebee would emit, with the ``source`` of whoever made it (``api`` for API calls,
``admin_console`` for the web-app stand-in). Tests use the seed methods in-process.

Choices where Chargebee's behaviour is not documented (the simulator's, not facts):
- a deleted customer keeps its id: retrieve, update and delete answer 404
  ``resource_not_found``, a create with the id answers 400 ``duplicate_entry``;
- a duplicate id on create is 400 ``invalid_request`` / ``duplicate_entry``, ``param: "id"``;
- an unknown ``business_entity_id`` is 404 ``resource_not_found`` with ``param``;
- idempotency keys are remembered for 24 hours.

Webhook endpoints follow the official SDK (`chargebee/models/webhook_endpoint`): its
create/update parameters and its response model, which has no ``basic_auth_*`` fields, so
the credentials are write-only here (kept apart from the public form, never answered).
Where the SDK does not say (the simulator's choices):
- ids are ``whv2_`` plus 17 letters and digits; ``name`` is at most 50 characters, ``url``
  an absolute http(s) URL (http allowed, for local receivers);
- defaults: ``api_version`` v2, ``chargebee_response_schema_type`` items (product catalog
  2.0 sites), ``disabled``/``primary_url``/``send_card_resource`` false, no
  ``enabled_events`` (every event);
- ``basic_auth_username`` and ``basic_auth_password`` are given together or not at all; an
  update may change them together;
- ``enabled_events`` on update replaces the list; an event type is lower-case snake_case;
- setting ``primary_url`` on one endpoint clears it on the others;
- a deleted endpoint is gone: retrieve/update/delete answer 404 ``resource_not_found``;
- lists come oldest first, paged by ``limit``/``offset`` like every list.
Every event records ``webhook_status`` ``scheduled`` when some enabled endpoint wants it,
``not_configured`` otherwise; listeners (`subscribe`) hear of each event as it happens.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.chargebee.listing import ListingError, Row, parse_bool

__all__ = [
    "IDEMPOTENCY_WINDOW_SECONDS",
    "ChargebeeStore",
    "EventListener",
    "RememberedResponse",
    "StoreError",
    "WebhookTarget",
    "wants_event",
]

IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600

ID_MAX = 50
FIELD_LIMITS = {"email": 70, "first_name": 150, "last_name": 150, "company": 250}
CUSTOMER_TEXT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "preferred_currency_code",
    "locale",
    "vat_number",
)
_ID_ALPHABET = string.ascii_letters + string.digits

WEBHOOK_NAME_MAX = 50
WEBHOOK_API_VERSIONS = frozenset({"v1", "v2"})
WEBHOOK_SCHEMA_TYPES = frozenset({"plans_addons", "items", "compat"})
WEBHOOK_FLAGS = ("disabled", "primary_url", "send_card_resource")
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")

#: Called with a copy of every event as it is recorded.
EventListener = Callable[[dict[str, Any]], None]


class StoreError(Exception):
    """A request the real API would refuse; carries Chargebee's error body."""

    def __init__(
        self,
        status: int,
        api_error_code: str,
        message: str,
        *,
        param: str | None = None,
        type_: str | None = "invalid_request",
        error_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.api_error_code = api_error_code
        self.message = message
        self.param = param
        self.type = type_
        self.error_code = error_code or api_error_code

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message}
        if self.type:
            data["type"] = self.type
        data["api_error_code"] = self.api_error_code
        if self.param:
            data["param"] = self.param
        data["error_code"] = self.error_code
        data["error_msg"] = self.message
        data["http_status_code"] = self.status
        return data


def not_found(what: str, param: str | None = None) -> StoreError:
    return StoreError(
        404, "resource_not_found", f"Sorry, we couldn't find that {what}.", param=param
    )


@dataclass(frozen=True, slots=True)
class RememberedResponse:
    """The first answer to an idempotency key, replayed for repeats within the window."""

    status: int
    body: bytes
    expires_at: float


@dataclass(slots=True)
class _Record:
    seq: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Where and how to deliver to one endpoint, credentials included (never answered)."""

    endpoint_id: str
    url: str
    disabled: bool
    enabled_events: tuple[str, ...]
    basic_auth: tuple[str, str] | None

    def __repr__(self) -> str:
        auth = "set" if self.basic_auth else "none"
        return f"WebhookTarget({self.endpoint_id!r}, url={self.url!r}, basic_auth={auth})"


@dataclass(slots=True)
class _State:
    customers: dict[str, _Record] = field(default_factory=dict)
    entities: dict[str, _Record] = field(default_factory=dict)
    events: list[_Record] = field(default_factory=list)
    idempotency: dict[str, RememberedResponse] = field(default_factory=dict)
    webhook_endpoints: dict[str, _Record] = field(default_factory=dict)
    webhook_credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    seq: int = 0
    last_version: int = 0


class ChargebeeStore:
    """One simulated Chargebee site's records."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._state = _State()
        self._listeners: list[EventListener] = []

    def reset(self) -> None:
        """Forget everything (`POST /_sim/reset`)."""
        self._state = _State()

    # -- time ------------------------------------------------------------------------

    def now(self) -> int:
        return int(self._clock())

    def _next_version(self) -> int:
        version = max(int(self._clock() * 1000), self._state.last_version + 1)
        self._state.last_version = version
        return version

    def _next_seq(self) -> int:
        self._state.seq += 1
        return self._state.seq

    # -- customers -------------------------------------------------------------------

    def create_customer(self, params: Mapping[str, Any], *, source: str = "api") -> dict[str, Any]:
        """Create a customer from decoded request parameters; answers its public form."""
        return self._insert_customer(params, source=source)

    def _insert_customer(
        self,
        params: Mapping[str, Any],
        *,
        source: str,
        pinned_at: int | None = None,
        missing_updated_at: bool = False,
    ) -> dict[str, Any]:
        customer_id = _text(params.get("id"))
        if customer_id:
            if len(customer_id) > ID_MAX:
                raise _too_long("id", ID_MAX)
            if customer_id in self._state.customers:
                raise StoreError(
                    400,
                    "duplicate_entry",
                    f"id : The value {customer_id} is already present.",
                    param="id",
                    error_code="param_not_unique",
                )
        else:
            customer_id = self._generate_id()
        entity_id = _text(params.get("business_entity_id"))
        if entity_id:
            self._require_entity(entity_id)
        now = self.now()
        data: dict[str, Any] = {"id": customer_id}
        data.update(_customer_fields(params, existing=None))
        data.update(
            {
                "auto_collection": "on",
                "net_term_days": 0,
                "allow_direct_debit": False,
                "created_at": now,
                "taxability": "taxable",
                "updated_at": now,
                "pii_cleared": "active",
                "channel": "web",
                "resource_version": self._next_version(),
                "deleted": False,
                "object": "customer",
                "card_status": "no_card",
                "promotional_credits": 0,
                "refundable_credits": 0,
                "excess_payments": 0,
                "unbilled_charges": 0,
            }
        )
        if entity_id:
            data["business_entity_id"] = entity_id
        if pinned_at is not None:
            data["created_at"] = data["updated_at"] = pinned_at
        if missing_updated_at:
            del data["updated_at"]
        self._state.customers[customer_id] = _Record(self._next_seq(), data)
        self._emit("customer_created", "customer", data, source)
        return copy.deepcopy(data)

    def update_customer(
        self, customer_id: str, params: Mapping[str, Any], *, source: str = "api"
    ) -> dict[str, Any]:
        record = self._live_customer(customer_id)
        _set_customer_fields(record.data, params)
        record.data["updated_at"] = self.now()
        record.data["resource_version"] = self._next_version()
        self._emit("customer_changed", "customer", record.data, source)
        return copy.deepcopy(record.data)

    def delete_customer(self, customer_id: str, *, source: str = "api") -> dict[str, Any]:
        record = self._live_customer(customer_id)
        record.data["deleted"] = True
        record.data["updated_at"] = self.now()
        record.data["resource_version"] = self._next_version()
        self._emit("customer_deleted", "customer", record.data, source)
        return copy.deepcopy(record.data)

    def restore_customer(self, customer_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """What a restored backup or a bulk import does behind the API's back
        (`POST /_sim/customers/{id}/restore`): set the fields, but keep `updated_at` and
        `resource_version` and emit no event, so no poll or webhook notices."""
        record = self._live_customer(customer_id)
        _set_customer_fields(record.data, params)
        return copy.deepcopy(record.data)

    def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        return copy.deepcopy(self._live_customer(customer_id).data)

    def get_customer(self, customer_id: str) -> dict[str, Any] | None:
        """Any customer, deleted or not, for tests; None when there never was one."""
        record = self._state.customers.get(customer_id)
        return copy.deepcopy(record.data) if record else None

    def customer_rows(self, *, include_deleted: bool) -> list[Row]:
        return [
            Row(record.seq, record.data)
            for record in self._state.customers.values()
            if include_deleted or not record.data.get("deleted")
        ]

    def customer_count(self, *, include_deleted: bool = False) -> int:
        return len(self.customer_rows(include_deleted=include_deleted))

    def seed_customers(
        self,
        n: int,
        *,
        id_prefix: str = "cus_seed_",
        business_entity_id: str | None = None,
        updated_at: int | None = None,
        missing_updated_at: bool = False,
        source: str = "bulk_operation",
    ) -> list[dict[str, Any]]:
        """Add ``n`` customers ``{id_prefix}{i:05d}`` with names and e-mails, with events.

        ``updated_at`` pins their timestamps (for equal-timestamp page boundaries);
        ``missing_updated_at`` leaves ``updated_at`` out, like old records that never got
        one (they never match an ``updated_at`` filter).
        """
        created = []
        start = len(self._state.customers)
        for i in range(start, start + n):
            customer_id = f"{id_prefix}{i:05d}"
            params: dict[str, Any] = {
                "id": customer_id,
                "first_name": f"First{i}",
                "last_name": f"Last{i}",
                "email": f"{customer_id}@example.no",
            }
            if business_entity_id:
                params["business_entity_id"] = business_entity_id
            created.append(
                self._insert_customer(
                    params,
                    source=source,
                    pinned_at=updated_at,
                    missing_updated_at=missing_updated_at,
                )
            )
        return created

    def _live_customer(self, customer_id: str) -> _Record:
        record = self._state.customers.get(customer_id)
        if record is None or record.data.get("deleted"):
            raise not_found("customer")
        return record

    def _generate_id(self) -> str:
        while True:
            candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))
            if candidate not in self._state.customers:
                return candidate

    # -- business entities (no API: the web app's stand-in only) -----------------------

    def add_business_entity(
        self, entity_id: str, name: str, *, source: str = "admin_console"
    ) -> dict[str, Any]:
        if not entity_id or len(entity_id) > ID_MAX:
            raise StoreError(400, "param_wrong_value", "id : 1 to 50 characters", param="id")
        if not name:
            raise StoreError(400, "param_wrong_value", "name : cannot be blank", param="name")
        if entity_id in self._state.entities:
            raise StoreError(
                409, "duplicate_entry", f"business entity {entity_id} exists", param="id"
            )
        now = self.now()
        data: dict[str, Any] = {
            "id": entity_id,
            "name": name,
            "status": "active",
            "deleted": False,
            "created_at": now,
            "updated_at": now,
            "resource_version": self._next_version(),
            "object": "business_entity",
        }
        self._state.entities[entity_id] = _Record(self._next_seq(), data)
        self._emit("business_entity_created", "business_entity", data, source)
        return copy.deepcopy(data)

    def rename_business_entity(
        self, entity_id: str, name: str, *, source: str = "admin_console"
    ) -> dict[str, Any]:
        if not name:
            raise StoreError(400, "param_wrong_value", "name : cannot be blank", param="name")
        record = self._live_entity(entity_id)
        record.data["name"] = name
        record.data["updated_at"] = self.now()
        record.data["resource_version"] = self._next_version()
        self._emit("business_entity_updated", "business_entity", record.data, source)
        return copy.deepcopy(record.data)

    def delete_business_entity(
        self, entity_id: str, *, source: str = "admin_console"
    ) -> dict[str, Any]:
        record = self._live_entity(entity_id)
        record.data["deleted"] = True
        record.data["status"] = "inactive"
        record.data["updated_at"] = self.now()
        record.data["resource_version"] = self._next_version()
        self._emit("business_entity_deleted", "business_entity", record.data, source)
        return copy.deepcopy(record.data)

    def get_business_entity(self, entity_id: str) -> dict[str, Any] | None:
        record = self._state.entities.get(entity_id)
        return copy.deepcopy(record.data) if record else None

    def _live_entity(self, entity_id: str) -> _Record:
        record = self._state.entities.get(entity_id)
        if record is None or record.data.get("deleted"):
            raise not_found("business entity")
        return record

    def _require_entity(self, entity_id: str) -> None:
        record = self._state.entities.get(entity_id)
        if record is None or record.data.get("deleted"):
            raise StoreError(
                404,
                "resource_not_found",
                f"business_entity_id : business entity {entity_id} is not present.",
                param="business_entity_id",
            )

    def check_business_entity(self, entity_id: str) -> None:
        """Raise the API's error when a request names an entity the site does not have."""
        self._require_entity(entity_id)

    # -- events ----------------------------------------------------------------------

    def subscribe(self, listener: EventListener) -> None:
        """Hear of every event from now on (the webhook deliverer)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: EventListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(
        self, event_type: str, resource: str, content: Mapping[str, Any], source: str
    ) -> None:
        wanted = any(
            not target.disabled and wants_event(target.enabled_events, event_type)
            for target in self.webhook_targets()
        )
        event = {
            "id": f"ev_{secrets.token_hex(10)}",
            "occurred_at": self.now(),
            "source": source,
            "object": "event",
            "api_version": "v2",
            "event_type": event_type,
            "webhook_status": "scheduled" if wanted else "not_configured",
            "content": {resource: copy.deepcopy(dict(content))},
        }
        self._state.events.append(_Record(self._next_seq(), event))
        for listener in list(self._listeners):
            listener(copy.deepcopy(event))

    def event_rows(self) -> list[Row]:
        return [Row(record.seq, record.data) for record in self._state.events]

    def events(self) -> list[dict[str, Any]]:
        """Every event so far, in the order they happened."""
        return [copy.deepcopy(record.data) for record in self._state.events]

    # -- webhook endpoints -------------------------------------------------------------

    def create_webhook_endpoint(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Create an endpoint from decoded request parameters; answers its public form."""
        for required in ("name", "url"):
            if not _text(params.get(required)):
                raise StoreError(
                    400, "param_wrong_value", f"{required} : cannot be blank", param=required
                )
        data: dict[str, Any] = {
            "id": self._generate_webhook_id(),
            "name": "",
            "url": "",
            "send_card_resource": False,
            "disabled": False,
            "primary_url": False,
            "api_version": "v2",
            "chargebee_response_schema_type": "items",
        }
        record = _Record(self._next_seq(), data)
        self._apply_webhook_params(record, params, creating=True)
        self._state.webhook_endpoints[data["id"]] = record
        return copy.deepcopy(data)

    def update_webhook_endpoint(
        self, endpoint_id: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        record = self._webhook_record(endpoint_id)
        self._apply_webhook_params(record, params, creating=False)
        return copy.deepcopy(record.data)

    def retrieve_webhook_endpoint(self, endpoint_id: str) -> dict[str, Any]:
        return copy.deepcopy(self._webhook_record(endpoint_id).data)

    def delete_webhook_endpoint(self, endpoint_id: str) -> dict[str, Any]:
        record = self._webhook_record(endpoint_id)
        del self._state.webhook_endpoints[endpoint_id]
        self._state.webhook_credentials.pop(endpoint_id, None)
        return copy.deepcopy(record.data)

    def webhook_endpoint_rows(self) -> list[Row]:
        return [Row(r.seq, r.data) for r in self._state.webhook_endpoints.values()]

    def webhook_targets(self) -> list[WebhookTarget]:
        """Every endpoint with its credentials, oldest first, for delivery."""
        return [self._target(record) for record in self._state.webhook_endpoints.values()]

    def webhook_target(self, endpoint_id: str) -> WebhookTarget | None:
        """One endpoint as it is now, or None once it was deleted."""
        record = self._state.webhook_endpoints.get(endpoint_id)
        return self._target(record) if record is not None else None

    def _target(self, record: _Record) -> WebhookTarget:
        data = record.data
        return WebhookTarget(
            endpoint_id=data["id"],
            url=data["url"],
            disabled=bool(data["disabled"]),
            enabled_events=tuple(data.get("enabled_events") or ()),
            basic_auth=self._state.webhook_credentials.get(data["id"]),
        )

    def _webhook_record(self, endpoint_id: str) -> _Record:
        record = self._state.webhook_endpoints.get(endpoint_id)
        if record is None:
            raise not_found("webhook endpoint")
        return record

    def _generate_webhook_id(self) -> str:
        while True:
            candidate = "whv2_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))
            if candidate not in self._state.webhook_endpoints:
                return candidate

    def _apply_webhook_params(
        self, record: _Record, params: Mapping[str, Any], *, creating: bool
    ) -> None:
        """Validate everything first, then change the record, so a refusal changes nothing."""
        changes: dict[str, Any] = {}
        if "name" in params:
            name = _text(params["name"])
            if not name:
                raise StoreError(400, "param_wrong_value", "name : cannot be blank", param="name")
            if len(name) > WEBHOOK_NAME_MAX:
                raise _too_long("name", WEBHOOK_NAME_MAX)
            changes["name"] = name
        if "url" in params:
            changes["url"] = _webhook_url(params["url"])
        if "api_version" in params:
            changes["api_version"] = _one_of(
                params["api_version"], WEBHOOK_API_VERSIONS, "api_version"
            )
        if creating and "chargebee_response_schema_type" in params:
            # The SDK's UpdateParams have no schema type: it is fixed at create.
            changes["chargebee_response_schema_type"] = _one_of(
                params["chargebee_response_schema_type"],
                WEBHOOK_SCHEMA_TYPES,
                "chargebee_response_schema_type",
            )
        for flag in WEBHOOK_FLAGS:
            if flag in params:
                try:
                    changes[flag] = parse_bool(params[flag], param=flag)
                except ListingError as exc:
                    raise StoreError(
                        400, "param_wrong_value", f"{flag} : {exc.message}", param=flag
                    ) from None
        if "enabled_events" in params:
            changes["enabled_events"] = _event_types(params["enabled_events"])
        credentials = _basic_auth(params)

        endpoint_id = record.data["id"]
        record.data.update(changes)
        if credentials is not None:
            self._state.webhook_credentials[endpoint_id] = credentials
        if changes.get("primary_url"):
            for other in self._state.webhook_endpoints.values():
                if other is not record:
                    other.data["primary_url"] = False

    # -- idempotency -----------------------------------------------------------------

    def recall(self, key: str) -> RememberedResponse | None:
        remembered = self._state.idempotency.get(key)
        if remembered is None:
            return None
        if remembered.expires_at <= self._clock():
            del self._state.idempotency[key]
            return None
        return remembered

    def remember(self, key: str, status: int, body: bytes) -> None:
        self._state.idempotency[key] = RememberedResponse(
            status, body, self._clock() + IDEMPOTENCY_WINDOW_SECONDS
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StoreError(400, "param_wrong_value", "expected a single value")
    return value


def _webhook_url(value: Any) -> str:
    url = _text(value)
    scheme, sep, rest = url.partition("://")
    if not url or not sep or scheme.lower() not in ("http", "https") or not rest.strip("/"):
        raise StoreError(400, "param_wrong_value", "url : invalid url", param="url")
    return url


def _one_of(value: Any, allowed: frozenset[str], param: str) -> str:
    text = _text(value)
    if text not in allowed:
        raise StoreError(
            400,
            "param_wrong_value",
            f"{param} : invalid value {text!r}; use one of {sorted(allowed)}",
            param=param,
        )
    return text


def _event_types(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    types: list[str] = []
    for item in items:
        if not isinstance(item, str) or not _EVENT_TYPE.match(item):
            raise StoreError(
                400,
                "param_wrong_value",
                "enabled_events : invalid event type",
                param="enabled_events",
            )
        if item not in types:
            types.append(item)
    return types


def _basic_auth(params: Mapping[str, Any]) -> tuple[str, str] | None:
    """Both credentials, or None when the request gives neither."""
    has_user = "basic_auth_username" in params
    has_password = "basic_auth_password" in params
    if not has_user and not has_password:
        return None
    user = _text(params.get("basic_auth_username"))
    password = _text(params.get("basic_auth_password"))
    if not user or not password:
        missing = "basic_auth_password" if user else "basic_auth_username"
        raise StoreError(
            400,
            "param_wrong_value",
            f"{missing} : give basic_auth_username and basic_auth_password together",
            param=missing,
        )
    return user, password


def wants_event(enabled_events: tuple[str, ...] | list[str], event_type: str) -> bool:
    """Whether an endpoint with ``enabled_events`` gets ``event_type`` (none means all)."""
    return not enabled_events or event_type in enabled_events


def _too_long(param: str, limit: int) -> StoreError:
    return StoreError(
        400,
        "param_wrong_value",
        f"{param} : cannot be more than {limit} characters.",
        param=param,
        error_code="param_too_long",
    )


def _set_customer_fields(data: dict[str, Any], params: Mapping[str, Any]) -> None:
    """Apply an update's ``params`` to a stored customer: set what they give, clear what
    they give as empty."""
    for name, value in _customer_fields(params, existing=data).items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value


def _customer_fields(
    params: Mapping[str, Any], *, existing: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The customer attributes a create/update sets; None means "clear it" (update only)."""
    changes: dict[str, Any] = {}
    for name in CUSTOMER_TEXT_FIELDS:
        if name not in params:
            continue
        value = params[name]
        if not isinstance(value, str):
            raise StoreError(400, "param_wrong_value", f"{name} : expected text", param=name)
        limit = FIELD_LIMITS.get(name)
        if limit is not None and len(value) > limit:
            raise _too_long(name, limit)
        if name == "email" and value and not _looks_like_email(value):
            raise StoreError(400, "param_wrong_value", "email : invalid email", param="email")
        if value:
            changes[name] = value
        elif existing is not None:
            changes[name] = None
    if "meta_data" in params:
        changes["meta_data"] = _meta_data(params["meta_data"])
    if "billing_address" in params:
        address = params["billing_address"]
        if not isinstance(address, Mapping):
            raise StoreError(
                400,
                "param_wrong_value",
                "billing_address : expected fields",
                param="billing_address",
            )
        merged = dict(existing.get("billing_address", {})) if existing else {}
        merged.update({k: v for k, v in address.items() if isinstance(v, str)})
        merged["object"] = "billing_address"
        changes["billing_address"] = merged
    for name, value in params.items():
        if name.startswith("cf_"):
            if not isinstance(value, str):
                raise StoreError(400, "param_wrong_value", f"{name} : expected text", param=name)
            if value:
                changes[name] = value
            elif existing is not None:
                changes[name] = None
    return changes


def _meta_data(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    parsed: Any
    try:
        parsed = json.loads(str(value))
    except ValueError:
        # The official Python SDK sends str() of a dict here; read that too.
        try:
            parsed = ast.literal_eval(str(value))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            parsed = None
    if not isinstance(parsed, dict):
        raise StoreError(
            400, "param_wrong_value", "meta_data : expected a JSON object", param="meta_data"
        )
    return parsed


def _looks_like_email(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain and " " not in value)
