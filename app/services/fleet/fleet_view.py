"""The fleet as the dashboard lists it: one page of stations with their connectors,
delivery and verification state and the limit in force now, filtered and searched.

Only the page's stations are read in full (connectors, desired rows, composites): a
10,000-station fleet costs one narrow query over the registry plus a page's worth.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.db.engine import Database
from app.db.models import Connector, DesiredProfile, Station
from app.domain.profiles import ChargingRateUnit
from app.json_types import JsonObject
from app.services.delivery.smart_charging import SmartChargingService
from app.services.errors import Invalid

STATES = ("online", "offline", "verified", "drift", "drift_unresolved", "unverifiable",
          "unverified")
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class FleetQuery:
    search: str = ""
    tag: str | None = None
    state: str | None = None
    page: int = 1
    size: int = 50

    def check(self) -> None:
        if self.state is not None and self.state not in STATES:
            raise Invalid("state", "one of " + ", ".join(STATES))
        if self.page < 1:
            raise Invalid("page", "must be >= 1")
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise Invalid("size", f"must be 1..{MAX_PAGE_SIZE}")


@dataclass
class FleetRow:
    station_id: str
    online: bool
    tags: list[str]
    last_seen: datetime | None
    verification_state: str | None
    connectors: list[JsonObject] = field(default_factory=list)
    delivery: dict[str, int] = field(default_factory=dict)
    limit_w: float | None = None


@dataclass
class FleetPage:
    total: int
    rows: list[FleetRow]
    tags: list[str]


def _wanted(q: FleetQuery, sid: str, online: bool, tags: list[str], state: str | None) -> bool:
    if q.search and q.search.lower() not in sid.lower():
        return False
    if q.tag and q.tag not in tags:
        return False
    if q.state == "online":
        return online
    if q.state == "offline":
        return not online
    if q.state == "unverified":
        return state is None
    return q.state is None or state == q.state


async def fleet_page(db: Database, smart: SmartChargingService, q: FleetQuery,
                     now: datetime) -> FleetPage:
    q.check()
    async with db.uow() as session:
        registry = (await session.execute(
            select(Station.id, Station.online, Station.tags, Station.last_seen,
                   Station.verification_state).order_by(Station.id))).all()
    all_tags = sorted({t for r in registry for t in (r.tags or [])})
    chosen = [r for r in registry
              if _wanted(q, r.id, bool(r.online), list(r.tags or []), r.verification_state)]
    start = (q.page - 1) * q.size
    rows = [FleetRow(r.id, bool(r.online), list(r.tags or []), r.last_seen,
                     r.verification_state) for r in chosen[start:start + q.size]]
    ids = [r.station_id for r in rows]
    if ids:
        await _fill(db, smart, rows, ids, now)
    return FleetPage(len(chosen), rows, all_tags)


async def _fill(db: Database, smart: SmartChargingService, rows: list[FleetRow],
                ids: list[str], now: datetime) -> None:
    connectors: defaultdict[str, list[JsonObject]] = defaultdict(list)
    delivery: defaultdict[str, Counter[str]] = defaultdict(Counter)
    async with db.uow() as session:
        for c in (await session.scalars(select(Connector).where(Connector.station_id.in_(ids))
                                        .order_by(Connector.connector_id))).all():
            connectors[c.station_id].append({"connector_id": c.connector_id,
                                             "status": c.status, "error_code": c.error_code})
        for sid, state in (await session.execute(
                select(DesiredProfile.station_id, DesiredProfile.state)
                .where(DesiredProfile.station_id.in_(ids)))).all():
            delivery[sid][str(state)] += 1
    # The limit in force now: the composite of what each station holds, whole station.
    snapshots = await smart.snapshots(ids)
    for row in rows:
        row.connectors = connectors[row.station_id]
        row.delivery = dict(delivery[row.station_id])
        snapshot = snapshots.get(row.station_id)
        if snapshot is not None:
            schedule = smart.composite_of(snapshot, 0, now, 60, ChargingRateUnit.W)
            periods = (schedule.get("chargingSchedule") or {}).get("chargingSchedulePeriod")
            row.limit_w = periods[0]["limit"] if periods else None
