"""Reconciling many stations at once against a scripted gateway and a real database: each
station ends in the state its own answer calls for, and a fleet costs no more statements
than a handful of stations."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from app.db.engine import Database
from app.db.models import DesiredProfile, InstalledProfileRecord, Station
from app.domain.composite import SupplyConfig
from app.domain.ownership import Owner, OwnerKind
from app.services.delivery.smart_charging import SmartChargingService
from app.services.ports import CallTimeout, StationCallError, StationOffline
from app.services.schedules.plans import Targets, delivery_status, materialise
from tests.conftest import copy_sqlite_template
from tests.profiles import TX_DEFAULT_7KW

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class ScriptedGateway:
    """Answers each station as told: Accepted unless its id is listed otherwise."""

    def __init__(self, *, rejecting: set[str] = frozenset(),  # type: ignore[assignment]
                 silent: set[str] = frozenset(),  # type: ignore[assignment]
                 offline: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.rejecting, self.silent, self.offline = rejecting, silent, offline
        self.calls: list[tuple[str, str, dict[str, Any], int | None]] = []
        self.during_call: dict[str, Any] = {}

    def is_connected(self, station_id: str) -> bool:
        return station_id not in self.offline

    def connected_station_ids(self) -> list[str]:
        return []

    async def reachable(self, station_id: str) -> bool:
        return self.is_connected(station_id)

    async def call(self, station_id: str, action: str, payload: dict[str, Any], *,
                   timeout: float | None = None,
                   desired_profile_id: int | None = None) -> dict[str, Any]:
        self.calls.append((station_id, action, payload, desired_profile_id))
        if station_id in self.during_call:
            await self.during_call.pop(station_id)()
        if station_id in self.offline:
            raise StationOffline(station_id, action)
        if station_id in self.silent:
            raise CallTimeout(station_id, action, 1.0)
        if action == "SetChargingProfile" and station_id in self.rejecting:
            return {"status": "Rejected"}
        return {"status": "Accepted"}


async def register(db: Database, station_ids: list[str]) -> None:
    async with db.uow() as session:
        session.add_all(Station(id=sid, tags=["depot"], created_at=NOW, max_power_w=22080.0)
                        for sid in station_ids)


def service(db: Database, gateway: ScriptedGateway) -> SmartChargingService:
    return SmartChargingService(db, gateway, supply=SupplyConfig(voltage=230.0, phases=3),
                                clock=lambda: NOW, rand=lambda: 0.5)


async def desired_by_station(db: Database) -> dict[str, DesiredProfile]:
    async with db.uow() as session:
        return {r.station_id: r for r in (await session.scalars(select(DesiredProfile))).all()}


async def mirrored(db: Database) -> set[tuple[str, int]]:
    async with db.uow() as session:
        return {(r.station_id, r.charging_profile_id) for r in
                (await session.scalars(select(InstalledProfileRecord))).all()}


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_each_station_of_a_fleet_gets_the_state_its_answer_calls_for(
    sqlite_url: str
) -> None:
    db = Database(sqlite_url)
    ids = [f"CP-{i:03d}" for i in range(12)]
    await register(db, ids)
    gateway = ScriptedGateway(rejecting={"CP-003", "CP-007"}, silent={"CP-005"},
                              offline={"CP-010", "CP-011"})
    smart = service(db, gateway)
    outcome = await materialise(db, smart, None, Targets(tags=("depot",)), 0, TX_DEFAULT_7KW,
                                reason="plan", owner=Owner(OwnerKind.PLAN, 1))
    assert outcome.stations == ids and outcome.problems == []

    reports = await smart.reconcile_many(ids, concurrency=4)

    rows = await desired_by_station(db)
    states = {sid: (rows[sid].state, rows[sid].last_error) for sid in ids}
    assert states["CP-000"] == ("accepted", None)
    assert states["CP-003"] == ("rejected", "station answered Rejected")
    assert states["CP-005"] == ("error", "no answer within 1 s")
    assert rows["CP-005"].next_attempt_at is not None and rows["CP-005"].next_attempt_at > NOW
    assert states["CP-010"] == ("pending", "station offline")
    assert sum(state == "accepted" for state, _ in states.values()) == 7
    # Every Set named the desired row it served.
    assert {(sid, pid) for sid, action, _, pid in gateway.calls
            if action == "SetChargingProfile"} == {
        (sid, rows[sid].id) for sid in ids if sid not in gateway.offline}
    # The mirror holds what the stations acknowledged, nothing else.
    assert await mirrored(db) == {(sid, rows[sid].charging_profile_id) for sid in ids
                                  if states[sid][0] == "accepted"}
    assert reports["CP-005"].failures == 1 and reports["CP-000"].failures == 0
    assert all(rows[sid].attempts == 1 for sid in ids)

    # Again at the same instant: nothing is due (accepted, rejected, backing off).
    gateway.calls.clear()
    gateway.offline = set()
    again = await smart.reconcile_many(ids, concurrency=4)
    assert [(sid, action) for sid, action, _, _ in gateway.calls] == [
        ("CP-010", "SetChargingProfile"), ("CP-011", "SetChargingProfile")]
    assert sum(r.calls for r in again.values()) == 2
    await db.dispose()


async def test_a_row_replaced_during_its_call_keeps_its_new_state(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await register(db, ["CP-A", "CP-B"])
    gateway = ScriptedGateway()
    smart = service(db, gateway)
    await materialise(db, smart, None, Targets(tags=("depot",)), 0, TX_DEFAULT_7KW,
                      reason="plan", owner=Owner(OwnerKind.PLAN, 1))
    before = await desired_by_station(db)

    async def replaced_elsewhere() -> None:
        # Another server process changes the plan while the Set is on the wire: the
        # row is replaced (a new id) and must stay pending for the next reconcile.
        async with db.uow() as session:
            old = await session.get(DesiredProfile, before["CP-A"].id)
            assert old is not None
            await session.delete(old)
            await session.flush()
            session.add(DesiredProfile(
                station_id="CP-A", connector_id=0, charging_profile_id=old.charging_profile_id,
                purpose=old.purpose, stack_level=0, transaction_id=None,
                profile={**old.profile, "stackLevel": 0}, owner_kind=OwnerKind.PLAN, owner_id="1",
                state="pending", attempts=0, created_at=NOW, updated_at=NOW))

    gateway.during_call["CP-A"] = replaced_elsewhere
    await smart.reconcile_many(["CP-A", "CP-B"], concurrency=2)

    after = await desired_by_station(db)
    assert after["CP-A"].id != before["CP-A"].id
    assert (after["CP-A"].state, after["CP-A"].attempts) == ("pending", 0)
    assert after["CP-B"].state == "accepted"
    await db.dispose()


async def test_extras_are_cleared_only_after_the_pushes(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await register(db, ["CP-A"])
    gateway = ScriptedGateway()
    smart = service(db, gateway)
    async with db.uow() as session:
        session.add(InstalledProfileRecord(
            station_id="CP-A", charging_profile_id=99, connector_id=1,
            profile={**TX_DEFAULT_7KW, "chargingProfileId": 99, "stackLevel": 3},
            installed_at=NOW - timedelta(days=1)))
    await materialise(db, smart, None, Targets(station_ids=("CP-A",)), 0, TX_DEFAULT_7KW,
                      reason="plan", owner=Owner(OwnerKind.PLAN, 1))

    report = await smart.reconcile("CP-A")

    assert [action for _, action, _, _ in gateway.calls] == [
        "SetChargingProfile", "ClearChargingProfile"]
    assert gateway.calls[1][2] == {"id": 99}
    assert report.cleared == [99]
    assert await mirrored(db) == {("CP-A", report.pushed[0])}
    await db.dispose()


async def test_a_failed_clear_keeps_the_extra_in_the_mirror(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await register(db, ["CP-A"])

    class ClearFails(ScriptedGateway):
        async def call(self, station_id: str, action: str, payload: dict[str, Any], *,
                       timeout: float | None = None,
                       desired_profile_id: int | None = None) -> dict[str, Any]:
            if action == "ClearChargingProfile":
                raise StationCallError(station_id, action, "CALLERROR InternalError: busy")
            return await super().call(station_id, action, payload, timeout=timeout,
                                      desired_profile_id=desired_profile_id)

    smart = service(db, ClearFails())
    async with db.uow() as session:
        session.add(InstalledProfileRecord(
            station_id="CP-A", charging_profile_id=99, connector_id=1,
            profile={**TX_DEFAULT_7KW, "chargingProfileId": 99}, installed_at=NOW))

    report = await smart.reconcile("CP-A")

    assert (report.calls, report.failures, report.cleared) == (1, 1, [])
    assert await mirrored(db) == {("CP-A", 99)}
    await db.dispose()


async def fleet_statements(sqlite_url: str, size: int) -> tuple[int, int, int]:
    """Statements spent to materialise a plan on ``size`` stations, reconcile them, and
    read the plan's status."""
    db = Database(sqlite_url)
    ids = [f"CP-{size}-{i:04d}" for i in range(size)]
    await register(db, ids)
    smart = service(db, ScriptedGateway())
    targets = Targets(tags=("depot",))
    with counted_statements(db) as stored:
        await materialise(db, smart, None, targets, 0, TX_DEFAULT_7KW, reason="plan",
                          owner=Owner(OwnerKind.PLAN, size))
    with counted_statements(db) as reconciled:
        await smart.reconcile_many(ids, concurrency=size)
    with counted_statements(db) as status:
        states = await delivery_status(db, targets, owner=Owner(OwnerKind.PLAN, size))
    assert [s.state for s in states] == ["accepted"] * size
    await db.dispose()
    return len(stored), len(reconciled), len(status)


