"""Verification: does the station apply what it acknowledged?

Chargers answer Accepted and apply nothing, forget their profiles on a reboot, or apply
another purpose than asked (field reports in the OCPP community). The only proof a 1.6
central system can get is GetCompositeSchedule (OCPP 1.6 §5.7): the station's own
answer to "what will you draw", compared with the composite the server computes from the
profiles the station acknowledged.

Drift means a limit the station accepted is not applied, nothing more:

- Only the instants an acknowledged profile bounds are compared. Elsewhere the station
  reports its own value (a rated maximum, 48 A, -1...): it is learned (the station's
  unconstrained value) and never called drift. A connector no acknowledged profile bounds
  is not asked at all.
- The question is asked in the unit of the connector's acknowledged profiles when they
  share one, so no A<->W convention enters the comparison.
- Chargers answer differently where the spec is silent (``Convention``): an answer any
  convention explains is a match, and the convention that explained it is recorded and
  tried first next time. When several explain it, the station's recorded convention
  wins; else the most specific one, the one that compares more of the window
  (``schedule_comparison.explanation``), strict first on a tie.
- Connector 0 is asked like any other connector: its composite is the connectors' sum,
  bounded where every connector is (a ChargePointMaxProfile bounds them all); where one
  connector is unbounded the sum is partly the charger's own value, not a question.
- ``Rejected``, or ``Accepted`` without a schedule, for a connector that holds an
  acknowledged profile: the station cannot show what it applies. The connector is
  ``unverifiable`` with that reason; nothing is repaired.

Drift is repaired by re-pushing the desired profiles (Set replaces by id, extras are
cleared afterwards, so no connector is ever unlimited in between), at most
``max_repairs`` times (:func:`delivery_rules.drift_decision`, the rule read-back drift
follows too).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update

from app.clock import Clock, utcnow
from app.db.batching import BatchLoader, GroupCommit
from app.db.engine import Database
from app.db.fleet_models import Verification
from app.db.models import Station
from app.domain.composite import CompositeAnswer, Convention
from app.domain.profiles import ChargingRateUnit
from app.domain.schedule_comparison import explanation, unconstrained_in
from app.domain.states import VerificationOutcome, VerificationState
from app.events import EventType
from app.json_types import JsonObject
from app.services.delivery import delivery_rules as rules
from app.services.delivery.smart_charging import SmartChargingService, Snapshot
from app.services.delivery.station_view import StationView
from app.services.errors import NotFound
from app.services.ports import ChargerGateway, StationCallError, StationOffline
from app.timefmt import parse_timestamp

log = logging.getLogger("chargeplan.verification")

_VERIFICATIONS = cast(Table, Verification.__table__)
_STATIONS = cast(Table, Station.__table__)
_RECORD = insert(_VERIFICATIONS)
_STATE = (update(_STATIONS).where(_STATIONS.c.id == bindparam("b_station"))
          .values(verification_state=bindparam("state"), last_verified_at=bindparam("at")))
_STATE_AND_REPAIRS = _STATE.values(drift_repairs=bindparam("repairs"))
_LEARNED = (update(_STATIONS).where(_STATIONS.c.id == bindparam("b_station"))
            .values(composite_convention=bindparam("convention"),
                    unconstrained_limit=bindparam("limit"),
                    unconstrained_unit=bindparam("unit")))


@dataclass
class _Learned:
    """What one verification learns about how the station answers."""

    convention: Convention | None
    unconstrained: tuple[float, ChargingRateUnit] | None

    def order(self) -> list[Convention]:
        """The station's known convention first, then the others, strict leading."""
        known = [self.convention] if self.convention is not None else []
        return known + [c for c in Convention if c not in known]

    def changed(self, view: StationView) -> bool:
        return (self.convention, self.unconstrained) != (view.convention, view.unconstrained)


def question_unit(snapshot: Snapshot, connector_id: int) -> ChargingRateUnit:
    """The unit of the acknowledged profiles that may bound the connector when they share
    one (no A<->W convention then enters the comparison); else W unless the station
    allows only A."""
    units = {item.profile.schedule.charging_rate_unit for item in snapshot.installed
             if connector_id == 0 or item.connector_id in (0, connector_id)}
    if len(units) == 1:
        return units.pop()
    allowed = snapshot.view.limits.allowed_units
    return ChargingRateUnit.A if allowed and ChargingRateUnit.W not in allowed else (
        ChargingRateUnit.W)


def unverifiable_reason(answer: JsonObject) -> str | None:
    """Why a GetCompositeSchedule.conf shows nothing to compare, or None when it does."""
    status = answer.get("status")
    if status != "Accepted":
        # GetCompositeScheduleStatus Rejected: the station did not carry out the request.
        return f"the station answered {status}: it cannot report its composite schedule"
    if not isinstance(answer.get("chargingSchedule"), dict):
        # GetCompositeSchedule.conf: chargingSchedule is optional (0..1) in OCPP 1.6.
        return "the station answered Accepted without a chargingSchedule"
    return None


