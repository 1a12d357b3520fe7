"""Plans: one charging profile, materialised as desired state on many stations at once.

A plan names its targets by station id and by tag. Enabling or changing it stores one
desired profile per target station (``SmartChargingService.put_managed``), removes it
from stations no longer targeted, and asks the scheduler to reconcile the stations
touched: the reconcile job delivers, nothing here calls a charger. A target that is not
a registered station, or that cannot take the profile, is reported per station and does
not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import null, select

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.fleet_models import Plan
from app.db.models import DesiredProfile, Station
from app.domain.installation import InstalledProfile
from app.domain.ownership import Owner, OwnerKind
from app.domain.profiles import ChargingProfile, ChargingRateUnit, ProfileFormatError
from app.domain.protocol_rules import V16, V201, OcppVersion, ProtocolRules
from app.domain.states import DeliveryState, VerificationState
from app.domain.validation import validate_as_sent
from app.events import EventType
from app.json_types import JsonObject
from app.services.delivery.managed_profiles import in_request, owned_by
from app.services.delivery.smart_charging import InvalidProfile, SmartChargingService
from app.services.errors import Invalid, NotFound
from app.services.schedules.ports import JobScheduler

log = logging.getLogger("chargeplan.plans")

PREVIEW_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Targets:
    station_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # The same as sets: a plan naming 10,000 stations is asked about each station of the
    # fleet on every status poll, and a tuple answers in time proportional to its length.
    _ids: frozenset[str] = field(init=False, repr=False, compare=False)
    _tags: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ids", frozenset(self.station_ids))
        object.__setattr__(self, "_tags", frozenset(self.tags))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Targets:
        return cls(tuple(dict.fromkeys(data.get("station_ids") or ())),
                   tuple(dict.fromkeys(data.get("tags") or ())))

    def to_json(self) -> dict[str, list[str]]:
        return {"station_ids": list(self.station_ids), "tags": list(self.tags)}

    def names(self, station_id: str, tags: Sequence[str] | None) -> bool:
        """Whether a station with these tags is a target."""
        return station_id in self._ids or not self._tags.isdisjoint(tags or ())

    def check(self) -> None:
        if not self.station_ids and not self.tags:
            raise Invalid("targets", "name at least one station id or tag")


@dataclass(frozen=True)
class StationProblem:
    """Why one target station did not get (or would not get) the profile."""

    station_id: str
    field: str
    message: str


@dataclass
class Materialised:
    """What enabling or changing a plan or tariff did, station by station."""

    stations: list[str] = field(default_factory=list)
    removed_from: list[str] = field(default_factory=list)
    problems: list[StationProblem] = field(default_factory=list)


@dataclass(frozen=True)
class PlanSpec:
    name: str
    targets: Targets
    profile: Mapping[str, Any]
    connector_id: int = 0
    enabled: bool = True


@dataclass
class PlanResult:
    plan: Plan
    outcome: Materialised


@dataclass
class StationPreview:
    station_id: str
    composite: JsonObject | None
    problems: list[StationProblem]


class TargetState(StrEnum):
    """A target station's delivery: a :class:`DeliveryState`, or ``missing`` when the
    station is targeted but could not take the profile."""

    PENDING = DeliveryState.PENDING.value
    ACCEPTED = DeliveryState.ACCEPTED.value
    REJECTED = DeliveryState.REJECTED.value
    ERROR = DeliveryState.ERROR.value
    FAILED = DeliveryState.FAILED.value
    MISSING = "missing"


@dataclass
class StationStatus:
    station_id: str
    profile_id: int | None
    state: TargetState
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None
    verification_state: VerificationState | None
    last_verified_at: datetime | None


# --- shared by plans and tariffs --------------------------------------------------------
async def resolve_targets(db: Database, targets: Targets
                          ) -> tuple[list[str], list[StationProblem]]:
    """Registered stations named by id or carrying one of the tags, in id order, and a
    problem for each named id that is not registered."""
    async with db.uow() as session:
        stations = (await session.execute(select(Station.id, Station.tags))).all()
    known = {sid for sid, _ in stations}
    chosen = {sid for sid, tags in stations if targets.names(sid, tags)}
    problems = [StationProblem(sid, "targets.station_ids", "not a registered station")
                for sid in dict.fromkeys(targets.station_ids) if sid not in known]
    return sorted(chosen), problems


def problems_of(station_id: str, exc: Invalid | NotFound) -> list[StationProblem]:
    if isinstance(exc, InvalidProfile):
        return [StationProblem(station_id, v.path, str(v)) for v in exc.violations]
    if isinstance(exc, Invalid):
        return [StationProblem(station_id, exc.field, exc.rule)]
    return [StationProblem(station_id, "station_id", str(exc))]


async def materialise(db: Database, smart_charging: SmartChargingService,
                      scheduler: JobScheduler | None, targets: Targets | None,
                      connector_id: int, profile: Mapping[str, Any], *, reason: str,
                      owner: Owner, only: Collection[str] | None = None) -> Materialised:
    """Make the desired state hold ``profile`` on exactly the target stations (none when
    ``targets`` is None), then ask for a reconcile of every station touched. ``only``
    limits the work to these stations (their tags changed, or they are new)."""
    result = Materialised()
    stations: list[str] = []
    if targets is not None:
        stations, result.problems = await resolve_targets(db, targets)
    async with db.uow() as session:
        holding = set((await session.scalars(
            select(DesiredProfile.station_id).where(owned_by(owner)))).all())
    if only is not None:
        chosen = set(only)
        stations = [sid for sid in stations if sid in chosen]
        result.problems = [p for p in result.problems if p.station_id in chosen]
        holding &= chosen
    managed = await smart_charging.managed.put(stations, connector_id, profile, owner=owner)
    for station_id in stations:
        failure = managed.failures.get(station_id)
        if failure is not None:
            result.problems.extend(problems_of(station_id, failure))
        else:
            result.stations.append(station_id)
    # A station that cannot take the new version must not keep running the old one.
    result.removed_from = sorted(holding - set(result.stations))
    await smart_charging.managed.remove(result.removed_from, owner=owner)
    affected = sorted(set(result.stations) | set(result.removed_from))
    if affected and scheduler is not None:
        scheduler.request_reconcile(affected, reason)
    return result


async def delivery_status(db: Database, targets: Targets, *, owner: Owner
                          ) -> list[StationStatus]:
    """Per station: the delivery of its managed profile and the last verification.
    A targeted station without a row (it could not take the profile) shows ``missing``.

    Two reads whatever the fleet's size (it is polled while a plan fans out): the
    owner's desired rows, and every station's tags and verification."""
    async with db.uow() as session:
        rows = {r.station_id: r for r in (await session.execute(
            select(DesiredProfile.station_id, DesiredProfile.charging_profile_id,
                   DesiredProfile.state, DesiredProfile.attempts, DesiredProfile.last_error,
                   DesiredProfile.last_attempt_at).where(owned_by(owner)))).all()}
        # A station's tags are read (JSON, decoded per station) only when a tag targets.
        stations = (await session.execute(
            select(Station.id, Station.tags if targets.tags else null().label("tags"),
                   Station.verification_state, Station.last_verified_at))).all()
    targeted = {s.id for s in stations if targets.names(s.id, s.tags)}
    verified = {s.id: (s.verification_state, s.last_verified_at) for s in stations}
    result = []
    for sid in sorted(set(rows) | targeted):
        row = rows.get(sid)
        state, at = verified.get(sid, (None, None))
        result.append(StationStatus(
            station_id=sid, profile_id=row.charging_profile_id if row else None,
            state=TargetState(row.state) if row else TargetState.MISSING,
            attempts=row.attempts if row else 0,
            last_error=row.last_error if row else None,
            last_attempt_at=row.last_attempt_at if row else None,
            verification_state=state, last_verified_at=at))
    return result


# --- plans ----------------------------------------------------------------------------
class PlanService:
    def __init__(self, db: Database, smart_charging: SmartChargingService, *,
                 scheduler: JobScheduler | None = None, clock: Clock = utcnow) -> None:
        self._db = db
        self._smart = smart_charging
        # Set once the job scheduler runs; without one, stations get their profiles on
        # their next boot (which reconciles).
        self.scheduler = scheduler
        self._clock = clock

    # --- reading ------------------------------------------------------------------------
    async def list_all(self) -> list[Plan]:
        async with self._db.uow() as session:
            return list((await session.scalars(select(Plan).order_by(Plan.id))).all())

    async def get(self, plan_id: int) -> Plan:
        async with self._db.uow() as session:
            plan = await session.get(Plan, plan_id)
        if plan is None:
            raise NotFound("plan", plan_id)
        return plan

    # --- writing ------------------------------------------------------------------------
    async def create(self, spec: PlanSpec) -> PlanResult:
        await self._check(spec)
        now = self._clock()
        async with self._db.uow() as session:
            plan = Plan(name=spec.name, targets=spec.targets.to_json(),
                        connector_id=spec.connector_id, profile=dict(spec.profile),
                        enabled=spec.enabled, created_at=now, updated_at=now)
            session.add(plan)
            await session.flush()
        return PlanResult(plan, await self._apply(plan))

    async def replace(self, plan_id: int, spec: PlanSpec) -> PlanResult:
        await self._check(spec)
        async with self._db.uow() as session:
            plan = await session.get(Plan, plan_id)
            if plan is None:
                raise NotFound("plan", plan_id)
            plan.name = spec.name
            plan.targets = spec.targets.to_json()
            plan.connector_id = spec.connector_id
            plan.profile = dict(spec.profile)
            plan.enabled = spec.enabled
            plan.updated_at = self._clock()
        return PlanResult(plan, await self._apply(plan))

    async def delete(self, plan_id: int) -> Materialised:
        plan = await self.get(plan_id)
        outcome = await materialise(self._db, self._smart, self.scheduler, None,
                                    plan.connector_id, plan.profile, reason="plan",
                                    owner=Owner(OwnerKind.PLAN, plan_id))
        async with self._db.uow() as session:
            row = await session.get(Plan, plan_id)
            if row is not None:
                await session.delete(row)
        return outcome

    async def sync_station(self, station_id: str) -> None:
        """Re-materialise every enabled plan after a station's tags changed: it gains the
        plans that now target it and loses the ones that no longer do."""
        await self.sync_stations([station_id])

    async def sync_stations(self, station_ids: Sequence[str]) -> None:
        """:meth:`sync_station` for many stations, reading the plans once."""
        for plan in await self.list_all():
            await self._apply(plan, only=station_ids)

    async def _apply(self, plan: Plan, *, only: Collection[str] | None = None
                     ) -> Materialised:
        targets = Targets.from_json(plan.targets) if plan.enabled else None
        outcome = await materialise(self._db, self._smart, self.scheduler, targets,
                                    plan.connector_id, plan.profile, reason="plan",
                                    owner=Owner(OwnerKind.PLAN, plan.id), only=only)
        self._smart.events.emit(EventType.PLAN_APPLIED, plan_id=plan.id, name=plan.name,
                                stations=outcome.stations, removed_from=outcome.removed_from,
                                problems=len(outcome.problems))
        log.info("plan %s on %d stations, removed from %d, %d problems", plan.id,
                 len(outcome.stations), len(outcome.removed_from), len(outcome.problems))
        return outcome

    # --- dry run and status -------------------------------------------------------------
    async def preview(self, spec: PlanSpec) -> tuple[list[StationPreview],
                                                     list[StationProblem]]:
        """Per target station: the composite for the next 24 h (W) with this plan's profile
        added to its desired set, or why it cannot take it. Nothing is stored or sent.
        The second list holds targets that are not registered stations."""
        await self._check(spec)
        stations, unknown = await resolve_targets(self._db, spec.targets)
        now = self._clock()
        result = []
        for station_id in stations:
            try:
                checked, _ = await self._smart.check_profile(station_id, spec.connector_id,
                                                             spec.profile)
                composite = await self._smart.expected(
                    station_id, spec.connector_id, now, PREVIEW_SECONDS, ChargingRateUnit.W,
                    extra=[InstalledProfile(spec.connector_id, checked)], from_desired=True)
            except (Invalid, NotFound) as exc:
                result.append(StationPreview(station_id, None, problems_of(station_id, exc)))
                continue
            result.append(StationPreview(station_id, composite, []))
        return result, unknown

    async def _check(self, spec: PlanSpec) -> ChargingProfile:
        return check_spec(spec, await self._rules_of(spec.targets), at=self._clock())

    async def _rules_of(self, targets: Targets) -> ProtocolRules:
        """The rules a plan's profile is checked by before any station's own: 2.0.1's when
        every registered target speaks 2.0.1, else 1.6's (a plan whose targets are not
        registered yet included). Each target then checks it by its own version's."""
        async with self._db.uow() as session:
            stations = (await session.execute(
                select(Station.id, Station.tags, Station.ocpp_version))).all()
        versions = {version for sid, tags, version in stations if targets.names(sid, tags)}
        return V201 if versions == {OcppVersion.V201} else V16

    async def status(self, plan_id: int) -> list[StationStatus]:
        plan = await self.get(plan_id)
        targets = Targets.from_json(plan.targets) if plan.enabled else Targets()
        return await delivery_status(self._db, targets, owner=Owner(OwnerKind.PLAN, plan_id))


def check_spec(spec: PlanSpec, rules: ProtocolRules = V16, *,
               at: datetime | None = None) -> ChargingProfile:
    """Rules that do not depend on a station's limits, by the rules of ``rules``'s version
    (sent at ``at``): a 400 naming the field."""
    if not spec.name.strip():
        raise Invalid("name", "must not be empty")
    spec.targets.check()
    if spec.connector_id < 0:
        raise Invalid("connector_id", "must be >= 0")
    if "chargingProfileId" in spec.profile:
        raise Invalid("profile.chargingProfileId",
                      "must be absent: each station's id is allocated by the database")
    try:
        profile = ChargingProfile.from_ocpp(spec.profile, default_id=0)
    except ProfileFormatError as exc:
        raise InvalidProfile([v.prefixed("profile") for v in exc.violations]) from None
    violations = validate_as_sent(profile, spec.connector_id, rules=rules, sent_at=at)
    if violations:
        raise InvalidProfile(in_request(violations))
    return profile

