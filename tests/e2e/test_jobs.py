"""Reconcile, verify and retry jobs end to end: server plus simulator on real websockets,
jobs run by direct invocation (no test waits for an interval)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from app.db.fleet_models import JobRun
from app.db.models import AuditFrame
from app.simulator.faults import FaultInjector
from app.timefmt import format_timestamp as stamp
from jobs.reconcile import reconcile_stations, verify_stations
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually, only, simulated
from tests.ocpp_client import raw_station
from tests.profiles import TX_DEFAULT_7KW

SID = "PY-SIM-0001"


async def desired(http: httpx.AsyncClient) -> list[dict[str, object]]:
    answer: list[dict[str, object]] = (
        await http.get(f"/stations/{SID}/charging_profiles")).json()
    return answer


async def verification(http: httpx.AsyncClient) -> dict[str, object]:
    answer: dict[str, object] = (await http.get(f"/stations/{SID}/verification")).json()
    return answer


async def test_reconcile_is_idempotent_and_recorded(server: RunningServer,
                                                    http: httpx.AsyncClient) -> None:
    async with simulated(server, http):
        await http.post(f"/stations/{SID}/charging_profile",
                        json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        await reconcile_stations(server.services, None, "test")
        await reconcile_stations(server.services, None, "test")
    runs = (await http.get("/jobs", params={"job": "reconcile"})).json()
    tests = [r for r in runs if r["trigger"] == "test"]
    assert [r["calls"] for r in tests] == [0, 0]  # already delivered: nothing to send
    assert all(r["outcome"] == "ok" and r["finished_at"] for r in tests)


async def test_station_that_lost_its_profiles_on_reset_is_repaired(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        station = only(sim)
        await http.post(f"/stations/{SID}/charging_profile",
                        json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        boots = station.boots
        await server.services.gateway.call(SID, "Reset", {"type": "Soft"})
        await eventually(lambda: station.boots > boots)
        # After the boot the server verifies at once, finds the drift and re-pushes.
        await eventually(lambda: [p.profile.schedule.periods[0].limit
                                  for p in station.installed_profiles] == [7000])
        state = await eventually(lambda: _state_is(http, "verified"))
    assert state["drift_repairs"] == 0

    async def repair_linked() -> list[AuditFrame]:
        # Audit rows are written in batches: wait for the repair's.
        async with server.services.db.uow() as session:
            return list((await session.scalars(select(AuditFrame).where(
                AuditFrame.job_run_id.is_not(None), AuditFrame.action == "SetChargingProfile",
                AuditFrame.direction == "out"))).all())

    linked = await eventually(repair_linked)
    async with server.services.db.uow() as session:
        runs = (await session.scalars(select(JobRun).where(JobRun.job == "verify"))).all()
    assert any(r.trigger == "boot" for r in runs)
    assert linked[-1].desired_profile_id is not None


async def test_a_reset_station_holds_its_profiles_again_right_after_its_boot(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """A limit that starts after the verification window (a plan for next week, say) is
    invisible to GetCompositeSchedule now: only re-sending it on the boot restores it."""
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(
        seconds=server.settings.verify_window_s, days=1)
    later = {**TX_DEFAULT_7KW, "chargingSchedule": {
        **TX_DEFAULT_7KW["chargingSchedule"], "startSchedule": stamp(starts)}}
    async with simulated(server, http) as sim:
        station = only(sim)
        sent = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": later})
        assert sent.json()["status"] == "success", sent.text
        boots = station.boots
        await server.services.gateway.call(SID, "Reset", {"type": "Soft"})
        await eventually(lambda: station.boots > boots)
        await eventually(lambda: station.installed_profiles)
        (held,) = station.installed_profiles
        assert held.profile.to_ocpp()["chargingSchedule"] == later["chargingSchedule"]
        # What it will apply when the limit starts, by its own composite.
        assert station.limit_w(1, starts + timedelta(minutes=1)) == 7000


async def _state_is(http: httpx.AsyncClient, state: str) -> dict[str, object] | None:
    body = await verification(http)
    return body if body["state"] == state else None


async def test_a_station_that_acknowledges_but_ignores_is_drift_unresolved(
    sqlite_url: str,
) -> None:
    running = await start_server(make_settings(sqlite_url, drift_max_repairs=2))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http, ignore_profile_rate=1.0) as sim:
            sent = await http.post(f"/stations/{SID}/charging_profile",
                                   json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
            assert sent.json()["status"] == "success"  # the station said Accepted...
            assert only(sim).installed_profiles == ()  # ...and applied nothing
            await verify_stations(running.services, [SID], "test")
            body = await verification(http)
            assert body["state"] == "drift_unresolved"
            assert body["drift_repairs"] == 2
            drifted = [c for c in body["connectors"] if c["outcome"] == "drift"]
            assert drifted and drifted[0]["expected"] != drifted[0]["reported"]
            metrics = (await http.get("/metrics")).text
            assert "chargeplan_drift_found_total" in metrics
            assert "chargeplan_drift_unresolved_total 1" in metrics
    finally:
        await stop_server(running)


async def test_verifications_of_one_station_at_once_take_turns(sqlite_url: str) -> None:
    running = await start_server(make_settings(sqlite_url, drift_max_repairs=2))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http, ignore_profile_rate=1.0):
            await http.post(f"/stations/{SID}/charging_profile",
                            json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
            calls = running.services.status.call_counts
            pushes_before = calls().get(("SetChargingProfile", "ok"), 0)
            # A boot's verification and an interval job's, say, for the same station.
            await asyncio.gather(verify_stations(running.services, [SID], "test"),
                                 verify_stations(running.services, [SID], "test"))
            body = await verification(http)
            pushes = calls().get(("SetChargingProfile", "ok"), 0)
            metrics = (await http.get("/metrics")).text
        # The repairs were not run twice over each other: two, then unresolved.
        assert body["state"] == "drift_unresolved" and body["drift_repairs"] == 2
        assert pushes - pushes_before == 2
        assert "chargeplan_drift_unresolved_total 1" in metrics
    finally:
        await stop_server(running)


class ShiftedClock:
    """The server's clock: the wall clock moved on by ``shift``, so that a test moves
    time past a backoff instead of waiting it out."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


