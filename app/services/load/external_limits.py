"""Charging limits set outside chargeplan (OCPP 2.0.1 K11-K14): stored per station, EVSE
and source as the station reports them, removed when it says they are cleared, and read
by the circuit solve as caps on the sessions they bound (app/domain/external_limits.py).

A change emits ``external_limit.set`` / ``external_limit.cleared`` (SSE, WebSocket,
webhooks) and publishes ``ExternalLimitChanged``, whose reaction re-plans the station's
circuit tree (debounced, as after a transaction or another owner's profile).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock, utcnow
from app.db.device_models import ExternalLimit as ExternalLimitRow
from app.db.engine import Database
from app.db.models import Station, Transaction
from app.domain import external_limits as rule
from app.domain.allocation import CapWindow
from app.events import EventBus, EventType
from app.services.errors import Invalid, NotFound
from app.services.messagebus import DISCARD, Publisher
from app.services.messages import ExternalLimitChanged


def as_limit(row: ExternalLimitRow) -> rule.ExternalLimit:
    """The stored row as the pure rules read it (schedules were checked when stored)."""
    return rule.ExternalLimit(row.evse_id, rule.LimitSource(row.source), row.received_at,
                              rule.parse_schedules(row.schedules), row.is_grid_critical)


def _source(value: str, field: str = "chargingLimitSource") -> rule.LimitSource:
    try:
        return rule.LimitSource(value)
    except ValueError:
        raise Invalid(field, "one of " + ", ".join(s.value for s in rule.LimitSource)) from None


class ExternalLimitService:
    def __init__(self, db: Database, *, clock: Clock = utcnow, events: EventBus | None = None,
                 bus: Publisher = DISCARD) -> None:
        self._db = db
        self._clock = clock
        self.events = events or EventBus(clock=clock)
        self._bus = bus

    async def notify(self, station_id: str, source: str, *, evse_id: int | None = None,
                     is_grid_critical: bool | None = None,
                     schedules: Sequence[Mapping[str, Any]] | None = None
                     ) -> ExternalLimitRow:
        """NotifyChargingLimit (K12): the limit of ``source`` on the EVSE (None or 0: the
        whole station) replaces the one it had there. 404 for an unknown station, 400
        naming the field of a schedule that is not one."""
        kind = _source(source)
        evse = evse_id or 0
        if evse < 0:
            raise Invalid("evseId", "must be 0 or more")
        try:
            rule.parse_schedules(schedules)
        except rule.LimitError as error:
            raise Invalid(error.field, error.rule) from None
        now = self._clock()
        async with self._db.uow() as session:
            if await session.get(Station, station_id) is None:
                raise NotFound("station", station_id)
            row = await session.get(ExternalLimitRow, (station_id, evse, kind.value))
            if row is None:
                row = ExternalLimitRow(station_id=station_id, evse_id=evse, source=kind.value)
                session.add(row)
            row.is_grid_critical = is_grid_critical
            row.schedules = None if schedules is None else [dict(s) for s in schedules]
            row.received_at = now
        self.events.emit(EventType.EXTERNAL_LIMIT_SET, station_id=station_id,
                         connector_id=evse, source=kind.value,
                         is_grid_critical=is_grid_critical,
                         schedules=row.schedules)
        self._changed(station_id)
        return row

    async def cleared(self, station_id: str, source: str, *, evse_id: int | None = None
                      ) -> int:
        """ClearedChargingLimit (K13): the limits of ``source`` on the EVSE go (every EVSE's
        when ``evse_id`` is None); how many went."""
        kind = _source(source)
        async with self._db.uow() as session:
            query = delete(ExternalLimitRow).where(ExternalLimitRow.station_id == station_id,
                                                   ExternalLimitRow.source == kind.value)
            if evse_id is not None:
                query = query.where(ExternalLimitRow.evse_id == evse_id)
            removed = int((await session.execute(query)).rowcount or 0)  # type: ignore[attr-defined]
        if removed:
            self.events.emit(EventType.EXTERNAL_LIMIT_CLEARED, station_id=station_id,
                             connector_id=evse_id, source=kind.value)
            self._changed(station_id)
        return removed

    async def of_station(self, station_id: str) -> list[ExternalLimitRow]:
        """The station's limits, by EVSE and source; 404 for an unknown station."""
        async with self._db.uow() as session:
            if await session.get(Station, station_id) is None:
                raise NotFound("station", station_id)
            return list((await session.scalars(
                select(ExternalLimitRow).where(ExternalLimitRow.station_id == station_id)
                .order_by(ExternalLimitRow.evse_id, ExternalLimitRow.source))).all())

    def _changed(self, station_id: str) -> None:
        self._bus.publish(ExternalLimitChanged(station_id))


async def session_caps(session: AsyncSession, running: Sequence[Transaction], at: datetime,
                       duration_s: int, voltage: float) -> dict[int, tuple[CapWindow, ...]]:
    """Per running transaction, the caps the external limits of its station put on it
    from ``at`` for ``duration_s``; transactions nothing caps are left out."""
    if not running:
        return {}
    stations = sorted({t.station_id for t in running})
    rows = (await session.scalars(
        select(ExternalLimitRow).where(ExternalLimitRow.station_id.in_(stations)))).all()
    if not rows:
        return {}
    limits: defaultdict[str, list[rule.ExternalLimit]] = defaultdict(list)
    for row in rows:
        limits[row.station_id].append(as_limit(row))
    on_station = Counter(t.station_id for t in running)
    end = at + timedelta(seconds=duration_s)
    found = {}
    for tx in running:
        caps = rule.session_caps(limits.get(tx.station_id, ()), tx.connector_id,
                                 on_station[tx.station_id], at, end, voltage)
        if caps:
            found[tx.id] = caps
    return found


async def with_external_caps(db: Database, outside: Mapping[int, tuple[CapWindow, ...]],
                             running: Sequence[Transaction], at: datetime, duration_s: int,
                             voltage: float) -> dict[int, tuple[CapWindow, ...]]:
    """``outside`` (the other owners' caps per transaction) with the external limits'
    caps added: the solve takes the lowest window in force at each instant."""
    async with db.uow() as session:
        external = await session_caps(session, running, at, duration_s, voltage)
    merged = dict(outside)
    for tx_id, caps in external.items():
        merged[tx_id] = (*merged.get(tx_id, ()), *caps)
    return merged
