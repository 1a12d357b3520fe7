"""The closed loop of load management: solve a circuit tree, push each session's share.

Each running transaction below a circuit gets one Absolute TxProfile (in A, at
``stack_level``) carrying its limit timeline from the solve, stored as a desired profile
owned by the circuit the station hangs from (``Owner(CIRCUIT, circuit_id)``: the row's
``owner_id`` names the circuit) and delivered by the reconcile machinery. The circuit
keeps one row per connector of a station; the session a TxProfile limits is the row's
own ``connector_id`` and ``transaction_id`` (the profile's transactionId).

- **Decreases first.** Profiles that lower a session (or limit a new one, which draws
  what its charger allows until told) are stored and delivered first; the profiles that
  raise a session are stored only once every decrease of the same solve is Accepted, so
  the sum below a circuit never passes its limit in between.
- **Re-send only on a meaningful change**: a limit rising by at least 1 A, any decrease
  (held back, the sum below a circuit could stay above its limit), crossing the minimum or
  0, a different timeline, or a lease running out.
- **Lease.** Each profile carries ``validTo`` = now + ``lease_s`` (OCPP 1.6 errata
  §3.65/3.66 on validTo), renewed by re-planning before half of it is gone: a charger
  that stops hearing from chargeplan falls back to what its other profiles allow.
- Profiles of transactions that ended are dropped from the desired state.
- **Fail-safe.** Every station of the tree also holds one ChargePointMaxProfile on
  connector 0 owned by the circuit it hangs from, at its safe share, with ``validFrom`` at the end
  of the lease of the station's circuit TxProfiles: while chargeplan renews the leases it
  never starts; when chargeplan is gone, the TxProfiles expire and, at that same instant,
  the cap starts by the charger's own clock and bounds whatever else the charger holds
  (OCPP 1.6 §3.13.3: the ChargePointMaxProfile caps every connector). A station with
  several connectors falls back to one share in all (at or below its due).
- **Arrivals.** Every station of the tree also holds one TxDefaultProfile on connector 0
  owned by the circuit, at its *arrival allowance* (:mod:`app.domain.arrival`): what a
  car plugging in may draw before its own TxProfile comes (OCPP 1.6 §3.13.1: a TxProfile
  overrides the TxDefaultProfiles for its own transaction, so the default bounds only
  new transactions), such that every connector of the tree starting at once stays within
  what the sessions leave; 0 below the minimum. Lowering it is a decrease (sent and
  Accepted before any increase), raising it an increase; a new session's TxProfile is
  measured against the allowance it started under. It carries ``validTo`` at the end of
  its lease like the TxProfiles and counts among the leases the fail-safe cap starts at,
  so when chargeplan is gone the allowance ends as the safe share begins.

Re-plans of one tree are serialized (one lock per root circuit in this process).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.models import DesiredProfile, Station
from app.domain.activity import period_at, schedule_anchor
from app.domain.allocation import Period
from app.domain.circuit_profiles import amps_at
from app.domain.composite import ActiveTransaction
from app.domain.live_plan import fit_periods
from app.domain.ownership import Owner, OwnerKind
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfilePurpose,
    ChargingRateUnit,
    format_datetime,
    parse_datetime,
)
from app.domain.schedule_comparison import limit_at
from app.domain.states import DeliveryState
from app.events import EventType
from app.services.delivery.smart_charging import SmartChargingService
from app.services.errors import Invalid, NotFound
from app.services.load.circuit_plans import CircuitPlanner
from app.services.load.circuits import (
    CircuitService,
    SessionShare,
    TreeAllocation,
)
from app.services.ports import ChargerGateway, NoPeers, Peers

log = logging.getLogger("chargeplan.load")

# A limit must move by at least this much (A) to be sent again.
MEANINGFUL_CHANGE_A = 1.0


@dataclass(frozen=True)
class PlannedAllowance:
    """A station's arrival allowance (a TxDefaultProfile on connector 0) to store."""

    station_id: str
    circuit_id: str
    profile: dict[str, Any]


@dataclass(frozen=True)
class PlannedProfile:
    session: SessionShare
    profile: dict[str, Any]
    limit_now: float
    previous_now: float | None  # None: the session had no circuit profile yet


