"""Recording security events without slowing down what they are about.

``record`` never waits and never touches the database: the row goes to a batch writer
that inserts many in one transaction. A flood (thousands of refused handshakes from one
address) must not become a flood of rows: events recorded with ``coalesce=True`` are
written once per window for the same kind, station and address, and the next row written
for them says how many were folded into it (``detail.repeated``). When the writer's
queue is full the event is counted in ``dropped`` instead of blocking the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.models import Station
from app.db.security_models import SecurityEvent, SecurityEventKind
from app.events import EventBus, EventType
from app.json_types import JsonObject
from app.services.errors import Invalid
from app.services.fleet.audit_log import decode_cursor, encode_cursor

log = logging.getLogger("chargeplan.security")

EventSink = Callable[[JsonObject], bool]
_Key = tuple[str, str | None, str | None]
# The host a station is connected from on this node, None when it is not connected.
AddressOf = Callable[[str], str | None]


class SecurityEvents:
    def __init__(self, sink: EventSink, *, clock: Clock = utcnow, window_s: float = 60.0,
                 max_keys: int = 10_000, events: EventBus | None = None,
                 address_of: AddressOf | None = None) -> None:
        self._sink = sink
        self._address_of = address_of
        self.events = events or EventBus(clock=clock)
        self._clock = clock
        self._window_s = window_s
        self._max_keys = max_keys
        # key -> (time of the last row written, events folded since)
        self._last: dict[_Key, tuple[float, int]] = {}
        self.recorded = 0
        self.coalesced = 0
        self.dropped = 0

    def record(self, kind: SecurityEventKind, *, station_id: str | None = None,
               remote_address: str | None = None, detail: JsonObject | None = None,
               coalesce: bool = False) -> None:
        now = self._clock()
        detail = dict(detail or {})
        if remote_address is None and station_id is not None and self._address_of is not None:
            # Raised during the station's session (a CSR, its own notification, a call):
            # the connection's address says where it came from.
            remote_address = self._address_of(station_id)
        if coalesce:
            key: _Key = (kind.value, station_id, remote_address)
            stamp = now.timestamp()
            last = self._last.get(key)
            if last is not None and stamp - last[0] < self._window_s:
                self._last[key] = (last[0], last[1] + 1)
                self.coalesced += 1
                return
            if last is not None and last[1]:
                detail["repeated"] = last[1]
            self._remember(key, stamp)
        row = {"ts": now, "kind": kind.value, "station_id": station_id,
               "remote_address": remote_address, "detail": detail or None}
        if self._sink(row):
            self.recorded += 1
            self.events.emit(EventType.SECURITY_EVENT, station_id=station_id, kind=kind.value,
                             remote_address=remote_address, detail=detail or None)
            log.warning("security event %s station=%s address=%s %s", kind.value, station_id,
                        remote_address, detail or "")
        else:
            self.dropped += 1

    def _remember(self, key: _Key, stamp: float) -> None:
        if len(self._last) >= self._max_keys:
            horizon = stamp - self._window_s
            self._last = {k: v for k, v in self._last.items() if v[0] >= horizon}
            if len(self._last) >= self._max_keys:
                # Still full inside one window: forget the counts rather than grow.
                self._last.clear()
        self._last[key] = (stamp, 0)


@dataclass(frozen=True)
class RecordedLockout:
    """An ``auth_lockout`` event whose lockout has not run out yet."""

    id: int
    kind: str  # addr, pair or station
    station_id: str | None
    remote_address: str | None
    seconds: float
    remaining: float


async def running_lockouts(db: Database, now: datetime, max_lock_s: float, *,
                           after_id: int = 0) -> list[RecordedLockout]:
    """Lockouts recorded after event ``after_id`` (by this process before a restart, or by
    another node) that still run at ``now``: none lasts longer than ``max_lock_s``, so
    older events are not read."""
    query = (select(SecurityEvent)
             .where(SecurityEvent.kind == SecurityEventKind.AUTH_LOCKOUT.value,
                    SecurityEvent.ts >= now - timedelta(seconds=max_lock_s),
                    SecurityEvent.id > after_id)
             .order_by(SecurityEvent.id))
    async with db.uow() as session:
        rows = list((await session.scalars(query)).all())
    running = []
    for row in rows:
        detail = row.detail if isinstance(row.detail, dict) else {}
        seconds = detail.get("seconds")
        if not isinstance(seconds, int | float) or not isinstance(detail.get("key"), str):
            continue
        remaining = (row.ts + timedelta(seconds=seconds) - now).total_seconds()
        if remaining > 0:
            running.append(RecordedLockout(row.id, detail["key"], row.station_id,
                                           row.remote_address, float(seconds), remaining))
    return running


# Built once: bound parameters hold reference cycles, and this runs on the OCPP server.
_LAST_ADDRESSES = (select(Station.id, Station.remote_address)
                   .where(Station.id.in_(bindparam("ids", expanding=True)),
                          Station.remote_address.is_not(None)))


async def last_addresses(db: Database, station_ids: Collection[str]) -> dict[str, str]:
    """The host each station last connected from (stations.remote_address is host:port)."""
    if not station_ids:
        return {}
    async with db.uow() as session:
        rows = (await session.execute(_LAST_ADDRESSES, {"ids": list(station_ids)})).all()
    return {station_id: address.rpartition(":")[0] for station_id, address in rows
            if address and ":" in address}


@dataclass(frozen=True)
class SecurityEventPage:
    events: Sequence[SecurityEvent]
    next_cursor: str | None


async def security_event_page(db: Database, *, station_id: str | None = None,
                              kind: str | None = None, remote_address: str | None = None,
                              since: datetime | None = None, until: datetime | None = None,
                              limit: int = 100, cursor: str | None = None
                              ) -> SecurityEventPage:
    """Recorded events matching every given filter, newest first, keyset-paginated."""
    if not 1 <= limit <= 1000:
        raise Invalid("limit", "must be 1 to 1000")
    query = select(SecurityEvent)
    if station_id is not None:
        query = query.where(SecurityEvent.station_id == station_id)
    if kind is not None:
        query = query.where(SecurityEvent.kind == kind)
    if remote_address is not None:
        query = query.where(SecurityEvent.remote_address == remote_address)
    if since is not None:
        query = query.where(SecurityEvent.ts >= since)
    if until is not None:
        query = query.where(SecurityEvent.ts < until)
    if cursor is not None:
        query = query.where(SecurityEvent.id < decode_cursor(cursor))
    query = query.order_by(SecurityEvent.id.desc()).limit(limit + 1)
    async with db.uow() as session:
        rows = list((await session.scalars(query)).all())
    if len(rows) <= limit:
        return SecurityEventPage(rows, None)
    rows = rows[:limit]
    return SecurityEventPage(rows, encode_cursor(rows[-1].id))
