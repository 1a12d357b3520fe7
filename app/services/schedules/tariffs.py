"""Time-of-use tariffs: stored in local time, regenerated into a TxDefaultProfile per day.

Each enabled tariff has a daily job at 00:05 in its own time zone that regenerates the
profile for its targets (``app.domain.tariffs`` explains why an Absolute profile per day
and not a Recurring Daily one); creating or changing a tariff, or posting prices,
regenerates at once. The reconcile job delivers what is materialised here.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.fleet_models import Tariff, TariffPrice
from app.domain import tariffs as tou
from app.domain.ownership import Owner, OwnerKind
from app.domain.profiles import ChargingProfile, ChargingRateUnit
from app.events import EventType
from app.services.delivery.smart_charging import SmartChargingService
from app.services.errors import Invalid, NotFound
from app.services.schedules.plans import (
    Materialised,
    StationStatus,
    Targets,
    delivery_status,
    materialise,
)
from app.services.schedules.ports import JobScheduler

log = logging.getLogger("chargeplan.tariffs")

# Shortly after local midnight, so "today" is the new local day.
REGENERATE_AT = (0, 5)


@dataclass(frozen=True)
class WindowSpec:
    days: Sequence[str]
    start: str
    end: str
    limit: float


@dataclass(frozen=True)
class PriceRuleSpec:
    cheapest_hours: int
    cheap_limit: float
    other_limit: float


@dataclass(frozen=True)
class TariffSpec:
    name: str
    timezone: str
    windows: Sequence[WindowSpec]
    default_limit: float
    targets: Targets
    unit: str = "W"
    price_rule: PriceRuleSpec | None = None
    connector_id: int = 0
    stack_level: int = 0
    enabled: bool = True


@dataclass
class TariffResult:
    tariff: Tariff
    outcome: Materialised


def _invalid(exc: tou.TariffError) -> Invalid:
    return Invalid(exc.field, exc.rule)


def check_spec(spec: TariffSpec) -> tou.TimeOfUse:
    """The domain tariff, or a 400 naming the field."""
    if not spec.name.strip():
        raise Invalid("name", "must not be empty")
    spec.targets.check()
    if spec.unit not in ("W", "A"):
        raise Invalid("unit", "must be W or A")
    for name, value in (("connector_id", spec.connector_id), ("stack_level", spec.stack_level)):
        if value < 0:
            raise Invalid(name, "must be >= 0")
    try:
        tou.zone(spec.timezone)
        windows = tuple(tou.window(w.days, w.start, w.end, w.limit, f"windows[{i}]")
                        for i, w in enumerate(spec.windows))
        rule = None if spec.price_rule is None else tou.price_rule(
            spec.price_rule.cheapest_hours, spec.price_rule.cheap_limit,
            spec.price_rule.other_limit)
        default = tou.check_limit(spec.default_limit, "default_limit")
    except tou.TariffError as exc:
        raise _invalid(exc) from None
    return tou.TimeOfUse(spec.timezone, ChargingRateUnit(spec.unit), windows, default, rule,
                         spec.stack_level)


def domain_tariff(row: Tariff) -> tou.TimeOfUse:
    rule = None
    if row.price_rule:
        rule = tou.PriceRule(int(row.price_rule["cheapest_hours"]),
                             float(row.price_rule["cheap_limit"]),
                             float(row.price_rule["other_limit"]))
    windows = tuple(tou.window(w["days"], w["start"], w["end"], w["limit"], f"windows[{i}]")
                    for i, w in enumerate(row.windows))
    return tou.TimeOfUse(row.timezone, ChargingRateUnit(row.unit), windows,
                         float(row.default_limit), rule, row.stack_level)


def _columns(spec: TariffSpec) -> dict[str, Any]:
    rule = None if spec.price_rule is None else {
        "cheapest_hours": spec.price_rule.cheapest_hours,
        "cheap_limit": spec.price_rule.cheap_limit,
        "other_limit": spec.price_rule.other_limit}
    return dict(
        name=spec.name, timezone=spec.timezone, unit=spec.unit,
        windows=[{"days": list(w.days), "start": w.start, "end": w.end, "limit": w.limit}
                 for w in spec.windows],
        default_limit=spec.default_limit, price_rule=rule, targets=spec.targets.to_json(),
        connector_id=spec.connector_id, stack_level=spec.stack_level, enabled=spec.enabled)


class TariffService:
    def __init__(self, db: Database, smart_charging: SmartChargingService, *,
                 scheduler: JobScheduler | None = None, clock: Clock = utcnow) -> None:
        self._db = db
        self._smart = smart_charging
        # Set once the job scheduler runs; without one there is no daily regeneration.
        self.scheduler = scheduler
        self._clock = clock

    async def start(self) -> None:
        """Re-create the daily job of every enabled tariff and regenerate at once: the
        server may have been down at the last 00:05."""
        for tariff in await self.list_all():
            if tariff.enabled:
                self._schedule(tariff)
                await self.regenerate(tariff.id)

    # --- reading ------------------------------------------------------------------------
    async def list_all(self) -> list[Tariff]:
        async with self._db.uow() as session:
            return list((await session.scalars(select(Tariff).order_by(Tariff.id))).all())

    async def get(self, tariff_id: int) -> Tariff:
        async with self._db.uow() as session:
            tariff = await session.get(Tariff, tariff_id)
        if tariff is None:
            raise NotFound("tariff", tariff_id)
        return tariff

    async def prices(self, tariff_id: int, days: Sequence[date]) -> dict[date, list[float]]:
        async with self._db.uow() as session:
            rows = (await session.scalars(select(TariffPrice).where(
                TariffPrice.tariff_id == tariff_id,
                TariffPrice.date.in_([d.isoformat() for d in days])))).all()
        return {date.fromisoformat(r.date): list(r.prices) for r in rows}

    # --- writing ------------------------------------------------------------------------
    async def create(self, spec: TariffSpec) -> TariffResult:
        check_spec(spec)
        now = self._clock()
        async with self._db.uow() as session:
            tariff = Tariff(**_columns(spec), created_at=now, updated_at=now)
            session.add(tariff)
            await session.flush()
        return TariffResult(tariff, await self._changed(tariff))

    async def replace(self, tariff_id: int, spec: TariffSpec) -> TariffResult:
        check_spec(spec)
        async with self._db.uow() as session:
            tariff = await session.get(Tariff, tariff_id)
            if tariff is None:
                raise NotFound("tariff", tariff_id)
            for name, value in _columns(spec).items():
                setattr(tariff, name, value)
            tariff.updated_at = self._clock()
        return TariffResult(tariff, await self._changed(tariff))

    async def delete(self, tariff_id: int) -> None:
        tariff = await self.get(tariff_id)
        self._unschedule(tariff_id)
        await materialise(self._db, self._smart, self.scheduler, None, tariff.connector_id,
                          {}, reason="tariff", owner=Owner(OwnerKind.TARIFF, tariff_id))
        async with self._db.uow() as session:
            row = await session.get(Tariff, tariff_id)
            if row is not None:
                await session.delete(row)

    async def set_prices(self, tariff_id: int, day_text: str,
                         prices: Sequence[float]) -> TariffResult:
        """Store one local date's hourly prices (23, 24 or 25 of them: the local day's
        length) and regenerate."""
        tariff = await self.get(tariff_id)
        try:
            day = tou.parse_date(day_text)
        except tou.TariffError as exc:
            raise _invalid(exc) from None
        hours = tou.day_hours(day, tou.zone(tariff.timezone))
        if len(prices) != hours:
            raise Invalid("prices", f"{day} has {hours} hours in {tariff.timezone}: give "
                          f"{hours} hourly prices, not {len(prices)}")
        for index, price in enumerate(prices):
            if not math.isfinite(price):
                raise Invalid(f"prices[{index}]", "must be a finite number")
        async with self._db.uow() as session:
            row = await session.get(TariffPrice, (tariff_id, day.isoformat()))
            if row is None:
                session.add(TariffPrice(tariff_id=tariff_id, date=day.isoformat(),
                                        prices=list(prices), created_at=self._clock()))
            else:
                row.prices = list(prices)
                row.created_at = self._clock()
        outcome = await self.regenerate(tariff_id) if tariff.enabled else Materialised()
        return TariffResult(tariff, outcome)

    async def sync_station(self, station_id: str) -> None:
        """After a station's tags changed: it gains or loses the tariffs that target it."""
        await self.sync_stations([station_id])

    async def sync_stations(self, station_ids: Sequence[str]) -> None:
        """:meth:`sync_station` for many stations, reading the tariffs once."""
        for tariff in await self.list_all():
            await self.regenerate(tariff.id, only=station_ids)

    # --- generation ---------------------------------------------------------------------
    async def profile(self, tariff_id: int, day: date | None = None) -> ChargingProfile:
        """The profile the targets hold for local ``day`` (default: today) and the next."""
        row = await self.get(tariff_id)
        tariff = domain_tariff(row)
        today = day if day is not None else tou.local_today(tariff, self._clock())
        prices = await self.prices(tariff_id, [today, today + timedelta(days=1)])
        return tou.profile_for_day(tariff, today, prices)

    async def draft_profile(self, spec: TariffSpec, day: date | None = None, *,
                            prices_of: int | None = None) -> ChargingProfile:
        """The profile an unsaved tariff would generate for local ``day`` (default: today)
        and the next; ``prices_of`` names a stored tariff whose prices it uses. Nothing is
        stored or sent."""
        tariff = check_spec(spec)
        today = day if day is not None else tou.local_today(tariff, self._clock())
        prices = {}
        if prices_of is not None:
            await self.get(prices_of)
            prices = await self.prices(prices_of, [today, today + timedelta(days=1)])
        return tou.profile_for_day(tariff, today, prices)

    async def regenerate(self, tariff_id: int, *, only: Collection[str] | None = None
                         ) -> Materialised:
        """Materialise today's profile on the tariff's targets (or remove it when the
        tariff is disabled) and ask for a reconcile."""
        row = await self.get(tariff_id)
        targets = Targets.from_json(row.targets) if row.enabled else None
        profile: Mapping[str, Any] = {}
        if targets is not None:
            profile = (await self.profile(tariff_id)).to_ocpp()
            del profile["chargingProfileId"]  # allocated per station by the database
        outcome = await materialise(self._db, self._smart, self.scheduler, targets,
                                    row.connector_id, profile, reason="tariff",
                                    owner=Owner(OwnerKind.TARIFF, tariff_id), only=only)
        self._smart.events.emit(EventType.TARIFF_APPLIED, tariff_id=tariff_id,
                                stations=outcome.stations, removed_from=outcome.removed_from,
                                problems=len(outcome.problems))
        if only is None:
            log.info("tariff %s regenerated on %d stations, removed from %d, %d problems",
                     tariff_id, len(outcome.stations), len(outcome.removed_from),
                     len(outcome.problems))
        return outcome

    async def status(self, tariff_id: int) -> list[StationStatus]:
        row = await self.get(tariff_id)
        targets = Targets.from_json(row.targets) if row.enabled else Targets()
        return await delivery_status(self._db, targets, owner=Owner(OwnerKind.TARIFF, tariff_id))

    async def _changed(self, tariff: Tariff) -> Materialised:
        if tariff.enabled:
            self._schedule(tariff)
        else:
            self._unschedule(tariff.id)
        return await self.regenerate(tariff.id)

    def _schedule(self, tariff: Tariff) -> None:
        if self.scheduler is None:
            return
        hour, minute = REGENERATE_AT
        self.scheduler.schedule_daily(f"tariff:{tariff.id}", tariff.timezone, hour, minute,
                                      functools.partial(self._daily, tariff.id))

    def _unschedule(self, tariff_id: int) -> None:
        if self.scheduler is not None:
            self.scheduler.unschedule(f"tariff:{tariff_id}")

    async def _daily(self, tariff_id: int) -> None:
        try:
            await self.regenerate(tariff_id)
        except NotFound:
            # Deleted since the job was scheduled.
            self._unschedule(tariff_id)

