"""Every node's event stream carries the events of every node's stations (several nodes
on one PostgreSQL).

Each node LISTENs on the channel ``chargeplan_events`` with a connection of its own and
publishes there what its bus emits: events are gathered for a moment and sent as one
NOTIFY per batch that fits a notification's payload (PostgreSQL allows 8,000 bytes); an
event larger than that alone is written to ``cluster_events`` and its NOTIFY carries the
row's id. ``pg_notify`` runs in the transaction that writes such a row, so the others read
it only once it is committed, and the notifications of one transaction arrive in order.

Events still cost nothing while nobody listens: a node with a listener that wants other
nodes' events says so on the channel when it subscribes and every heartbeat after; the
others publish for ``INTEREST_BEATS`` heartbeats after hearing it (``EventBus.active``).
A node numbers the events it receives in its own sequence, so ``Last-Event-ID`` resumes
on the node the client reconnects to. Notifications are not stored: an event emitted
while the LISTEN connection is down does not reach the other nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson
from sqlalchemy import delete, func, select

from app.clock import Clock, utcnow
from app.cluster.request_bus import close_listener, open_listener
from app.db.engine import Database
from app.db.node_models import ClusterEvent
from app.events import EventBus, EventType
from app.events.types import Event
from app.json_types import JsonObject

log = logging.getLogger("chargeplan.cluster")

CHANNEL = "chargeplan_events"
# Below PostgreSQL's 8,000-byte limit on a notification's payload, with room for the
# envelope.
MAX_PAYLOAD = 7_800
# A node publishes this many heartbeats after another node last said it listens.
INTEREST_BEATS = 3
# Events emitted while publishing lags: the oldest are dropped beyond this many.
MAX_OUTBOX = 10_000
# Rows of large events are deleted after this long.
KEEP = timedelta(minutes=10)


def encode(event: Event) -> JsonObject:
    body = event.as_dict()
    del body["id"]  # numbered again by each receiving node
    return body


def decode(body: JsonObject, origin: str) -> JsonObject:
    """Keyword arguments of :meth:`EventBus.deliver_remote`."""
    return {"type": EventType(body["type"]), "at": datetime.fromisoformat(body["at"]),
            "origin": origin, "station_id": body.get("station_id"),
            "connector_id": body.get("connector_id"), "circuit_id": body.get("circuit_id"),
            "data": body.get("data") or {}}


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)


def batches(node_id: str, events: Sequence[Event]) -> list[bytes | JsonObject]:
    """In order: NOTIFY payloads of events that fit one, and (as dicts) the events too
    large for any, which go through ``cluster_events``."""
    out: list[bytes | JsonObject] = []
    current: list[bytes] = []
    envelope = len(_dumps({"node": node_id, "events": []}))
    size = envelope

    def close() -> None:
        nonlocal current, size
        if current:
            out.append(b'{"node":' + _dumps(node_id) + b',"events":[' + b",".join(current)
                       + b"]}")
        current, size = [], envelope

    for event in events:
        body = encode(event)
        raw = _dumps(body)
        if envelope + len(raw) > MAX_PAYLOAD:
            close()
            out.append(body)
            continue
        if size + len(raw) + 1 > MAX_PAYLOAD:
            close()
        current.append(raw)
        size += len(raw) + 1
    close()
    return out


class EventRelay:
    """Publishes this node's events for the others and delivers theirs to this bus."""

    def __init__(self, db: Database, bus: EventBus, node_id: str, *, heartbeat_s: float,
                 clock: Clock = utcnow) -> None:
        self._db = db
        self._bus = bus
        self.node_id = node_id
        self._beat = heartbeat_s
        self._clock = clock
        self._outbox: deque[Event] = deque(maxlen=MAX_OUTBOX)
        self._pending = asyncio.Event()
        self._interest = asyncio.Event()
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._listener: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.published = 0
        self.received = 0
        self.lost = 0
        self.listener_error: str | None = "not started"

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    def counts(self) -> dict[str, int]:
        return {"published": self.published, "received": self.received, "lost": self.lost}

    async def start(self) -> None:
        await self._listen()
        self._bus.attach(self)
        self._tasks = [asyncio.create_task(self._publishing(), name="events-publish"),
                       asyncio.create_task(self._receiving(), name="events-receive"),
                       asyncio.create_task(self._beating(), name="events-interest")]
        if self._bus.wants_remote:
            self._interest.set()

    async def stop(self) -> None:
        self._bus.detach(self)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await close_listener(self._listener)
        self._listener = None

    # --- the LISTEN connection ---------------------------------------------------------
    async def _listen(self) -> None:
        self._listener = await open_listener(self._db.url, {CHANNEL: self._notified})
        self.listener_error = None

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._inbox.put_nowait(payload)

    # --- publishing ----------------------------------------------------------------------
    def interest(self) -> None:
        """A listener here wants the other nodes' events: tell them soon."""
        self._interest.set()

    def forward(self, event: Event) -> None:
        if len(self._outbox) == self._outbox.maxlen:
            self.lost += 1
        self._outbox.append(event)
        self._pending.set()

    async def _publishing(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            events = list(self._outbox)
            self._outbox.clear()
            try:
                await self._publish(events)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.lost += len(events)
                log.exception("publishing %d events to the other nodes failed", len(events))

    async def _publish(self, events: Sequence[Event]) -> None:
        async with self._db.uow() as session:
            for item in batches(self.node_id, events):
                if isinstance(item, dict):
                    row = ClusterEvent(node_id=self.node_id, event=item,
                                       created_at=self._clock())
                    session.add(row)
                    await session.flush()
                    payload = _dumps({"node": self.node_id, "ref": row.id}).decode()
                else:
                    payload = item.decode()
                await session.execute(select(func.pg_notify(CHANNEL, payload)))
        self.published += len(events)

    async def _say_listening(self) -> None:
        async with self._db.uow() as session:
            await session.execute(select(func.pg_notify(CHANNEL, _dumps(
                {"node": self.node_id, "listening": self._beat * INTEREST_BEATS}).decode())))

    # --- receiving -----------------------------------------------------------------------
    async def _receiving(self) -> None:
        while True:
            payload = await self._inbox.get()
            try:
                await self._receive(orjson.loads(payload))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("an event notification could not be read: %.200s", payload)

    async def _receive(self, message: JsonObject) -> None:
        origin = str(message["node"])
        if origin == self.node_id:
            return
        if "listening" in message:
            self._bus.remote_interest(float(message["listening"]))
            return
        bodies: list[JsonObject] = message.get("events") or []
        if "ref" in message:
            async with self._db.uow() as session:
                row = await session.get(ClusterEvent, int(message["ref"]))
            bodies = [row.event] if row is not None else []
        for body in bodies:
            self._bus.deliver_remote(**decode(body, origin))
            self.received += 1

    # --- every heartbeat -----------------------------------------------------------------
    async def _beating(self) -> None:
        """Say this node listens (at once when a listener came, then every heartbeat),
        reopen the LISTEN connection when it dropped, delete old large events."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._beat):
                    await self._interest.wait()
            self._interest.clear()
            try:
                if not self.listening:
                    self.listener_error = "LISTEN connection lost"
                    await self._listen()
                    log.info("LISTEN connection for events open again")
                if self._bus.wants_remote:
                    await self._say_listening()
                async with self._db.uow() as session:
                    await session.execute(delete(ClusterEvent).where(
                        ClusterEvent.created_at < self._clock() - KEEP))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listener_error = f"events of other nodes are not heard: {exc}"
                log.warning("event relay: %s", exc)