async def test_failed_delivery_is_retried_with_backoff_then_succeeds(sqlite_url: str) -> None:
    clock = ShiftedClock()
    running = await start_server(make_settings(
        # A backoff of 30 to 60 s: the "not due yet" check below runs inside it however
        # loaded the machine; the test then moves the server's clock past it. The healed
        # station's answer must come within the call timeout: not a tight one.
        sqlite_url, call_timeout_s=1.5, retry_base_s=60.0, retry_cap_s=60.0,
        retry_max_attempts=5), clock=clock)
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http, drop_rate=1.0, wait_configuration=False) as sim:
            station = only(sim)
            sent = await http.post(f"/stations/{SID}/charging_profile",
                                   json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
            assert sent.json()["status"] == "error"
            row = (await desired(http))[0]
            assert row["state"] == "error" and row["attempts"] == 1
            # Not due yet: the reconcile job leaves it alone until its backoff expires.
            await reconcile_stations(running.services, [SID], "test")
            assert (await desired(http))[0]["attempts"] == 1
            # The station heals; once the backoff is over the job delivers it.
            station.faults = FaultInjector(dataclasses.replace(sim.config, drop_rate=0.0), 0)
            clock.shift = timedelta(seconds=61)

            async def delivered() -> bool:
                await reconcile_stations(running.services, [SID], "test")
                return (await desired(http))[0]["state"] == "accepted"

            await eventually(delivered)
            assert station.installed_profiles
            assert (await desired(http))[0]["attempts"] == 2
            metrics = (await http.get("/metrics")).text
            assert "chargeplan_delivery_retries_total 1" in metrics
            assert 'chargeplan_deliveries{state="accepted"} 1' in metrics
    finally:
        await stop_server(running)


async def test_delivery_fails_after_the_last_attempt_until_the_station_reconnects(
    sqlite_url: str,
) -> None:
    running = await start_server(make_settings(
        sqlite_url, call_timeout_s=0.2, retry_base_s=0.01, retry_cap_s=0.02,
        retry_max_attempts=2))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http, drop_rate=1.0, wait_configuration=False):
            await http.post(f"/stations/{SID}/charging_profile",
                            json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
            await eventually(lambda: _attempts_done(running, http))
            assert (await desired(http))[0]["state"] == "failed"
            await reconcile_stations(running.services, [SID], "test")
            assert (await desired(http))[0]["attempts"] == 2  # failed: not retried
    finally:
        await stop_server(running)


async def _attempts_done(running: RunningServer, http: httpx.AsyncClient) -> bool:
    await reconcile_stations(running.services, [SID], "test")
    return (await desired(http))[0]["state"] == "failed"


async def test_rejected_composite_marks_the_station_unverifiable(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    answers = {"GetConfiguration": {"configurationKey": [
                   {"key": "NumberOfConnectors", "readonly": True, "value": "1"}]},
               "GetCompositeSchedule": {"status": "Rejected"},
               "SetChargingProfile": {"status": "Accepted"}}
    async with raw_station(server.station_url("CP-NOCOMP"), answers=answers) as cp:
        await cp.boot()
        await http.post("/stations/CP-NOCOMP/charging_profile",
                        json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        await verify_stations(server.services, ["CP-NOCOMP"], "test")
        await verify_stations(server.services, ["CP-NOCOMP"], "test")
        composite_calls = [c for c in cp.server_calls if c[2] == "GetCompositeSchedule"]
    body = (await http.get("/stations/CP-NOCOMP/verification")).json()
    assert body["state"] == "unverifiable"
    # One request per verification run, not a retry loop.
    assert len(composite_calls) <= 3