@dataclass
class Replan:
    """What one re-plan of a tree did."""

    root_id: str
    trigger: str
    at: datetime
    decreases: list[int] = field(default_factory=list)  # transaction ids
    increases: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # increases waiting for decreases
    removed: list[int] = field(default_factory=list)
    fail_safe: list[str] = field(default_factory=list)  # stations whose cap was (re)sent
    # Stations whose arrival allowance was (re)sent, lowered or raised.
    arrivals: list[str] = field(default_factory=list)
    # Per circuit of the tree, its headroom per phase in the solve; sessions not admitted.
    headroom: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    paused: int = 0
    seconds: float = 0.0
    # "planner", or "water level: <why>" (None: the tree had no session to plan).
    decided_by: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the re-plan stored, held or removed anything."""
        return bool(self.decreases or self.increases or self.held or self.removed
                    or self.fail_safe or self.arrivals)


def _profile_share(row: DesiredProfile, at: datetime, running: ActiveTransaction | None,
                   voltage: float) -> ProfileShare:
    profile = ChargingProfile.from_ocpp(row.profile)
    unit = str(profile.schedule.charging_rate_unit)
    if profile.purpose is ChargingProfilePurpose.TX_PROFILE and (
            running is None or profile.transaction_id not in (None, running.transaction_id)):
        return ProfileShare(row, None, unit)  # OCPP 1.6 §3.13.3: only for its transaction
    anchor = schedule_anchor(profile, at, running.start if running is not None else None)
    period = period_at(profile, anchor, at)
    if period is None:
        return ProfileShare(row, None, unit)
    # In A per phase too, to compare with the composite (W over voltage x numberPhases).
    amps = period.limit if unit == "A" else period.limit / (voltage * (period.number_phases or 3))
    return ProfileShare(row, period.limit, unit, round(amps, 1))


def _timeline(profile: Mapping[str, Any], voltage: float) -> list[tuple[datetime, float]]:
    """The profile's periods, each limit in A per phase."""
    schedule = profile["chargingSchedule"]
    start = parse_datetime(schedule["startSchedule"])
    return [(start + timedelta(seconds=p["startPeriod"]),
             amps_at(profile, start + timedelta(seconds=p["startPeriod"]), voltage))
            for p in schedule["chargingSchedulePeriod"]]


def meaningful(old: Mapping[str, Any], new: Mapping[str, Any], at: datetime,
               minimum: float, renew_before: datetime, voltage: float) -> bool:
    """Whether ``new`` is worth sending in place of ``old`` at ``at``."""
    valid_to = old.get("validTo")
    if valid_to is None or parse_datetime(valid_to) <= renew_before:
        return True
    if old.get("transactionId") != new.get("transactionId"):
        return True
    if old["chargingSchedule"]["chargingRateUnit"] != new["chargingSchedule"][
            "chargingRateUnit"]:
        return True
    before = [(t, v) for t, v in _timeline(old, voltage) if t > at]
    after = [(t, v) for t, v in _timeline(new, voltage) if t > at]
    if [t for t, _ in before] != [t for t, _ in after]:
        return True
    pairs = [(amps_at(old, at, voltage), amps_at(new, at, voltage))]
    pairs += [(a, b) for (_, a), (_, b) in zip(before, after, strict=True)]
    for a, b in pairs:
        # A decrease goes out whatever its size: held back, the sum could pass a limit.
        if b < a or b - a >= MEANINGFUL_CHANGE_A:
            return True
        if (a == 0) != (b == 0) or (a < minimum) != (b < minimum):
            return True
    return False


@dataclass(frozen=True)
class ProfileShare:
    """A desired profile of a connector (or of the station, connector 0) at an instant."""

    row: DesiredProfile
    limit: float | None  # in its unit; None when it is not in force
    unit: str
    limit_a: float | None = None  # the same in A per phase


@dataclass(frozen=True)
class ConnectorLimit:
    """What limits a connector at ``at``, and why."""

    station_id: str
    connector_id: int
    at: datetime
    limit_a: float  # the composite of the desired profiles, in A
    profiles: tuple[ProfileShare, ...]
    circuit_id: str | None
    transaction_id: int | None
    share: SessionShare | None  # the circuit's share for the running transaction
    safe_share_a: float | None
    # From the plan of its tree: need_source, planned_kwh, shortfall_kwh,
    # shortfall_reason, decided_by (empty when the tree was not planned).
    planned: Mapping[str, Any] = field(default_factory=dict)