@pytest.fixture
def large_url(tmp_path: Path, sqlite_template: Path) -> str:
    return copy_sqlite_template(sqlite_template, tmp_path / "large.db")


async def test_a_large_fleet_costs_no_more_statements_than_a_small_one(
    sqlite_url: str, large_url: str
) -> None:
    small = await fleet_statements(sqlite_url, 3)
    large = await fleet_statements(large_url, 400)
    stored, _, status = large
    assert stored == small[0] and status == small[2] == 2
    # Outcomes are written in batches: far fewer statements than stations.
    assert large[1] < 400 / 4


async def test_a_run_over_stations_another_run_holds_reads_them_together(
    sqlite_url: str
) -> None:
    """The interval reconcile that starts while a plan's fan-out holds the fleet waits for
    each station, then reads those freed meanwhile together: not one read per station,
    and nothing is sent twice."""
    db = Database(sqlite_url)
    ids = [f"CP-{i:03d}" for i in range(40)]
    await register(db, ids)
    gateway = ScriptedGateway()
    holding, released = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        if len(gateway.calls) == len(ids):  # every station's call is in flight
            holding.set()
        await released.wait()

    gateway.during_call = {sid: hold for sid in ids}
    smart = service(db, gateway)
    await materialise(db, smart, None, Targets(tags=("depot",)), 0, TX_DEFAULT_7KW,
                      reason="plan", owner=Owner(OwnerKind.PLAN, 1))
    first = asyncio.create_task(smart.reconcile_many(ids, concurrency=len(ids)))
    await holding.wait()

    with counted_statements(db) as statements:
        second = asyncio.create_task(smart.reconcile_many(ids, concurrency=len(ids)))
        released.set()
        await first
        again = await second

    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")
             and "FROM desired_profiles" in s]
    assert 1 <= len(reads) <= len(ids) // 4, len(reads)
    # The second run found every station delivered: one Set per station in all.
    assert sorted(sid for sid, action, _, _ in gateway.calls
                  if action == "SetChargingProfile") == ids
    assert sum(report.calls for report in again.values()) == 0
    assert {r.state for r in (await desired_by_station(db)).values()} == {"accepted"}
    await db.dispose()