@dataclass
class VerifyReport:
    station_id: str
    state: VerificationState
    calls: int = 0
    failures: int = 0
    drift_found: int = 0
    repairs: int = 0
    connectors: dict[int, VerificationOutcome] = field(default_factory=dict)


_EVENTS = {VerificationState.VERIFIED: EventType.VERIFICATION_VERIFIED,
           VerificationState.UNVERIFIABLE: EventType.VERIFICATION_UNVERIFIABLE}


class VerificationService:
    def __init__(self, db: Database, gateway: ChargerGateway, smart: SmartChargingService, *,
                 window_s: int, max_repairs: int, clock: Clock = utcnow,
                 writes: GroupCommit | None = None) -> None:
        self._db = db
        self._gateway = gateway
        self._smart = smart
        self._window = window_s
        self._max_repairs = max_repairs
        self._clock = clock
        # Shared with the read-backs of reconcile (one count of drift for /metrics).
        self.stats = smart.drift
        # A fleet's verifications run side by side: what they read is read for many
        # stations per query, and what they record is committed together.
        self._writes = writes or GroupCommit(db)
        self._snapshots: BatchLoader[str, Snapshot] = BatchLoader(self._load_snapshots)
        # Two verifications of one station at once (a boot and a job, say) would compare
        # and repair over each other: they take turns.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def _load_snapshots(self, station_ids: list[str]) -> dict[str, Snapshot]:
        return await self._smart.snapshots(station_ids, from_desired=True, accepted_only=True)

    async def verify(self, station_id: str, job_run_id: int | None = None) -> VerifyReport:
        """Compare, and repair drift until it is gone or the repairs are used up."""
        async with self._locks[station_id]:
            return await self._verify(station_id, job_run_id)

    async def _verify(self, station_id: str, job_run_id: int | None) -> VerifyReport:
        report = await self._compare(station_id, job_run_id)
        while report.state == VerificationState.DRIFT:
            repairs, state = await self._repairs(station_id)
            decision = rules.drift_decision(True, repairs, self._max_repairs, state)
            self._smart.events.emit(EventType.VERIFICATION_DRIFT, station_id=station_id,
                                    connectors=dict(report.connectors), repairs=repairs,
                                    unresolved=decision.unresolved)
            if decision.unresolved:
                report.state = VerificationState.DRIFT_UNRESOLVED
                if decision.newly:
                    self.stats.unresolved += 1
                    log.warning("%s: drift unresolved after %d repairs", station_id, repairs)
                break
            await self._set_state(station_id, VerificationState.DRIFT,
                                  repairs=decision.repairs)
            log.info("%s: drift found, re-pushing its desired profiles (repair %d of %d)",
                     station_id, decision.repairs, self._max_repairs)
            repair = await self._smart.reconcile(station_id, force=True, push_all=True)
            report.repairs += 1
            report.calls += repair.calls
            report.failures += repair.failures
            again = await self._compare(station_id, job_run_id)
            again.calls += report.calls
            again.failures += report.failures
            again.drift_found += report.drift_found
            again.repairs = report.repairs
            if again.state != VerificationState.DRIFT:
                self.stats.repaired += 1
                self._smart.events.emit(EventType.VERIFICATION_REPAIRED, station_id=station_id,
                                        connectors=dict(again.connectors), repairs=report.repairs)
            report = again
        if report.state in _EVENTS:
            self._smart.events.emit(_EVENTS[report.state], station_id=station_id,
                                    connectors=dict(report.connectors))
        if report.state in (VerificationState.VERIFIED, VerificationState.DRIFT_UNRESOLVED,
                            VerificationState.UNVERIFIABLE):
            clean = report.state == VerificationState.VERIFIED
            await self._set_state(station_id, report.state, repairs=rules.drift_decision(
                False, 0, self._max_repairs, None).repairs if clean else None)
        return report

    async def _compare(self, station_id: str, job_run_id: int | None) -> VerifyReport:
        # Read once per station: the acknowledged profiles and transactions are the same
        # for every connector asked (a change triggers its own reconcile and verify).
        snapshot = await self._snapshots.get(station_id)
        if snapshot is None:
            raise NotFound("station", station_id)
        report = VerifyReport(station_id, VerificationState.VERIFIED)
        learned = _Learned(snapshot.view.convention, snapshot.view.unconstrained)
        rows: list[JsonObject] = []
        try:
            for connector_id in range(0, snapshot.view.number_of_connectors + 1):
                if not await self._compare_connector(station_id, connector_id, snapshot,
                                                     learned, report, rows, job_run_id):
                    break
        finally:
            for row in rows:
                await self._writes.execute(_RECORD, row, order_key=station_id)
            if learned.changed(snapshot.view):
                await self._writes.execute(_LEARNED, {
                    "b_station": station_id, "convention": learned.convention,
                    "limit": learned.unconstrained[0] if learned.unconstrained else None,
                    "unit": learned.unconstrained[1].value if learned.unconstrained else None,
                }, order_key=station_id)
        return report

    async def _compare_connector(self, station_id: str, connector_id: int,
                                 snapshot: Snapshot, learned: _Learned,
                                 report: VerifyReport, rows: list[JsonObject],
                                 job_run_id: int | None) -> bool:
        """Ask one connector; False when verification of the station should stop."""
        unit = question_unit(snapshot, connector_id)
        now = self._clock()
        if not any(self._smart.answer_of(snapshot, connector_id, now, self._window, unit,
                                         convention).bounded for convention in Convention):
            return True  # nothing acknowledged bounds it: nothing to ask
        request = {"connectorId": connector_id, "duration": self._window,
                   "chargingRateUnit": unit.value}
        report.calls += 1

        def record(outcome: VerificationOutcome, expected: JsonObject | None,
                   reported: JsonObject | None, error: str | None) -> None:
            rows.append({"station_id": station_id, "connector_id": connector_id,
                         "at": self._clock(), "outcome": outcome, "expected": expected,
                         "reported": reported, "error": error, "job_run_id": job_run_id})
            report.connectors[connector_id] = outcome

        try:
            answer = await self._gateway.call(station_id, "GetCompositeSchedule", request)
        except StationOffline:
            report.state = VerificationState.ERROR
            report.failures += 1
            return False
        except StationCallError as exc:
            report.failures += 1
            report.state = VerificationState.ERROR
            record(VerificationOutcome.ERROR, None, None, exc.reason)
            return True
        reason = unverifiable_reason(answer)
        if reason is not None:
            # The station cannot show what it applies: not drift, and no repair would help.
            record(VerificationOutcome.UNVERIFIABLE, None, answer, reason)
            if report.state == VerificationState.VERIFIED:
                report.state = VerificationState.UNVERIFIABLE
            return False
        stamp = answer.get("scheduleStart") or (
            answer.get("chargingSchedule") or {}).get("startSchedule")
        start = parse_timestamp(stamp) if stamp else now
        own = learned.unconstrained[0] if (
            learned.unconstrained and learned.unconstrained[1] is unit) else None
        explained, shown = self._explanation(snapshot, connector_id, start, unit, learned,
                                             own, answer)
        record(VerificationOutcome.MATCH if explained else VerificationOutcome.DRIFT,
               shown.to_ocpp(), answer, None if explained else (
                   "a limit the station accepted is not applied: no convention explains "
                   "its answer"))
        if explained is not None:
            learned.convention = explained.convention
            value = unconstrained_in(explained, answer)
            if value is not None:
                learned.unconstrained = (value, unit)
        else:
            report.drift_found += 1
            self.stats.found += 1
            if report.state == VerificationState.VERIFIED:
                report.state = VerificationState.DRIFT
        return True

    def _explanation(self, snapshot: Snapshot, connector_id: int, start: datetime,
                     unit: ChargingRateUnit, learned: _Learned, own: float | None,
                     answer: JsonObject) -> tuple[CompositeAnswer | None, CompositeAnswer]:
        """The convention that explains the answer (see :func:`explanation`: the recorded
        one first, computed alone when it explains, else the most specific) and what is
        shown as expected."""
        computed: list[CompositeAnswer] = []

        def candidates() -> Iterator[CompositeAnswer]:
            for convention in learned.order():
                computed.append(self._smart.answer_of(
                    snapshot, connector_id, start, self._window, unit, convention,
                    unconstrained=own))
                yield computed[-1]

        found = explanation(candidates(), answer, known=learned.convention,
                            unconstrained=own)
        return found, found or computed[0]

    async def _repairs(self, station_id: str) -> tuple[int, VerificationState | None]:
        """Repairs made so far and the verification state before this one."""
        async with self._db.core() as conn:
            found = (await conn.execute(
                select(_STATIONS.c.drift_repairs, _STATIONS.c.verification_state)
                .where(_STATIONS.c.id == station_id))).first()
        return (found[0] or 0, found[1]) if found is not None else (0, None)

    async def _set_state(self, station_id: str, state: VerificationState, *,
                         repairs: int | None) -> None:
        params: dict[str, Any] = {"b_station": station_id, "state": state, "at": self._clock()}
        if repairs is not None:
            params["repairs"] = repairs
        await self._writes.execute(_STATE if repairs is None else _STATE_AND_REPAIRS, params,
                                   order_key=station_id)

    async def close(self) -> None:
        """Wait for the writes in flight (before the engine is disposed)."""
        await self._writes.close()

    async def latest(self, station_id: str) -> tuple[Station, list[Verification]]:
        """The station's state and the last comparison of each connector."""
        async with self._db.uow() as session:
            station = await session.get(Station, station_id)
            if station is None:
                raise NotFound("station", station_id)
            rows = (await session.scalars(
                select(Verification).where(Verification.station_id == station_id)
                .order_by(Verification.id.desc()).limit(50))).all()
        latest: dict[int, Verification] = {}
        for row in rows:
            latest.setdefault(row.connector_id, row)
        return station, [latest[c] for c in sorted(latest)]