class LoadManager:
    def __init__(self, db: Database, circuits: CircuitService,
                 smart_charging: SmartChargingService, gateway: ChargerGateway, *,
                 stack_level: int, lease_s: int, horizon_s: int, voltage: float = 230.0,
                 clock: Clock = utcnow, peers: Peers | None = None,
                 planner: CircuitPlanner | None = None) -> None:
        self._db = db
        self._planner = planner
        self.peers: Peers = peers or NoPeers()
        self._circuits = circuits
        self._smart_charging = smart_charging
        self._gateway = gateway
        self._stack_level = stack_level
        self._lease = timedelta(seconds=lease_s)
        self._horizon_s = horizon_s
        self._voltage = voltage
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self.last: dict[str, Replan] = {}  # per root circuit
        self.solves = 0
        self.solve_seconds = 0.0

    async def explain(self, station_id: str, connector_id: int,
                      at: datetime | None = None) -> ConnectorLimit:
        """The connector's limit at ``at`` (default now): the composite of the station's
        desired profiles, each profile with its owner and its limit then, and the circuit's
        share with the constraint that binds it."""
        at = at or self._clock()
        snapshot = await self._smart_charging.snapshot(station_id, from_desired=True)
        if not 1 <= connector_id <= (snapshot.view.number_of_connectors or connector_id):
            raise Invalid("connector_id", "must be a connector of the station (1 or more, up "
                          "to its NumberOfConnectors)")
        composite = self._smart_charging.composite_of(snapshot, connector_id, at, 60,
                                                      ChargingRateUnit.A)
        limit = float(composite["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"])
        running = next((t for t in snapshot.transactions if t.connector_id == connector_id),
                       None)
        async with self._db.uow() as session:
            rows = (await session.scalars(
                select(DesiredProfile).where(DesiredProfile.station_id == station_id,
                                             DesiredProfile.connector_id.in_((0, connector_id)))
                .order_by(DesiredProfile.connector_id, DesiredProfile.stack_level.desc()))).all()
            station = await session.get(Station, station_id)
        profiles = tuple(_profile_share(row, at, running, self._voltage) for row in rows)
        circuit_id = station.circuit_id if station is not None else None
        share: SessionShare | None = None
        safe: float | None = None
        planned: dict[str, Any] = {}
        if circuit_id is not None:
            solved = await self.allocation(circuit_id, at)
            safe = solved.safe_shares.get(station_id)
            share = next((s for s in solved.sessions if running is not None
                          and s.transaction_id == running.transaction_id), None)
            found = (None if share is None or solved.plan is None
                     else solved.plan.sessions.get(share.transaction_id))
            if found is not None and solved.plan is not None:
                planned = {"need_source": found.need_source,
                           "planned_kwh": found.planned_kwh,
                           "shortfall_kwh": found.shortfall_kwh,
                           "shortfall_reason": found.shortfall_reason,
                           "decided_by": solved.plan.decided_by}
        return ConnectorLimit(station_id, connector_id, at, limit, profiles, circuit_id,
                              None if running is None else running.transaction_id, share, safe,
                              planned)

    async def allocation(self, circuit_id: str, at: datetime | None = None) -> TreeAllocation:
        """The solve of the tree holding the circuit at ``at`` (default now), planned ahead
        when one of its sessions has a need (:mod:`app.services.load.circuit_plans`)."""
        if self._planner is None:
            return await self._circuits.allocation(circuit_id, at)
        return await self._planner.plan(
            await self._circuits.allocation(circuit_id, at, self._horizon_s))

    async def replan_stations(self, station_ids: Sequence[str], trigger: str) -> list[Replan]:
        """Re-plan the trees the stations hang from."""
        return [await self.replan(root, trigger)
                for root in await self._circuits.roots(station_ids)]

    async def replan_all(self, trigger: str) -> list[Replan]:
        replans = [await self.replan(root, trigger) for root in await self._circuits.roots()]
        await self.release()
        return replans

    async def release(self, station_ids: Sequence[str] | None = None) -> list[str]:
        """Drop the circuit profiles no circuit stands behind any more (a circuit was
        deleted, a station moved) on ``station_ids`` (None: every station), and have
        those stations cleared; the stations touched. The trees such stations hang from
        now are re-planned first: their profiles replace the old circuit's in the same
        slot, so a moved station is never left without a circuit limit in between, even
        when a re-plan of its old tree was under way as it moved."""
        strays = sorted({sid for sid, _ in await self._stray_rows(station_ids)})
        if not strays:
            return []
        for root in await self._circuits.roots(strays):
            await self.replan(root, "station moved")
        # A re-plan of the old tree may be under way on this node: it solved before the
        # station moved and would store the old circuit's share after the release. Let the
        # re-plans running here end first (one at a time per tree, so taking every tree's
        # lock in order cannot deadlock); the interval sweep releases what a re-plan on
        # another node stores late.
        async with AsyncExitStack() as held:
            for root in sorted(self._locks):
                await held.enter_async_context(self._locks[root])
            released = await self._release_strays(strays)
        await self._reconcile(released)
        return released

    async def _stray_rows(self, station_ids: Sequence[str] | None
                          ) -> list[tuple[str, str | None]]:
        """(station, owning circuit) of the desired rows owned by a circuit the station
        does not hang from (``station_ids`` only, or all)."""
        query = (select(DesiredProfile.station_id, DesiredProfile.owner_id).distinct()
                 .join(Station, Station.id == DesiredProfile.station_id)
                 .where(DesiredProfile.owner_kind == OwnerKind.CIRCUIT,
                        or_(Station.circuit_id.is_(None),
                            Station.circuit_id != DesiredProfile.owner_id)))
        if station_ids is not None:
            if not station_ids:
                return []
            query = query.where(DesiredProfile.station_id.in_(sorted(set(station_ids))))
        async with self._db.uow() as session:
            return [(sid, owner) for sid, owner in (await session.execute(query)).all()]

    async def _release_strays(self, station_ids: Sequence[str]) -> list[str]:
        """Remove the stray rows of the stations. Without this a station taken off a
        circuit kept its last share until the lease ran out, and then its fail-safe cap
        for good."""
        strays = await self._stray_rows(station_ids)
        by_owner: dict[str, list[str]] = {}
        for station_id, owner_id in strays:
            if owner_id is not None:  # a circuit's rows always name it
                by_owner.setdefault(owner_id, []).append(station_id)
        for owner_id, ids in by_owner.items():
            log.info("circuit %s no longer holds %s: its profiles there are dropped",
                     owner_id, ", ".join(sorted(ids)))
            await self._smart_charging.managed.remove(ids, owner=Owner(OwnerKind.CIRCUIT,
                                                                       owner_id))
        return sorted({sid for ids in by_owner.values() for sid in ids})

    async def replan(self, circuit_id: str, trigger: str) -> Replan:
        """Re-plan the tree holding the circuit: one re-plan of a tree at a time, on this
        node and (several nodes on one PostgreSQL) across nodes, so that two never store
        and send shares of the same tree side by side."""
        root = await self._circuits.root_of(circuit_id)
        async with self._locks.setdefault(root, asyncio.Lock()):
            return await self.peers.exclusive(f"circuit:{root}",
                                              lambda: self._replan(root, trigger))

    async def _replan(self, circuit_id: str, trigger: str) -> Replan:
        began = asyncio.get_running_loop().time()
        now = self._clock()
        solved = await self._circuits.allocation(circuit_id, now, self._horizon_s)
        if self._planner is not None:
            solved = await self._planner.plan(solved, replan=True)
        result = Replan(solved.root_id, trigger, now)
        result.decided_by = None if solved.plan is None else solved.plan.decided_by
        result.headroom = {c.circuit.id: c.load.headroom_a for c in solved.circuits}
        result.paused = sum(1 for s in solved.sessions if not s.share.admitted)
        await self._apply(solved, result)
        result.seconds = asyncio.get_running_loop().time() - began
        self.solves += 1
        self.solve_seconds += result.seconds
        self.last[solved.root_id] = result
        if trigger == "meter" and not result.changed:
            # Meter samples re-plan often; a re-plan that sent and removed nothing is
            # not news (the allocation endpoint still shows it as the last solve).
            log.debug("circuit %s re-planned (meter): nothing changed", solved.root_id)
            return result
        self._smart_charging.events.emit(
            EventType.CIRCUIT_REPLANNED, circuit_id=solved.root_id, trigger=trigger,
            sessions=[{"transaction_id": s.transaction_id, "station_id": s.station_id,
                       "connector_id": s.connector_id, "circuit_id": s.circuit_id,
                       "limit_a": s.share.limit_a, "binding": s.share.binding}
                      for s in solved.sessions],
            decreases=result.decreases, increases=result.increases, held=result.held,
            decided_by=result.decided_by)
        log.info("circuit %s re-planned (%s): %d down, %d up, %d held, %d unchanged, "
                 "%d removed", solved.root_id, trigger, len(result.decreases),
                 len(result.increases), len(result.held), len(result.unchanged),
                 len(result.removed))
        return result

    async def _apply(self, solved: TreeAllocation, result: Replan) -> None:
        now = solved.at
        previous = await self._circuit_rows({s.station_id for s in solved.sessions}
                                            | await self._stations_with_rows(solved))
        running = {s.transaction_id for s in solved.sessions}
        offers = await self._car_offers(running)
        renew_before = now + self._lease / 2
        watts_only = await self._watts_only(set(solved.safe_shares))
        max_periods = await self._max_periods({s.station_id for s in solved.sessions})
        volts = self._voltage
        allowed = await self._allowance_rows(set(solved.safe_shares))
        lower, raise_ = await self._plan_allowances(solved, allowed, watts_only, renew_before)
        decreases: list[PlannedProfile] = []
        increases: list[PlannedProfile] = []
        for session in solved.sessions:
            profile = self._profile(session, solved.periods.get(session.transaction_id), now,
                                    watts=session.station_id in watts_only,
                                    max_periods=max_periods.get(session.station_id))
            old = previous.get(session.transaction_id)
            if old is not None and old.owner_id != session.circuit_id:
                old = None  # the station moved: the old circuit's row is not a base
            offer = offers.get(session.transaction_id)
            before: float | None
            if old is not None:
                before = amps_at(old.profile, now, volts)
            elif offer is not None:  # the car draws what it was offered (a TxProfile)
                before = amps_at(offer.profile, now, volts)
            else:
                before = self._allowance_now(allowed.get(session.station_id), now)
            # A new session draws what the allowance it started under (or the offer made
            # to its car) lets it: its own profile raises it from there or lowers it.
            planned = PlannedProfile(session, profile, amps_at(profile, now, volts), before)
            if old is not None and not meaningful(old.profile, profile, now,
                                                  session.min_current_a, renew_before, volts):
                result.unchanged.append(session.transaction_id)
            elif planned.previous_now is None or planned.limit_now < planned.previous_now:
                decreases.append(planned)
            else:
                increases.append(planned)
        stale = {tx: row for tx, row in previous.items() if tx not in running}
        for tx, row in stale.items():
            await self._smart_charging.remove_managed(
                row.station_id, owner=row.owner, connector_id=row.connector_id)
            result.removed.append(tx)
        self._circuits.forget_sessions(result.removed)

        # Decreases first: lowered shares and lowered arrival allowances, Accepted before
        # anything (a share or an allowance) goes up.
        await self._store(decreases)
        lowered = await self._store_allowances(lower)
        result.decreases = [p.session.transaction_id for p in decreases]
        # A station that refused its circuit limit (Rejected, or failed after every
        # attempt) draws what it held before, perhaps nothing at all: a later solve that
        # finds its row unchanged must not take that as a decrease done, so the tree's
        # increases wait until it takes a limit again.
        refused = {row.station_id for row in (*previous.values(), *allowed.values())
                   if row.state in (DeliveryState.REJECTED, DeliveryState.FAILED)}
        if refused or ((decreases or lowered)
                       and not await self._delivered(decreases, lowered)):
            result.held = [p.session.transaction_id for p in increases]
            increases, raise_ = [], []
        await self._store(increases)
        raised = await self._store_allowances(raise_)
        result.increases = [p.session.transaction_id for p in increases]
        result.arrivals = sorted({*lowered, *raised})
        result.fail_safe = await self._fail_safe(solved, renew_before)
        touched = sorted({p.session.station_id for p in increases} | set(raised)
                         | {r.station_id for r in stale.values()} | set(result.fail_safe))
        await self._reconcile(touched)
        await self._withdraw_offers(offers)

    async def _withdraw_offers(self, offers: Mapping[int, DesiredProfile]) -> None:
        """Drop the TxProfile offered to a car whose station holds its circuit's TxProfile
        now: under it the offer limits nothing (within a purpose the highest stack level
        prevails, OCPP 1.6 §3.13.1, and the offer's is 0), and the circuit's plan is the
        car's answer. Dropped only once the circuit's is Accepted, so the car never runs
        on neither; the reconcile then clears the offer from the station."""
        if not offers:
            return
        held = await self._circuit_rows({o.station_id for o in offers.values()})
        for tx, offer in offers.items():
            row = held.get(tx)
            if row is not None and row.state == DeliveryState.ACCEPTED:
                await self._smart_charging.remove_managed(offer.station_id, owner=offer.owner)

    async def _fail_safe(self, solved: TreeAllocation, renew_before: datetime) -> list[str]:
        """Store the safe-share cap of every station of the tree whose cap changed."""
        now = solved.at
        leases: dict[str, datetime] = {}
        stations = set(solved.safe_shares)
        for row in [*(await self._circuit_rows(stations)).values(),
                    *(await self._allowance_rows(stations)).values()]:
            valid_to = row.profile.get("validTo")
            if valid_to is not None:
                end = parse_datetime(valid_to)
                leases[row.station_id] = min(end, leases.get(row.station_id, end))
        caps = await self._caps(set(solved.safe_shares))
        circuit_of = await self._circuit_of(set(solved.safe_shares))
        sent: list[str] = []
        for station_id, share in solved.safe_shares.items():
            circuit_id = circuit_of.get(station_id)
            if share is None or circuit_id is None:
                continue
            starts = leases.get(station_id)
            old = caps.get(station_id)
            if old is not None and old.owner_id != circuit_id:
                old = None  # the station moved: its new circuit's cap replaces it
            if starts is None:
                old_start = None if old is None else old.profile.get("validFrom")
                if (old is not None and limit_at(old.profile, now, hold=True) == share
                        and old_start is not None
                        and parse_datetime(old_start) > renew_before):
                    continue
                starts = now + self._lease
            profile = self._cap_profile(share, starts, now)
            if old is not None and old.profile.get("validFrom") == profile["validFrom"] \
                    and limit_at(old.profile, now, hold=True) == share:
                continue
            try:
                await self._smart_charging.put_managed(
                    station_id, 0, profile, owner=Owner(OwnerKind.CIRCUIT, circuit_id))
            except (Invalid, NotFound) as exc:
                log.warning("fail-safe cap on %s refused: %s", station_id, exc)
                continue
            sent.append(station_id)
        return sent

    def _cap_profile(self, share: float, starts: datetime, now: datetime) -> dict[str, Any]:
        return {
            "stackLevel": self._stack_level,
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Absolute",
            "validFrom": format_datetime(starts),
            "chargingSchedule": {
                "startSchedule": format_datetime(now),
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": share}],
            },
        }

    async def _caps(self, station_ids: set[str]) -> dict[str, DesiredProfile]:
        """The circuits' fail-safe caps (ChargePointMaxProfiles) on the stations."""
        return await self._station_rows(station_ids,
                                        ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE)

    async def _allowance_rows(self, station_ids: set[str]) -> dict[str, DesiredProfile]:
        """The circuits' arrival allowances (TxDefaultProfiles) on the stations."""
        return await self._station_rows(station_ids,
                                        ChargingProfilePurpose.TX_DEFAULT_PROFILE)

    async def _station_rows(self, station_ids: set[str], purpose: ChargingProfilePurpose
                            ) -> dict[str, DesiredProfile]:
        """Per station, the circuit-owned row of ``purpose`` on connector 0 (a circuit
        keeps one of each there)."""
        if not station_ids:
            return {}
        async with self._db.uow() as session:
            rows = (await session.scalars(
                select(DesiredProfile).where(
                    DesiredProfile.station_id.in_(sorted(station_ids)),
                    DesiredProfile.owner_kind == OwnerKind.CIRCUIT,
                    DesiredProfile.connector_id == 0,
                    DesiredProfile.purpose == purpose))).all()
        return {r.station_id: r for r in rows}

    def _allowance_now(self, row: DesiredProfile | None, now: datetime) -> float | None:
        """What the station's arrival allowance lets a new car draw now (None: nothing
        bounds it, no allowance or its lease is over)."""
        if row is None:
            return None
        valid_to = row.profile.get("validTo")
        if valid_to is not None and parse_datetime(valid_to) <= now:
            return None
        limit = limit_at(row.profile, now, hold=True)  # in W: what one phase at this current draws
        return limit if row.profile["chargingSchedule"]["chargingRateUnit"] == "A" \
            else limit / self._voltage

    async def _plan_allowances(self, solved: TreeAllocation,
                               allowed: Mapping[str, DesiredProfile], watts_only: set[str],
                               renew_before: datetime
                               ) -> tuple[list[PlannedAllowance], list[PlannedAllowance]]:
        """The arrival allowances that go down (or are new) and those that go up."""
        now = solved.at
        amps = self._circuits.arrival_allowances(solved, now + self._lease)
        circuit_of = await self._circuit_of(set(amps))
        lower: list[PlannedAllowance] = []
        raise_: list[PlannedAllowance] = []
        for station_id, allowance in sorted(amps.items()):
            circuit_id = circuit_of.get(station_id)
            if circuit_id is None:
                continue
            profile = self._allowance_profile(allowance, now,
                                              watts=station_id in watts_only)
            old = allowed.get(station_id)
            if old is not None and old.owner_id != circuit_id:
                old = None  # the station moved: the old circuit's row is not a base
            if old is not None and not meaningful(old.profile, profile, now,
                                                  self._circuits.min_current_a,
                                                  renew_before, self._voltage):
                continue
            before = self._allowance_now(old, now)
            planned = PlannedAllowance(station_id, circuit_id, profile)
            (lower if before is None or allowance < before else raise_).append(planned)
        return lower, raise_

    def _allowance_profile(self, amps: float, now: datetime, *,
                           watts: bool = False) -> dict[str, Any]:
        """The arrival allowance as a TxDefaultProfile for connector 0. In W for a charger
        that takes only W: A x voltage, what one phase at that current draws, so that a
        one-phase car gets at most ``amps`` and a three-phase one a third on each phase."""
        return {
            "stackLevel": self._stack_level,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "validTo": format_datetime(now + self._lease),
            "chargingSchedule": {
                "startSchedule": format_datetime(now),
                "chargingRateUnit": "W" if watts else "A",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0,
                     "limit": round(amps * self._voltage, 1) if watts else amps}],
            },
        }

    async def _store_allowances(self, planned: Sequence[PlannedAllowance]) -> list[str]:
        """Store the allowances; the stations that took them."""
        stored = []
        for p in planned:
            try:
                await self._smart_charging.put_managed(
                    p.station_id, 0, p.profile, owner=Owner(OwnerKind.CIRCUIT, p.circuit_id))
            except (Invalid, NotFound) as exc:  # no room or no stack level: say so, go on
                log.warning("arrival allowance on %s refused: %s", p.station_id, exc)
                continue
            stored.append(p.station_id)
        return stored

    async def _circuit_of(self, station_ids: set[str]) -> dict[str, str]:
        """The circuit each station hangs from."""
        async with self._db.uow() as session:
            rows = (await session.execute(
                select(Station.id, Station.circuit_id)
                .where(Station.id.in_(sorted(station_ids))))).all()
        return {sid: cid for sid, cid in rows if cid is not None}

    async def _watts_only(self, station_ids: set[str]) -> set[str]:
        """Stations whose ChargingScheduleAllowedChargingRateUnit (OCPP 1.6 §9.4) lists
        Power but not Current: their profiles go out in W."""
        if not station_ids:
            return set()
        async with self._db.uow() as session:
            rows = (await session.execute(
                select(Station.id, Station.charging_schedule_allowed_charging_rate_unit)
                .where(Station.id.in_(sorted(station_ids))))).all()
        found = set()
        for station_id, units in rows:
            allowed = {u.strip() for u in (units or "").split(",") if u.strip()}
            if "Power" in allowed and "Current" not in allowed:
                found.add(station_id)
        return found

    async def _max_periods(self, station_ids: set[str]) -> dict[str, int]:
        """Stations that reported ChargingScheduleMaxPeriods (OCPP 1.6 §9.4: the most
        periods a schedule may hold), and that number."""
        if not station_ids:
            return {}
        async with self._db.uow() as session:
            rows = (await session.execute(
                select(Station.id, Station.charging_schedule_max_periods)
                .where(Station.id.in_(sorted(station_ids))))).all()
        return {station_id: n for station_id, n in rows if n is not None}

    def _profile(self, session: SessionShare, periods: Sequence[Period] | None,
                 now: datetime, *, watts: bool = False,
                 max_periods: int | None = None) -> dict[str, Any]:
        """The session's TxProfile: in A per phase, or in W (A x voltage x the phases it
        draws on, with numberPhases) for a charger that takes only W. Its timeline is
        merged to the station's ChargingScheduleMaxPeriods, never above any period."""
        steps = fit_periods(periods or (Period(0, session.share.limit_a),), max_periods,
                            self._horizon_s)
        number_phases = len(session.phases)
        factor = self._voltage * number_phases if watts else 1.0
        return {
            "chargingProfileId": 0,  # the station's next id, or the one this row had
            "transactionId": session.transaction_id,
            "stackLevel": self._stack_level,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "validTo": format_datetime(now + self._lease),
            "chargingSchedule": {
                "startSchedule": format_datetime(now),
                "duration": self._horizon_s,
                "chargingRateUnit": "W" if watts else "A",
                "chargingSchedulePeriod": [
                    {"startPeriod": p.start_s, "limit": round(p.limit_a * factor, 1),
                     "numberPhases": number_phases}
                    for p in steps
                ],
            },
        }

    async def _store(self, planned: Sequence[PlannedProfile]) -> None:
        for p in planned:
            body = {k: v for k, v in p.profile.items() if k != "chargingProfileId"}
            try:
                await self._smart_charging.put_managed(
                    p.session.station_id, p.session.connector_id, body,
                    owner=Owner(OwnerKind.CIRCUIT, p.session.circuit_id))
            except (Invalid, NotFound) as exc:  # the station cannot take it: say so, go on
                log.warning("circuit profile for transaction %s on %s refused: %s",
                            p.session.transaction_id, p.session.station_id, exc)

    async def _reconcile(self, station_ids: Sequence[str]) -> None:
        await self._smart_charging.reconcile_by_owners(station_ids)

    async def _delivered(self, planned: Sequence[PlannedProfile],
                         allowances: Sequence[str] = ()) -> bool:
        """Deliver the decreases (shares, and the allowances of the listed stations) now;
        whether every one of them is Accepted."""
        await self._reconcile(sorted({p.session.station_id for p in planned}
                                     | set(allowances)))
        rows = await self._circuit_rows({p.session.station_id for p in planned})
        states = [rows[p.session.transaction_id].state if p.session.transaction_id in rows
                  else None for p in planned]
        lowered = await self._allowance_rows(set(allowances))
        states += [lowered[s].state if s in lowered else None for s in allowances]
        return all(state == DeliveryState.ACCEPTED for state in states)

    async def _stations_with_rows(self, solved: TreeAllocation) -> set[str]:
        """Stations of the tree that still hold circuit rows (ended transactions)."""
        async with self._db.uow() as session:
            tree = [c.circuit.id for c in solved.circuits]
            return set((await session.scalars(
                select(DesiredProfile.station_id).distinct()
                .join(Station, Station.id == DesiredProfile.station_id)
                .where(Station.circuit_id.in_(tree),
                       DesiredProfile.owner_kind == OwnerKind.CIRCUIT))).all())

    async def _car_offers(self, transaction_ids: set[int]) -> dict[int, DesiredProfile]:
        """The TxProfiles offered to the cars of these transactions (OCPP 2.0.1
        NotifyEVChargingNeeds answered before a circuit planned them), by transaction."""
        if not transaction_ids:
            return {}
        async with self._db.uow() as session:
            rows = (await session.scalars(
                select(DesiredProfile).where(
                    DesiredProfile.owner_kind == OwnerKind.EV,
                    DesiredProfile.transaction_id.in_(sorted(transaction_ids))))).all()
        return {r.transaction_id: r for r in rows if r.transaction_id is not None}

    async def _circuit_rows(self, station_ids: set[str]) -> dict[int, DesiredProfile]:
        """The circuits' TxProfiles on the stations, by the transaction each limits."""
        if not station_ids:
            return {}
        async with self._db.uow() as session:
            rows = (await session.scalars(
                select(DesiredProfile).where(
                    DesiredProfile.station_id.in_(sorted(station_ids)),
                    DesiredProfile.owner_kind == OwnerKind.CIRCUIT,
                    DesiredProfile.transaction_id.is_not(None)))).all()
        return {r.transaction_id: r for r in rows if r.transaction_id is not None}
