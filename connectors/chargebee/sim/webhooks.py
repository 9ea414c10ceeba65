"""Webhook delivery in the Chargebee simulator: every event POSTed to every endpoint that
wants it, retried with backoff, in order of occurrence without promising it.

What Chargebee documents (``reference/chargebee-api.md``): a webhook POSTs the event
object itself, the same JSON `GET /events/{id}` wraps as ``{"event": ...}``; HTTP Basic
auth when the endpoint has credentials; any non-2xx answer is retried for days; deliveries
may come twice or out of order. How the simulator does it (its choices, not facts):

- Each endpoint has one queue and at most one worker (it ends when the queue is empty and
  the next event starts another), so deliveries to different endpoints run
  concurrently and one endpoint gets its events in the order they happened while nothing
  fails. A failed delivery is retried by its own timer *beside* the queue, not in front of
  it, so a retry lands after later events — the disorder Chargebee warns about.
- A delivery fails on a non-2xx answer (redirects are not followed), a connection error or
  the ``timeout``; ``retry_delays`` are the waits before each retry (Chargebee's are
  hours; the default here is seconds and tests pass fractions). After the last one the
  delivery is given up.
- Endpoint settings are read when an event happens (who gets it) and again at each attempt
  (where, with which credentials); an endpoint deleted or disabled meanwhile is skipped.
- Every attempt is kept as a `DeliveryAttempt` for ``GET /_sim/webhook_deliveries``.

Recording an event only puts it on queues, so delivery never holds up a request; `stop`
cancels every worker and timer and closes the HTTP session.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from connectors.chargebee.sim.store import ChargebeeStore, WebhookTarget, wants_event

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "DEFAULT_TIMEOUT",
    "DeliveryAttempt",
    "WebhookDeliverer",
    "basic_authorization",
    "is_delivered",
    "retry_delay",
    "wanted_by",
]

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
DEFAULT_TIMEOUT = 20.0

Outcome = Literal["succeeded", "failed", "skipped"]


def retry_delay(retry_delays: Sequence[float], attempt: int) -> float | None:
    """The wait before the next try after try number ``attempt`` (from 1) failed, or None
    when that was the last one."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    if attempt > len(retry_delays):
        return None
    return float(retry_delays[attempt - 1])


def is_delivered(status: int) -> bool:
    """Only a 2xx answer delivers; Chargebee retries everything else."""
    return 200 <= status < 300


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value for an endpoint's Basic credentials."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def wanted_by(targets: Sequence[WebhookTarget], event_type: str) -> list[WebhookTarget]:
    """The enabled endpoints that take ``event_type``, in the order given."""
    return [
        target
        for target in targets
        if not target.disabled and wants_event(target.enabled_events, event_type)
    ]


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One try at delivering one event to one endpoint."""

    endpoint_id: str
    event_id: str
    event_type: str
    attempt: int
    outcome: Outcome
    http_status: int | None
    error: str | None
    will_retry: bool
    at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "attempt": self.attempt,
            "status": self.outcome,
            "http_status": self.http_status,
            "error": self.error,
            "will_retry": self.will_retry,
            "at": self.at,
        }


class WebhookDeliverer:
    """Delivers a store's events to its webhook endpoints while started."""

    def __init__(
        self,
        store: ChargebeeStore,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if any(delay < 0 for delay in retry_delays):
            raise ValueError("retry delays must not be negative")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._store = store
        self._retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._queues: dict[str, deque[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._attempts: list[DeliveryAttempt] = []

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self._session is not None:
            return
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        self._store.subscribe(self._on_event)

    async def stop(self) -> None:
        self._store.unsubscribe(self._on_event)
        await self._cancel_all()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def reset(self) -> None:
        """Drop every pending delivery and the record of attempts (`POST /_sim/reset`)."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._queues.clear()
        self._attempts.clear()

    async def _cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._queues.clear()

    # -- what tests look at ----------------------------------------------------------

    def attempts(self, endpoint_id: str | None = None) -> list[DeliveryAttempt]:
        """Every attempt so far in the order made, for one endpoint or all."""
        return [
            attempt
            for attempt in self._attempts
            if endpoint_id is None or attempt.endpoint_id == endpoint_id
        ]

    # -- delivery --------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        # Runs inside the request that caused the event: only queue, never wait.
        if self._session is None:
            return
        for target in wanted_by(self._store.webhook_targets(), str(event["event_type"])):
            self._enqueue(target.endpoint_id, event)

    def _enqueue(self, endpoint_id: str, event: dict[str, Any]) -> None:
        queue = self._queues.get(endpoint_id)
        if queue is None:
            queue = deque()
            self._queues[endpoint_id] = queue
            self._spawn(self._drain(endpoint_id, queue), name=f"webhooks {endpoint_id}")
        queue.append(event)

    def _spawn(self, work: Any, *, name: str) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, endpoint_id: str, queue: deque[dict[str, Any]]) -> None:
        while queue:
            await self._attempt(endpoint_id, queue.popleft(), 1)
        # Nothing waits between the check above and this: the next event starts a new
        # worker, so an idle or deleted endpoint leaves no task behind.
        if self._queues.get(endpoint_id) is queue:
            del self._queues[endpoint_id]

    async def _retry_later(
        self, endpoint_id: str, event: dict[str, Any], attempt: int, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        await self._attempt(endpoint_id, event, attempt)

    async def _attempt(self, endpoint_id: str, event: dict[str, Any], attempt: int) -> None:
        target = self._store.webhook_target(endpoint_id)
        if target is None or target.disabled:
            self._record(endpoint_id, event, attempt, "skipped", None, "endpoint gone or off")
            return
        status, error = await self._post(target, event)
        if status is not None and is_delivered(status):
            self._record(endpoint_id, event, attempt, "succeeded", status, None)
            return
        delay = retry_delay(self._retry_delays, attempt)
        self._record(
            endpoint_id, event, attempt, "failed", status, error, will_retry=delay is not None
        )
        if delay is not None:
            self._spawn(
                self._retry_later(endpoint_id, event, attempt + 1, delay),
                name=f"retry {endpoint_id} {event['id']}",
            )

    async def _post(
        self, target: WebhookTarget, event: dict[str, Any]
    ) -> tuple[int | None, str | None]:
        if self._session is None:
            return None, "the deliverer is stopped"
        headers = {"Content-Type": "application/json"}
        if target.basic_auth is not None:
            headers["Authorization"] = basic_authorization(*target.basic_auth)
        try:
            async with self._session.post(
                target.url,
                data=json.dumps(event).encode(),
                headers=headers,
                allow_redirects=False,
            ) as response:
                await response.read()
                return response.status, None
        except TimeoutError:
            return None, f"no answer within {self._timeout:g}s"
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def _record(
        self,
        endpoint_id: str,
        event: dict[str, Any],
        attempt: int,
        outcome: Outcome,
        http_status: int | None,
        error: str | None,
        *,
        will_retry: bool = False,
    ) -> None:
        self._attempts.append(
            DeliveryAttempt(
                endpoint_id=endpoint_id,
                event_id=str(event["id"]),
                event_type=str(event["event_type"]),
                attempt=attempt,
                outcome=outcome,
                http_status=http_status,
                error=error,
                will_retry=will_retry,
                at=self._clock(),
            )
        )
