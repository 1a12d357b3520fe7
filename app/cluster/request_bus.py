"""Requests between nodes on one PostgreSQL: rows for the work, LISTEN/NOTIFY to wake.

A request is a row of ``node_requests`` (its payload and, once done, its result); the
NOTIFY that wakes its target (channel ``chargeplan_requests``) or its origin (channel
``chargeplan_replies``) carries only the target or origin node and the row's id, since a
notification's payload is limited to 8,000 bytes. ``pg_notify`` runs in the transaction
that writes the row, so the notification is delivered only once the row is committed.

Each node keeps one connection of its own that LISTENs (asyncpg ``add_listener``); when it
drops, the node reconnects and then looks for what it may have missed. Notifications are
only wake-ups: a node also looks for requests addressed to it at every sweep, and a
caller reads its row again every second, so a lost notification costs latency, never a
request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import make_url

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.node_models import NodeRequest
from app.json_types import JsonObject

log = logging.getLogger("chargeplan.cluster")

REQUESTS = "chargeplan_requests"
REPLIES = "chargeplan_replies"
# Requests and results nobody came back for are deleted after this long.
KEEP = timedelta(minutes=10)
# How often the listener connection is checked and reopened when it dropped.
LISTENER_CHECK_S = 1.0


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (postgresql+asyncpg://...) as a libpq DSN asyncpg accepts."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def open_listener(database_url: str, channels: dict[str, Callable[..., None]]
                        ) -> asyncpg.Connection:
    """A connection of its own that LISTENs on ``channels``."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url), timeout=5)
    for channel, callback in channels.items():
        await connection.add_listener(channel, callback)
    return connection


async def close_listener(connection: asyncpg.Connection | None) -> None:
    if connection is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 2.0)


class RequestBus:
    """Writes, claims and finishes request rows and wakes the node at the other end."""

    def __init__(self, db: Database, node_id: str, *, clock: Clock = utcnow) -> None:
        self._db = db
        self.node_id = node_id
        self._clock = clock
        self._listener: asyncpg.Connection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._replies: dict[int, asyncio.Event] = {}
        # Set when a request for this node may be waiting (app.cluster.routed_gateway's
        # RequestServer waits on it).
        self._requested = asyncio.Event()
        self.listener_error: str | None = "not started"

    # --- the LISTEN connection -------------------------------------------------------
    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    async def start(self) -> None:
        await self._listen()
        self._supervisor = asyncio.create_task(self._supervise(), name="cluster-listener")

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await close_listener(self._listener)
        self._listener = None

    def poke(self) -> None:
        """A request for this node may be waiting (a notification, a lost one, a sweep)."""
        self._requested.set()

    async def next_request(self) -> None:
        """Return once a request for this node may be waiting."""
        await self._requested.wait()
        self._requested.clear()

    async def _listen(self) -> None:
        self._listener = await open_listener(self._db.url, {REQUESTS: self._notified,
                                                           REPLIES: self._notified})
        self.listener_error = None

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(LISTENER_CHECK_S)
            if self.listening:
                continue
            self.listener_error = "LISTEN connection lost"
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                self.listener_error = f"LISTEN connection lost: {exc}"
                continue
            log.info("LISTEN connection open again: looking for missed requests")
            # Whatever was notified meanwhile: requests for this node, replies awaited.
            self.poke()
            for event in self._replies.values():
                event.set()

    def _notified(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        node, _, raw_id = payload.rpartition(" ")
        if node != self.node_id:
            return
        if channel == REQUESTS:
            self.poke()
            return
        event = self._replies.get(int(raw_id))
        if event is not None:
            event.set()

    # --- the caller's side -----------------------------------------------------------
    async def ask(self, kind: str, target: str, payload: JsonObject, *,
                  station_id: str | None = None, action: str | None = None,
                  desired_profile_id: int | None = None,
                  timeout_s: float | None = None, awaited: bool = True) -> int:
        """Write a request for ``target`` and wake it; the request's id. With
        ``awaited``, a reply to this node will wake :meth:`wait`."""
        async with self._db.uow() as session:
            row = NodeRequest(kind=kind, origin_node=self.node_id, target_node=target,
                              station_id=station_id, action=action, payload=payload,
                              desired_profile_id=desired_profile_id, timeout_s=timeout_s,
                              state="pending", created_at=self._clock())
            session.add(row)
            await session.flush()
            if awaited:
                self._replies[row.id] = asyncio.Event()
            await session.execute(select(func.pg_notify(REQUESTS, f"{target} {row.id}")))
            return row.id

    async def wait(self, request_id: int, seconds: float) -> NodeRequest | None:
        """Wait up to ``seconds`` for a reply; the row as it is then (None: gone)."""
        event = self._replies.get(request_id)
        if event is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), seconds)
            event.clear()
        async with self._db.uow() as session:
            return await session.get(NodeRequest, request_id)

    async def retarget(self, request_id: int, target: str) -> bool:
        """Send a request nobody claimed yet to another node; False if it was claimed."""
        async with self._db.uow() as session:
            moved = (await session.execute(
                update(NodeRequest).where(NodeRequest.id == request_id,
                                          NodeRequest.state == "pending")
                .values(target_node=target).returning(NodeRequest.id))).first()
            if moved is not None:
                await session.execute(select(func.pg_notify(REQUESTS, f"{target} {request_id}")))
        return moved is not None

    async def forget(self, request_id: int) -> None:
        """The caller is done with the request (answered, given up): delete its row."""
        self._replies.pop(request_id, None)
        async with self._db.uow() as session:
            await session.execute(delete(NodeRequest).where(NodeRequest.id == request_id))

    # --- the target's side -----------------------------------------------------------
    async def claim(self, limit: int = 100) -> list[NodeRequest]:
        """Take the pending requests for this node. SKIP LOCKED: a row another claim of
        this node is taking is left to it, never waited for."""
        now = self._clock()
        async with self._db.uow() as session:
            mine = (select(NodeRequest.id)
                    .where(NodeRequest.target_node == self.node_id,
                           NodeRequest.state == "pending")
                    .order_by(NodeRequest.id).limit(limit)
                    .with_for_update(skip_locked=True))
            rows = (await session.scalars(
                update(NodeRequest).where(NodeRequest.id.in_(mine.scalar_subquery()))
                .values(state="running", claimed_at=now)
                .returning(NodeRequest))).all()
        return sorted(rows, key=lambda r: r.id)

    async def finish(self, request: NodeRequest, result: JsonObject | None) -> None:
        """Write the result and wake the origin; a job nobody awaits is just deleted."""
        async with self._db.uow() as session:
            if result is None:
                await session.execute(delete(NodeRequest).where(NodeRequest.id == request.id))
                return
            await session.execute(
                update(NodeRequest).where(NodeRequest.id == request.id)
                .values(state="done", result=result, finished_at=self._clock()))
            await session.execute(select(func.pg_notify(
                REPLIES, f"{request.origin_node} {request.id}")))

    async def sweep(self, now: datetime | None = None) -> int:
        """Delete requests and results older than ``KEEP``: their caller gave up."""
        cutoff = (now or self._clock()) - KEEP
        async with self._db.uow() as session:
            result = await session.execute(
                delete(NodeRequest).where(NodeRequest.created_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

