"""Verification: does the station apply what it acknowledged?

Chargers answer Accepted and apply nothing, forget their profiles on a reboot, or apply
another purpose than asked (field reports in the OCPP community). The only proof a 1.6
central system can get is GetCompositeSchedule (OCPP 1.6 §5.7): the station's own
answer to "what will you draw", compared with the composite the server computes from the
profiles the station acknowledged. A difference is drift; it is repaired by re-pushing
the desired profiles (Set replaces by id, extras are cleared afterwards, so no connector
is ever unlimited in between), at most ``max_repairs`` times.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update

from app.clock import Clock, utcnow
from app.db.batching import BatchLoader, GroupCommit
from app.db.engine import Database
from app.db.fleet_models import Verification
from app.db.models import DesiredProfile, Station
from app.domain.composite import schedules_match
from app.domain.profiles import ChargingRateUnit
from app.domain.states import VerificationOutcome, VerificationState
from app.services.errors import NotFound
from app.services.ports import ChargerGateway, StationCallError, StationOffline
from app.services.smart_charging import SmartChargingService, Snapshot
from app.timefmt import parse_timestamp

log = logging.getLogger("chargeplan.verification")

_VERIFICATIONS = cast(Table, Verification.__table__)
_STATIONS = cast(Table, Station.__table__)
_RECORD = insert(_VERIFICATIONS)
_STATE = (update(_STATIONS).where(_STATIONS.c.id == bindparam("b_station"))
          .values(verification_state=bindparam("state"), last_verified_at=bindparam("at")))
_STATE_AND_REPAIRS = _STATE.values(drift_repairs=bindparam("repairs"))


@dataclass
class VerifyReport:
    station_id: str
    state: VerificationState
    calls: int = 0
    failures: int = 0
    drift_found: int = 0
    repairs: int = 0
    connectors: dict[int, VerificationOutcome] = field(default_factory=dict)


@dataclass
class DriftStats:
    found: int = 0
    repaired: int = 0
    unresolved: int = 0


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
        self.stats = DriftStats()
        # A fleet's verifications run side by side: what they read is read for many
        # stations per query, and what they record is committed together.
        self._writes = writes or GroupCommit(db)
        self._snapshots: BatchLoader[str, Snapshot] = BatchLoader(self._load_snapshots)
        # Two verifications of one station at once (a boot and a job, say) would compare
        # and repair over each other: they take turns.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def _load_snapshots(self, station_ids: list[str]) -> dict[str, Snapshot]:
        return await self._smart.snapshots(station_ids, from_desired=True, accepted_only=True)

    async def has_desired(self, station_id: str) -> bool:
        async with self._db.uow() as session:
            found = await session.scalar(select(DesiredProfile.id).where(
                DesiredProfile.station_id == station_id).limit(1))
        return found is not None

    async def verify(self, station_id: str, job_run_id: int | None = None) -> VerifyReport:
        """Compare, and repair drift until it is gone or the repairs are used up."""
        async with self._locks[station_id]:
            return await self._verify(station_id, job_run_id)

    async def _verify(self, station_id: str, job_run_id: int | None) -> VerifyReport:
        report = await self._compare(station_id, job_run_id)
        while report.state == VerificationState.DRIFT:
            repairs, state = await self._repairs(station_id)
            if repairs >= self._max_repairs:
                report.state = VerificationState.DRIFT_UNRESOLVED
                # Counted once per station, not per look.
                if state != VerificationState.DRIFT_UNRESOLVED:
                    self.stats.unresolved += 1
                    log.warning("%s: drift unresolved after %d repairs", station_id, repairs)
                break
            await self._set_state(station_id, VerificationState.DRIFT, repairs=repairs + 1)
            log.info("%s: drift found, re-pushing its desired profiles (repair %d of %d)",
                     station_id, repairs + 1, self._max_repairs)
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
            report = again
        if report.state in (VerificationState.VERIFIED, VerificationState.DRIFT_UNRESOLVED,
                            VerificationState.UNVERIFIABLE):
            await self._set_state(station_id, report.state,
                                  repairs=0 if report.state == VerificationState.VERIFIED else None)
        return report

    async def _compare(self, station_id: str, job_run_id: int | None) -> VerifyReport:
        # Read once per station: the acknowledged profiles and transactions are the same
        # for every connector asked (a change triggers its own reconcile and verify).
        snapshot = await self._snapshots.get(station_id)
        if snapshot is None:
            raise NotFound("station", station_id)
        units = snapshot.view.limits.allowed_units
        unit = ChargingRateUnit.A if units and ChargingRateUnit.W not in units else (
            ChargingRateUnit.W)
        report = VerifyReport(station_id, VerificationState.VERIFIED)
        rows: list[dict[str, Any]] = []
        try:
            for connector_id in range(0, snapshot.view.number_of_connectors + 1):
                if not await self._compare_connector(station_id, connector_id, unit, snapshot,
                                                     report, rows, job_run_id):
                    break
        finally:
            for row in rows:
                await self._writes.execute(_RECORD, row, order_key=station_id)
        return report

    async def _compare_connector(self, station_id: str, connector_id: int,
                                 unit: ChargingRateUnit, snapshot: Snapshot,
                                 report: VerifyReport, rows: list[dict[str, Any]],
                                 job_run_id: int | None) -> bool:
        """Ask one connector; False when verification of the station should stop."""
        request = {"connectorId": connector_id, "duration": self._window,
                   "chargingRateUnit": unit.value}
        now = self._clock()
        report.calls += 1

        def record(outcome: VerificationOutcome, expected: dict[str, Any] | None,
                   reported: dict[str, Any] | None, error: str | None) -> None:
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
        if answer.get("status") != "Accepted":
            # OCPP 1.6 §5.7: Rejected = the station cannot report. Not retried in a loop.
            record(VerificationOutcome.UNVERIFIABLE, None, answer, None)
            report.state = VerificationState.UNVERIFIABLE
            return False
        stamp = answer.get("scheduleStart") or (
            answer.get("chargingSchedule") or {}).get("startSchedule")
        start = parse_timestamp(stamp) if stamp else now
        expected = self._smart.composite_of(snapshot, connector_id, start, self._window, unit)
        matches = schedules_match(answer, expected)
        record(VerificationOutcome.MATCH if matches else VerificationOutcome.DRIFT, expected,
               answer, None)
        if not matches:
            report.drift_found += 1
            self.stats.found += 1
            if report.state == VerificationState.VERIFIED:
                report.state = VerificationState.DRIFT
        return True

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
