"""Smart charging on persisted desired state: submit, deliver, clear, reconcile, compare.

Every change is first committed as desired state, then sent, and the station's answer
is committed in a new unit of work: a crash in between leaves a ``pending`` row, never a
lost one, and no database session is held while waiting on a charger. Work for one
station is serialised (in the order received); different stations run in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.models import Connector, DesiredProfile, Station
from app.db.models import Transaction as TransactionRow
from app.domain.composite import (
    ActiveTransaction,
    SupplyConfig,
    composite_schedule,
    schedules_match,
)
from app.domain.installation import InstalledProfile, clear, install
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ProfileFormatError,
)
from app.domain.validation import StationLimits, validate_profile
from app.domain.violations import Violation
from app.services import profiles_store as store
from app.services.errors import Invalid, NotFound
from app.services.ports import ChargerGateway, StationCallError, StationOffline
from app.services.stations import capabilities
from app.timefmt import parse_timestamp

log = logging.getLogger("chargeplan.smart_charging")

_UNITS = {"Current": ChargingRateUnit.A, "Power": ChargingRateUnit.W}
# Deliver caps before defaults before transaction profiles.
_PURPOSE_ORDER = {"ChargePointMaxProfile": 0, "TxDefaultProfile": 1, "TxProfile": 2}


class InvalidProfile(Invalid):
    """A profile breaks the OCPP 1.6 rules or the station's limits."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        first = violations[0]
        super().__init__(first.path, "; ".join(str(v) for v in violations))
        self.violations = list(violations)


@dataclass
class Outcome:
    """What happened to one request: success | rejected | error | pending."""

    status: str
    message: str
    error: str | None = None
    answer: dict[str, Any] | None = None


@dataclass
class Submitted:
    outcome: Outcome
    desired_id: int
    profile_id: int
    connector_id: int
    profile: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass
class Cleared:
    outcome: Outcome
    filters: dict[str, Any]
    removed: list[DesiredProfile]


@dataclass
class CompositeReport:
    outcome: Outcome
    schedule: dict[str, Any] | None
    expected: dict[str, Any]
    matches: bool | None


