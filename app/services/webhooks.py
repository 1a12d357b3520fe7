"""Webhooks: live events POSTed to the URLs integrators register, signed and retried.

Each webhook has one worker: it listens on the event bus (only the types it wants), and
for each event writes a delivery row, then POSTs the exact body with
``X-Chargeplan-Signature: sha256=<hex HMAC-SHA256 of the body with the webhook's secret>``
until the receiver answers 2xx or the attempts run out, waiting ``base * 2**n`` (capped)
between attempts. One event at a time per webhook, so a receiver gets its events in
order, each once it has accepted it. A worker that falls too far behind resubscribes
after the last event it took (the bus's resume window); deliveries still pending when
the server stopped are taken up again, where they stopped, when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from app import tasks
from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.webhook_models import Webhook, WebhookDelivery
from app.events import Dropped, Event, EventBus, EventFilter, EventType
from app.json_types import JsonObject
from app.services.errors import Invalid, NotFound

log = logging.getLogger("chargeplan.webhooks")

SIGNATURE_HEADER = "X-Chargeplan-Signature"
MAX_LOGGED_ATTEMPTS = 50


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookPolicy:
    retry_base_s: float = 2.0
    retry_cap_s: float = 300.0
    max_attempts: int = 8
    timeout_s: float = 10.0
    queue_size: int = 10_000

    def delay(self, attempt: int) -> float:
        return float(min(self.retry_cap_s, self.retry_base_s * 2 ** (attempt - 1)))


def check_webhook(url: str, types: list[str], secret: str) -> list[EventType]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise Invalid("url", "an http:// or https:// URL with a host, at most 2000 characters")
    kinds = []
    for name in types:
        try:
            kinds.append(EventType(name))
        except ValueError:
            raise Invalid("types", f"unknown event type {name!r}; one of " + ", ".join(
                t.value for t in EventType if t is not EventType.LISTENER_DROPPED)) from None
    if not 16 <= len(secret) <= 200:
        raise Invalid("secret", "16 to 200 characters (the HMAC-SHA256 key)")
    return kinds


class WebhookService:
    def __init__(self, db: Database, events: EventBus, *, policy: WebhookPolicy = WebhookPolicy(),
                 clock: Clock = utcnow) -> None:
        self._db = db
        self._events = events
        self._policy = policy
        self._clock = clock
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()  # the workers, until each ends
        # Made for the first delivery: a client loads the CA bundle (20 ms of CPU), which a
        # server without webhooks, the usual one, need never pay.
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        for hook in await self.list_all():
            if hook.enabled:
                self._start_worker(hook)

    async def stop(self) -> None:
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        if self._http is not None:
            await self._http.aclose()

    # --- the registry ---------------------------------------------------------------
    async def create(self, url: str, types: list[str], secret: str) -> Webhook:
        check_webhook(url, types, secret)
        async with self._db.uow() as session:
            hook = Webhook(url=url, types=list(dict.fromkeys(types)), secret=secret,
                           enabled=True, created_at=self._clock())
            session.add(hook)
            await session.flush()
        self._start_worker(hook)
        return hook

    async def list_all(self) -> list[Webhook]:
        async with self._db.uow() as session:
            return list((await session.scalars(select(Webhook).order_by(Webhook.id))).all())

    async def get(self, webhook_id: int) -> Webhook:
        async with self._db.uow() as session:
            hook = await session.get(Webhook, webhook_id)
        if hook is None:
            raise NotFound("webhook", webhook_id)
        return hook

    async def delete(self, webhook_id: int) -> None:
        await self.get(webhook_id)
        task = self._workers.pop(webhook_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._db.uow() as session:
            hook = await session.get(Webhook, webhook_id)
            if hook is not None:
                await session.delete(hook)

    async def deliveries(self, webhook_id: int, limit: int = 100) -> list[WebhookDelivery]:
        await self.get(webhook_id)
        async with self._db.uow() as session:
            return list((await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
                .order_by(WebhookDelivery.id.desc()).limit(limit))).all())

    # --- delivering -----------------------------------------------------------------
    def _start_worker(self, hook: Webhook) -> None:
        wanted = EventFilter(types=frozenset(EventType(t) for t in hook.types))
        self._workers[hook.id] = tasks.spawn(
            self._work(hook.id, hook.url, hook.secret, wanted), f"webhook:{hook.id}", log,
            self._running)

    async def _work(self, webhook_id: int, url: str, secret: str, wanted: EventFilter) -> None:
        # Deliveries a previous run left pending go first, in order, where they stopped.
        for row in await self._pending(webhook_id):
            await self._guarded(self._attempts(webhook_id, url, secret, row.id, row.event_id,
                                               row.event_type, row.body.encode(), row.attempts))
        last: int | None = None
        while True:
            # Each node delivers its own events: another node's reach its own workers.
            listener = self._events.subscribe(wanted, after=last, local_only=True,
                                              queue_size=self._policy.queue_size)
            try:
                while True:
                    try:
                        event = await listener.next()
                    except Dropped:
                        log.warning("webhook %s fell behind; resuming after event %s",
                                    webhook_id, last)
                        break
                    if event is None or event.type is EventType.LISTENER_DROPPED:
                        continue
                    await self._guarded(self._deliver(webhook_id, url, secret, event))
                    last = event.id
            finally:
                self._events.unsubscribe(listener)

    @staticmethod
    async def _guarded(delivery: Coroutine[Any, Any, None]) -> None:
        """A delivery that fails on our side (the database) is logged; the worker goes on
        with the next event rather than stopping the webhook."""
        try:
            await delivery
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery failed on the server side")

    async def _pending(self, webhook_id: int) -> list[WebhookDelivery]:
        async with self._db.uow() as session:
            return list((await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id,
                                              WebhookDelivery.state == "pending")
                .order_by(WebhookDelivery.id))).all())

    async def _deliver(self, webhook_id: int, url: str, secret: str, event: Event) -> None:
        body = event.to_json()
        async with self._db.uow() as session:
            row = WebhookDelivery(webhook_id=webhook_id, event_id=event.id,
                                  event_type=event.type.value, body=body.decode(),
                                  state="pending", attempts=0, attempt_log=[],
                                  created_at=self._clock())
            session.add(row)
            await session.flush()
            delivery_id = row.id
        await self._attempts(webhook_id, url, secret, delivery_id, event.id, event.type.value,
                             body, 0)

    async def _attempts(self, webhook_id: int, url: str, secret: str, delivery_id: int,
                        event_id: int, event_type: str, body: bytes, made: int) -> None:
        """POST until a 2xx or the last attempt; ``made`` attempts were made before."""
        headers = {"Content-Type": "application/json", "User-Agent": "chargeplan-webhooks",
                   "X-Chargeplan-Event": event_type,
                   "X-Chargeplan-Event-Id": str(event_id),
                   "X-Chargeplan-Delivery": str(delivery_id),
                   SIGNATURE_HEADER: signature(secret, body)}
        attempt = made
        while True:
            attempt += 1
            status, error = await self._post(url, body, headers)
            done = status is not None and 200 <= status < 300
            final = done or attempt >= self._policy.max_attempts
            delay = 0.0 if final else self._policy.delay(attempt)
            await self._record(delivery_id, attempt, status, error, done, final, delay)
            if final:
                if not done:
                    log.warning("webhook %s: event %s not delivered after %d attempts: %s",
                                webhook_id, event_id, attempt, error or status)
                return
            await asyncio.sleep(delay)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]
                    ) -> tuple[int | None, str | None]:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._policy.timeout_s, follow_redirects=False)
        try:
            answer = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= answer.status_code < 300:
            return answer.status_code, None
        return answer.status_code, f"HTTP {answer.status_code}"

    async def _record(self, delivery_id: int, attempt: int, status: int | None,
                      error: str | None, done: bool, final: bool, delay: float) -> None:
        now = self._clock()
        async with self._db.uow() as session:
            row = await session.get(WebhookDelivery, delivery_id)
            if row is None:
                return
            entry: JsonObject = {"at": now.isoformat(), "status": status, "error": error}
            row.attempt_log = [*row.attempt_log, entry][-MAX_LOGGED_ATTEMPTS:]
            row.attempts = attempt
            row.last_status = status
            row.last_error = error
            row.state = "delivered" if done else ("failed" if final else "pending")
            row.delivered_at = now if done else None
            row.next_attempt_at = None if final else now + timedelta(seconds=delay)