@dataclass
class ReconcileReport:
    station_id: str
    calls: int = 0
    failures: int = 0
    pushed: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Snapshot:
    view: StationView
    installed: tuple[InstalledProfile, ...]
    transactions: tuple[ActiveTransaction, ...]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for failed deliveries."""

    base_s: float = 10.0
    cap_s: float = 600.0
    max_attempts: int = 6

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds before attempt ``attempt + 1``; ``rand`` in [0, 1) spreads a fleet's
        retries so stations that failed together do not retry together."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** max(attempt - 1, 0))
        return ceiling / 2 + ceiling / 2 * rand


@dataclass(frozen=True)
class StationView:
    limits: StationLimits
    warnings: list[str]
    smart_charging: bool | None
    number_of_connectors: int
    max_power_w: float | None


class SmartChargingService:
    def __init__(self, db: Database, gateway: ChargerGateway, *, supply: SupplyConfig,
                 retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
                 clock: Clock = utcnow, rand: Callable[[], float] = random.random) -> None:
        self._db = db
        self._gateway = gateway
        self._supply = supply
        self._retry = retry
        self._clock = clock
        self._rand = rand
        self.retries = 0
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def lock(self, station_id: str) -> asyncio.Lock:
        return self._locks[station_id]

    # --- what the station accepts ------------------------------------------------------
    async def station_view(self, station_id: str) -> StationView:
        async with self._db.uow() as session:
            station = await session.get(Station, station_id)
            if station is None:
                raise NotFound("station", station_id)
            connectors = (await session.scalars(
                select(Connector.connector_id).where(Connector.station_id == station_id)
            )).all()
        caps = capabilities(station)
        warnings = []
        for name, value in (
            ("SupportedFeatureProfiles", caps.supported_feature_profiles),
            ("ChargeProfileMaxStackLevel", caps.max_stack_level),
            ("ChargingScheduleAllowedChargingRateUnit", caps.allowed_units),
            ("ChargingScheduleMaxPeriods", caps.max_periods),
            ("MaxChargingProfilesInstalled", caps.max_profiles),
        ):
            if value is None:
                warnings.append(f"station never reported {name}: not checked")
        units = None
        if caps.allowed_units is not None:
            units = frozenset(_UNITS[u] for u in caps.allowed_units if u in _UNITS)
        smart = None
        if caps.supported_feature_profiles is not None:
            smart = "SmartCharging" in caps.supported_feature_profiles
        limits = StationLimits(
            max_stack_level=caps.max_stack_level, allowed_units=units,
            max_periods=caps.max_periods, max_profiles=caps.max_profiles,
            number_of_connectors=caps.number_of_connectors,
        )
        known_connectors = max([c for c in connectors if c > 0], default=1)
        return StationView(limits, warnings, smart,
                           caps.number_of_connectors or known_connectors, station.max_power_w)

    async def check_profile(self, station_id: str, connector_id: int,
                            profile_json: Mapping[str, Any]) -> tuple[ChargingProfile, StationView]:
        """Parse and validate before anything is stored or sent; raises Invalid/NotFound."""
        view = await self.station_view(station_id)
        if view.smart_charging is False:
            raise Invalid("station_id", "the station's SupportedFeatureProfiles lacks "
                          "SmartCharging (OCPP 1.6 §9.1)")
        if connector_id < 0:
            raise Invalid("connector_id", "must be >= 0")
        try:
            profile = ChargingProfile.from_ocpp(profile_json, default_id=0)
        except ProfileFormatError as exc:
            raise InvalidProfile([v.prefixed("profile") for v in exc.violations]) from None
        violations = validate_profile(profile, connector_id, view.limits)
        if violations:
            raise InvalidProfile([v.prefixed("profile") for v in violations])
        return profile, view

    # --- submit and deliver ------------------------------------------------------------
    async def submit(self, station_id: str, connector_id: int, profile_json: Mapping[str, Any],
                     *, source: str = "api") -> Submitted:
        profile, view = await self.check_profile(station_id, connector_id, profile_json)
        async with self.lock(station_id):
            desired_id, profile = await self._store(
                station_id, connector_id, profile, "chargingProfileId" not in profile_json,
                view.limits.max_profiles, source)
            log.info("API: Sending charging profile to %s, connector %s", station_id,
                     connector_id)
            if not self._gateway.is_connected(station_id):
                outcome = Outcome("pending", f"station {station_id} is offline: the profile is "
                                  "stored and will be delivered when it reconnects")
            else:
                outcome = await self._deliver(station_id, desired_id)
        return Submitted(outcome, desired_id, profile.charging_profile_id, connector_id,
                         profile.to_ocpp(), view.warnings)

    async def _store(self, station_id: str, connector_id: int, profile: ChargingProfile,
                     allocate: bool, max_profiles: int | None, source: str, *,
                     plan_id: int | None = None, tariff_id: int | None = None,
                     ) -> tuple[int, ChargingProfile]:
        now = self._clock()
        async with self._db.uow() as session:
            rows = await store.desired(session, station_id)
            previous = None
            if plan_id is not None or tariff_id is not None:
                previous = next((r for r in rows if r.plan_id == plan_id
                                 and r.tariff_id == tariff_id), None)
            if previous is not None and previous.connector_id == connector_id:
                # Keep the chargingProfileId: the station replaces the profile by id.
                profile = profile.with_id(previous.charging_profile_id)
                if previous.profile == profile.to_ocpp():
                    return previous.id, profile
            elif allocate:
                taken = {r.charging_profile_id for r in rows} | {
                    r.charging_profile_id for r in await store.mirror(session, station_id)}
                profile = profile.with_id(
                    await store.allocate_profile_id(session, station_id, taken))
            new = InstalledProfile(connector_id, profile)
            # The charger's own replacement rule, applied to the desired set (§5.16.2).
            outcome = install(store.desired_as_installed(rows), new, max_profiles=max_profiles)
            if not outcome.accepted:
                raise Invalid("profile", outcome.reason or "too many profiles")
            replaced_ids = {p.profile.charging_profile_id for p in outcome.replaced}
            for row in rows:
                if row.charging_profile_id in replaced_ids or row is previous:
                    await session.delete(row)
            await session.flush()
            row = DesiredProfile(
                station_id=station_id, connector_id=connector_id,
                charging_profile_id=profile.charging_profile_id, purpose=str(profile.purpose),
                stack_level=profile.stack_level, transaction_id=profile.transaction_id,
                profile=profile.to_ocpp(), source=source, state="pending", attempts=0,
                plan_id=plan_id, tariff_id=tariff_id, created_at=now, updated_at=now)
            session.add(row)
            await session.flush()
            return row.id, profile

    # --- desired state owned by plans and tariffs -----------------------------------------
    async def put_managed(self, station_id: str, connector_id: int,
                          profile_json: Mapping[str, Any], *, plan_id: int | None = None,
                          tariff_id: int | None = None) -> int:
        """Materialise a plan's or a tariff's profile on one station (no call is made:
        the reconcile job delivers it). An unchanged profile is left alone; a changed one
        keeps its chargingProfileId so the station replaces it in place. Raises Invalid
        when the station cannot take it."""
        profile, view = await self.check_profile(station_id, connector_id, profile_json)
        source = "plan" if plan_id is not None else "tariff"
        async with self.lock(station_id):
            desired_id, _ = await self._store(
                station_id, connector_id, profile, True, view.limits.max_profiles, source,
                plan_id=plan_id, tariff_id=tariff_id)
        return desired_id

    async def remove_managed(self, station_id: str, *, plan_id: int | None = None,
                             tariff_id: int | None = None) -> int:
        """Drop a plan's or a tariff's profile from a station's desired set; the reconcile
        job then clears it from the station. Returns how many rows were removed."""
        async with self.lock(station_id), self._db.uow() as session:
            rows = [r for r in await store.desired(session, station_id)
                    if (plan_id is not None and r.plan_id == plan_id)
                    or (tariff_id is not None and r.tariff_id == tariff_id)]
            for row in rows:
                await session.delete(row)
            return len(rows)

    async def _deliver(self, station_id: str, desired_id: int) -> Outcome:
        """Send one desired profile (the caller holds the station's lock)."""
        now = self._clock()
        async with self._db.uow() as session:
            row = await session.get(DesiredProfile, desired_id)
            if row is None:
                return Outcome("error", "the profile was removed before delivery")
            row.attempts += 1
            row.last_attempt_at = now
            row.next_attempt_at = None
            connector_id, profile, attempts = row.connector_id, row.profile, row.attempts
        if attempts > 1:
            self.retries += 1
        profile_id = profile["chargingProfileId"]
        try:
            answer = await self._gateway.call(
                station_id, "SetChargingProfile",
                {"connectorId": connector_id, "csChargingProfiles": profile},
                desired_profile_id=desired_id)
        except StationOffline as exc:
            await self._record(desired_id, "pending", None, exc.reason)
            return Outcome("pending", f"station {station_id} went offline: the profile is "
                           "stored and will be delivered when it reconnects", exc.reason)
        except StationCallError as exc:
            # A timeout or CALLERROR is retried with backoff; after the last attempt the
            # delivery is failed until the station next connects.
            if attempts >= self._retry.max_attempts:
                await self._record(desired_id, "failed", None, exc.reason)
            else:
                retry_at = now + timedelta(seconds=self._retry.delay(attempts, self._rand()))
                await self._record(desired_id, "error", None, exc.reason, retry_at=retry_at)
            log.info("Profile %s not delivered to %s: %s", profile_id, station_id, exc.reason)
            return Outcome("error", f"SetChargingProfile failed: {exc.reason}", exc.reason)
        status = answer.get("status")
        if status == "Accepted":
            await self._record(desired_id, "accepted", answer, None,
                               mirror=InstalledProfile(connector_id,
                                                       ChargingProfile.from_ocpp(profile)))
            log.info("Profile %s accepted by %s", profile_id, station_id)
            return Outcome("success", f"profile {profile_id} accepted by {station_id}",
                           answer=answer)
        reason = f"station answered {status}"
        await self._record(desired_id, "rejected", answer, reason)
        log.info("Profile %s rejected by %s: %s", profile_id, station_id, reason)
        return Outcome("rejected", f"profile {profile_id} rejected by {station_id}", reason,
                       answer)

    async def _record(self, desired_id: int, state: str, answer: dict[str, Any] | None,
                      error: str | None, *, mirror: InstalledProfile | None = None,
                      retry_at: datetime | None = None) -> None:
        now = self._clock()
        async with self._db.uow() as session:
            row = await session.get(DesiredProfile, desired_id)
            if row is not None:
                row.state = state
                row.last_answer = answer
                row.last_error = error
                row.next_attempt_at = retry_at
                row.updated_at = now
            if mirror is not None and row is not None:
                mirrored = store.mirror_as_installed(await store.mirror(session, row.station_id))
                outcome = install(mirrored, mirror)
                await store.mirror_install(session, row.station_id, mirror, outcome.replaced,
                                           now)

    # --- clear -------------------------------------------------------------------------
    async def clear(self, station_id: str, *, profile_id: int | None = None,
                    connector_id: int | None = None, purpose: str | None = None,
                    stack_level: int | None = None) -> Cleared:
        await self.station_view(station_id)  # 404 for an unknown station
        purpose_enum = None
        if purpose is not None:
            try:
                purpose_enum = ChargingProfilePurpose(purpose)
            except ValueError:
                raise Invalid("purpose", "must be one of " + ", ".join(
                    p.value for p in ChargingProfilePurpose)) from None
        for name, value in (("profile_id", profile_id), ("connector_id", connector_id),
                            ("stack_level", stack_level)):
            if value is not None and value < 0:
                raise Invalid(name, "must be >= 0")
        filters = {k: v for k, v in (("profile_id", profile_id), ("connector_id", connector_id),
                                     ("purpose", purpose), ("stack_level", stack_level))
                   if v is not None}
        request: dict[str, Any] = {}
        for key, ocpp_key in (("profile_id", "id"), ("connector_id", "connectorId"),
                              ("purpose", "chargingProfilePurpose"),
                              ("stack_level", "stackLevel")):
            if key in filters:
                request[ocpp_key] = filters[key]

        def select_from(items: Sequence[InstalledProfile]) -> set[int]:
            result = clear(items, profile_id=profile_id, connector_id=connector_id,
                           purpose=purpose_enum, stack_level=stack_level)
            return {p.profile.charging_profile_id for p in result.removed}

        async with self.lock(station_id):
            async with self._db.uow() as session:
                rows = await store.desired(session, station_id)
                gone = select_from(store.desired_as_installed(rows))
                removed = [r for r in rows if r.charging_profile_id in gone]
                for row in removed:
                    await session.delete(row)
            if not self._gateway.is_connected(station_id):
                outcome = Outcome("pending", f"station {station_id} is offline: the desired "
                                  "profiles are removed and the station will be cleared when "
                                  "it reconnects")
                return Cleared(outcome, filters, removed)
            try:
                answer = await self._gateway.call(station_id, "ClearChargingProfile", request)
            except StationCallError as exc:
                return Cleared(Outcome("error", f"ClearChargingProfile failed: {exc.reason}",
                                       exc.reason), filters, removed)
            # Accepted: the station removed what matched; Unknown: nothing matched there.
            # Either way nothing matching is left on it (OCPP 1.6 §5.4).
            async with self._db.uow() as session:
                mirrored = store.mirror_as_installed(await store.mirror(session, station_id))
                await store.mirror_remove(session, station_id, select_from(mirrored))
        if answer.get("status") == "Accepted":
            outcome = Outcome("success", f"{station_id} cleared the matching profiles",
                              answer=answer)
        else:
            outcome = Outcome("success", f"nothing on {station_id} matched the filters "
                              f"(station answered {answer.get('status')})", answer=answer)
        return Cleared(outcome, filters, removed)

    # --- reconcile: make the station hold exactly the desired set ----------------------
    async def reconcile(self, station_id: str, *, force: bool = False,
                        push_all: bool = False) -> ReconcileReport:
        """Push what is missing or different, then clear what is extra.

        Pushing first never leaves a connector unlimited: a Set replaces by id (or by
        connector + stackLevel + purpose), and extras are only cleared afterwards.
        Rejected profiles stay rejected until they change; failed deliveries wait for
        their backoff, and after the last attempt for ``force`` (the station connected
        again). ``push_all`` re-sends every desired profile whatever the mirror says (a
        drift repair). Running it twice sends nothing the second time.
        """
        report = ReconcileReport(station_id)
        now = self._clock()
        async with self.lock(station_id):
            async with self._db.uow() as session:
                rows = await store.desired(session, station_id)
                mirrored = {r.charging_profile_id: r for r in
                            await store.mirror(session, station_id)}
                if force:
                    for row in rows:
                        if row.state in ("error", "failed"):
                            row.attempts, row.next_attempt_at = 0, None

            def due(row: DesiredProfile) -> bool:
                if row.state == "rejected" or (row.state == "failed" and not force):
                    return False
                if row.state == "error" and not force and row.next_attempt_at is not None:
                    return row.next_attempt_at <= now
                return True

            to_push = [
                r for r in rows if due(r) and (push_all or not (
                    (m := mirrored.get(r.charging_profile_id)) is not None
                    and m.connector_id == r.connector_id and m.profile == r.profile))
            ]
            to_push.sort(key=lambda r: (_PURPOSE_ORDER.get(r.purpose, 9), r.id))
            for row in to_push:
                if not self._gateway.is_connected(station_id):
                    return report
                outcome = await self._deliver(station_id, row.id)
                report.calls += 1
                report.pushed.append(row.charging_profile_id)
                if outcome.status not in ("success", "rejected"):
                    report.failures += 1
            async with self._db.uow() as session:
                wanted = {r.charging_profile_id for r in await store.desired(session, station_id)}
                extras = [r.charging_profile_id for r in await store.mirror(session, station_id)
                          if r.charging_profile_id not in wanted]
            for profile_id in extras:
                report.calls += 1
                try:
                    await self._gateway.call(station_id, "ClearChargingProfile",
                                             {"id": profile_id})
                except StationCallError as exc:
                    report.failures += 1
                    log.info("clearing profile %s on %s failed: %s", profile_id, station_id,
                             exc.reason)
                    continue
                async with self._db.uow() as session:
                    await store.mirror_remove(session, station_id, {profile_id})
                report.cleared.append(profile_id)
        return report

    # --- composite schedules -----------------------------------------------------------
    async def snapshot(self, station_id: str, *, from_desired: bool = False,
                       accepted_only: bool = False) -> Snapshot:
        """What composites of a station are computed from, read once: what the server
        believes it holds (or the desired set; ``accepted_only`` keeps the desired
        profiles the station acknowledged) and its running transactions."""
        view = await self.station_view(station_id)
        async with self._db.uow() as session:
            if from_desired:
                rows = await store.desired(session, station_id)
                if accepted_only:
                    rows = [r for r in rows if r.state == "accepted"]
                installed = store.desired_as_installed(rows)
            else:
                installed = store.mirror_as_installed(await store.mirror(session, station_id))
            transactions = (await session.scalars(select(TransactionRow).where(
                TransactionRow.station_id == station_id,
                TransactionRow.stopped_at.is_(None)))).all()
        # Only the latest transaction per connector is running.
        latest: dict[int, ActiveTransaction] = {}
        for tx in sorted(transactions, key=lambda t: t.started_at):
            latest[tx.connector_id] = ActiveTransaction(tx.id, tx.connector_id, tx.started_at)
        return Snapshot(view, tuple(installed), tuple(latest.values()))

    def composite_of(self, snapshot: Snapshot, connector_id: int, start: datetime,
                     duration: int, unit: ChargingRateUnit,
                     extra: Sequence[InstalledProfile] = ()) -> dict[str, Any]:
        installed = list(snapshot.installed)
        for item in extra:
            installed = list(install(installed, item).installed)
        schedule = composite_schedule(
            installed, connector_id, start, duration, unit, transactions=snapshot.transactions,
            number_of_connectors=snapshot.view.number_of_connectors, supply=self._supply,
            station_max_w=snapshot.view.max_power_w)
        return schedule.to_ocpp()

    async def expected(self, station_id: str, connector_id: int, start: datetime,
                       duration: int, unit: ChargingRateUnit, *,
                       extra: Sequence[InstalledProfile] = (),
                       from_desired: bool = False,
                       accepted_only: bool = False) -> dict[str, Any]:
        """The composite the station should report (see :meth:`snapshot`), plus ``extra``
        profiles for a preview."""
        snapshot = await self.snapshot(station_id, from_desired=from_desired,
                                       accepted_only=accepted_only)
        return self.composite_of(snapshot, connector_id, start, duration, unit, extra)

    async def composite(self, station_id: str, connector_id: int, duration: int,
                        unit: ChargingRateUnit) -> CompositeReport:
        view = await self.station_view(station_id)
        if connector_id < 0 or (view.limits.number_of_connectors is not None
                                and connector_id > view.limits.number_of_connectors):
            raise Invalid("connector_id", f"must be 0..{view.limits.number_of_connectors}")
        now = self._clock()
        try:
            async with self.lock(station_id):
                answer = await self._gateway.call(station_id, "GetCompositeSchedule", {
                    "connectorId": connector_id, "duration": duration,
                    "chargingRateUnit": unit.value})
        except StationCallError as exc:
            expected = await self.expected(station_id, connector_id, now, duration, unit)
            return CompositeReport(Outcome("error", f"GetCompositeSchedule failed: {exc.reason}",
                                           exc.reason), None, expected, None)
        start = now
        stamp = answer.get("scheduleStart") or (answer.get("chargingSchedule") or {}).get(
            "startSchedule")
        if stamp:
            start = parse_timestamp(stamp)
        expected = await self.expected(station_id, connector_id, start, duration, unit)
        if answer.get("status") != "Accepted":
            return CompositeReport(Outcome("rejected", f"{station_id} could not report a "
                                           "composite schedule", "station answered Rejected",
                                           answer), answer, expected, None)
        matches = schedules_match(answer, expected)
        message = ("the station's composite schedule matches the expected one" if matches
                   else "the station's composite schedule differs from the expected one")
        return CompositeReport(Outcome("success", message, answer=answer), answer, expected,
                               matches)

    async def list_desired(self, station_id: str) -> list[DesiredProfile]:
        await self.station_view(station_id)
        async with self._db.uow() as session:
            return await store.desired(session, station_id)
