"""Reconcile reads a 2.0.1 station's own profiles back (K09 GetChargingProfiles and the
ReportChargingProfiles pages it brings) and repairs what differs: the simulated 2.0.1
station of ``app/simulator`` on the real server, over loopback, with a SQLite file.
Every frame of these exchanges fits the 2.0.1 schemas (``tests/ocpp201.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from app.db.models import AuditFrame
from app.domain.profiles import ChargingProfileKind, ChargingRateUnit
from app.domain.profiles_v201 import (
    ChargingLimitSource,
    ChargingProfile201,
    ChargingProfilePurpose201,
    ChargingSchedule201,
    ChargingSchedulePeriod201,
    EvseProfile,
)
from app.simulator.station_v201 import SimulatedStation201
from tests.conftest import (
    RunningServer,
    make_settings,
    settled_audit_rows,
    start_server,
    stop_server,
)
from tests.e2e.harness import eventually, simulated
from tests.event_clients import sse
from tests.ocpp201 import (
    BOOT_201,
    RAW_201_ANSWERS,
    REPORT_201,
    check_201_frames,
    station_of,
)
from tests.ocpp_client import raw_station
from tests.profiles import tx_default_watts

SID = "PY-SIM-0001"
WAIT = 60.0  # bounds a failure only


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    # Only the runs a test asks for: no interval reconcile or verify in between.
    running = await start_server(make_settings(
        sqlite_url, reconcile_interval_s=3600, verify_interval_s=3600))
    try:
        yield running
    finally:
        await stop_server(running)


def held(station: SimulatedStation201) -> set[tuple[int, int, str]]:
    """(EVSE, profile id, source) of every profile the station holds."""
    return {(h.evse_id, h.profile.charging_profile_id, h.source.value)
            for h in station.smart_charging.held}


async def send(http: httpx.AsyncClient, connector_id: int, profile: dict[str, Any]) -> int:
    sent = await http.post(f"/stations/{SID}/charging_profile",
                           json={"connector_id": connector_id, "profile": profile})
    body = sent.json()
    assert sent.status_code == 200 and body["status"] == "success", body
    return int(body["profile_id"])


async def reconcile(http: httpx.AsyncClient) -> dict[str, Any]:
    """A reconcile run asked for over REST, once it finished."""
    before = {r["id"] for r in (await http.get("/jobs", params={"job": "reconcile"})).json()}
    asked = await http.post("/jobs/reconcile/run", params={"station_id": SID})
    assert asked.status_code == 202, asked.text

    async def finished() -> dict[str, Any] | None:
        runs = (await http.get("/jobs", params={"job": "reconcile"})).json()
        new = [r for r in runs if r["id"] not in before and r["trigger"] == "api"
               and r["finished_at"] is not None]
        return new[0] if new else None

    run: dict[str, Any] = await eventually(finished, timeout=WAIT)
    return run


def since(rows: list[AuditFrame], first_id: int) -> list[AuditFrame]:
    return [r for r in rows if r.id > first_id]


def calls_out(rows: list[AuditFrame], action: str) -> list[AuditFrame]:
    return [r for r in rows if (r.direction, r.message_type, r.action) == ("out", "CALL", action)]


CAP = {"stackLevel": 0, "chargingProfilePurpose": "ChargePointMaxProfile",
       "chargingProfileKind": "Absolute", "validFrom": "2020-01-01T00:00:00Z",
       "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [
           {"startPeriod": 0, "limit": 11000}]}}


async def test_a_profile_the_station_lost_silently_is_found_and_sent_again(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2,
                         wait_configuration=False) as sim:
        station = station_of(sim)
        cap = await send(http, 0, CAP)
        first = await send(http, 1, tx_default_watts(7000))
        second = await send(http, 2, tx_default_watts(5000))
        assert held(station) == {(0, cap, "CSO"), (1, first, "CSO"), (2, second, "CSO")}
        quiet = await reconcile(http)  # in sync: it asks, and sends nothing more
        assert quiet["detail"].get("drift") is None and quiet["detail"]["changed"] == []

        mark = (await settled_audit_rows(server, SID))[-1].id
        # The station drops a profile it acknowledged and tells nobody.
        assert station.lose_profile(first)
        assert station.limit_w(1) != 7000
        run = await reconcile(http)

        assert held(station) == {(0, cap, "CSO"), (1, first, "CSO"), (2, second, "CSO")}
        assert station.limit_w(1) == 7000
        assert run["detail"]["drift"] == {SID: {"missing": [first], "different": [],
                                                "extra": []}}
        assert run["detail"]["changed"] == [SID]

        rows = since(await settled_audit_rows(server, SID), mark)
        (ask,) = calls_out(rows, "GetChargingProfiles")
        request_id = ask.payload["requestId"]
        assert ask.payload == {"requestId": request_id,
                               "chargingProfile": {"chargingLimitSource": ["CSO"]}}
        assert ask.job_run_id == run["id"]
        pages = [r.payload for r in rows if (r.direction, r.message_type, r.action) == (
            "in", "CALL", "ReportChargingProfiles")]
        # One page per EVSE (K09.FR.01: the requestId in each; K09.FR.02: tbc but the last).
        assert [(p["requestId"], p["evseId"], p.get("tbc")) for p in pages] == [
            (request_id, 0, True), (request_id, 2, False)]
        (resent,) = calls_out(rows, "SetChargingProfile")
        assert (resent.payload["evseId"], resent.payload["chargingProfile"]["id"]) == (1, first)
        assert resent.job_run_id == run["id"] and resent.desired_profile_id is not None
        assert calls_out(rows, "ClearChargingProfile") == []

        mark = rows[-1].id
        again = await reconcile(http)
        assert again["detail"].get("drift") is None
        later = since(await settled_audit_rows(server, SID), mark)
        assert {r.action for r in later if r.message_type == "CALL"} == {
            "GetChargingProfiles", "ReportChargingProfiles"}
    check_201_frames(await settled_audit_rows(server, SID))


def profile_201(profile_id: int, purpose: ChargingProfilePurpose201, limit_a: float,
                start: datetime | None = None) -> ChargingProfile201:
    """A profile in amps: Absolute from ``start``, else Relative."""
    schedule = ChargingSchedule201(ChargingRateUnit.A, (ChargingSchedulePeriod201(0, limit_a),),
                                   start_schedule=start, id=1)
    kind = ChargingProfileKind.RELATIVE if start is None else ChargingProfileKind.ABSOLUTE
    return ChargingProfile201(profile_id, 3, purpose, kind, (schedule,))


async def test_a_csms_profile_nobody_wants_is_cleared_and_external_limits_stay(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2,
                         wait_configuration=False, grid_limit_a=20.0) as sim:
        station = station_of(sim)
        wanted = await send(http, 1, tx_default_watts(7000))
        await eventually(lambda: any(h.source is ChargingLimitSource.SO
                                     for h in station.smart_charging.held), timeout=WAIT)
        # Left by another central system, and a grid limit a station wrongly says a CSMS
        # set: the first is chargeplan's to clear, the second never is (K01.FR.22).
        leftover = profile_201(9001, ChargingProfilePurpose201.TX_DEFAULT_PROFILE, 6.0)
        external = profile_201(
            9002, ChargingProfilePurpose201.CHARGING_STATION_EXTERNAL_CONSTRAINTS, 16.0,
            station.clock.now().replace(microsecond=0))
        assert station.smart_charging.install(EvseProfile(2, leftover)) is None
        assert station.smart_charging.install(
            EvseProfile(0, external, ChargingLimitSource.CSO)) is None
        station.after_profiles_changed()
        mark = (await settled_audit_rows(server, SID))[-1].id

        run = await reconcile(http)

        assert run["detail"]["drift"] == {SID: {"missing": [], "different": [],
                                                "extra": [9001]}}
        remaining = held(station)
        assert (1, wanted, "CSO") in remaining and (0, 9002, "CSO") in remaining
        assert not any(pid == 9001 for _, pid, _ in remaining)
        assert any(source == "SO" for _, _, source in remaining)
        rows = since(await settled_audit_rows(server, SID), mark)
        assert [r.payload for r in calls_out(rows, "ClearChargingProfile")] == [
            {"chargingProfileId": 9001}]
        assert calls_out(rows, "SetChargingProfile") == []
    check_201_frames(await settled_audit_rows(server, SID))


def foreign_tx_default(station: SimulatedStation201, evse_id: int) -> None:
    """Another central system's TxDefaultProfile (id 9001) on stack level 0 of the EVSE."""
    foreign = dataclasses.replace(
        profile_201(9001, ChargingProfilePurpose201.TX_DEFAULT_PROFILE, 6.0), stack_level=0)
    assert station.smart_charging.install(EvseProfile(evse_id, foreign)) is None
    station.after_profiles_changed()


def sets_and_clears(rows: list[AuditFrame]) -> list[tuple[str, int]]:
    """The SetChargingProfile and ClearChargingProfile calls sent, with the profile id."""
    return [(r.action, r.payload.get("chargingProfileId")
             or r.payload.get("chargingProfile", {}).get("id"))
            for r in rows if (r.direction, r.message_type) == ("out", "CALL")
            and r.action in ("ClearChargingProfile", "SetChargingProfile")]


async def test_a_foreign_profile_on_the_stack_level_of_a_lost_one_is_cleared_first(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    # The simulated station refuses a profile on the stack level, purpose and EVSE of one
    # it holds (K01.FR.06): chargeplan's profile must not be sent beside the other.
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2,
                         wait_configuration=False) as sim:
        station = station_of(sim)
        wanted = await send(http, 1, tx_default_watts(7000))
        quiet = await reconcile(http)
        assert quiet["detail"].get("drift") is None
        # The station loses it, and another central system puts its own in its place.
        assert station.lose_profile(wanted)
        foreign_tx_default(station, 1)
        mark = (await settled_audit_rows(server, SID))[-1].id

        run = await reconcile(http)

        # Missing (or, had the boot's verification sent it meanwhile, Rejected beside
        # the other): either way it goes again once the other is cleared.
        assert run["detail"]["drift"][SID]["extra"] == [9001]
        assert held(station) == {(1, wanted, "CSO")}
        assert station.limit_w(1) == 7000
        rows = since(await settled_audit_rows(server, SID), mark)
        assert sets_and_clears(rows)[-2:] == [("ClearChargingProfile", 9001),
                                              ("SetChargingProfile", wanted)]
    check_201_frames(await settled_audit_rows(server, SID))


async def test_a_profile_refused_beside_a_foreign_one_is_sent_again_once_it_is_cleared(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2,
                         wait_configuration=False) as sim:
        station = station_of(sim)
        await reconcile(http)
        foreign_tx_default(station, 1)
        refused = await http.post(f"/stations/{SID}/charging_profile", json={
            "connector_id": 1, "profile": tx_default_watts(7000)})
        assert refused.json()["status"] == "rejected", refused.text
        wanted = refused.json()["profile_id"]
        mark = (await settled_audit_rows(server, SID))[-1].id

        await reconcile(http)

        assert held(station) == {(1, wanted, "CSO")}
        assert station.limit_w(1) == 7000
        rows = since(await settled_audit_rows(server, SID), mark)
        assert sets_and_clears(rows)[-2:] == [("ClearChargingProfile", 9001),
                                              ("SetChargingProfile", wanted)]
        assert ("ClearChargingProfile", 9001) not in sets_and_clears(rows)[:-2]
        states = (await http.get(f"/stations/{SID}/charging_profiles")).json()
        assert [p["state"] for p in states] == ["accepted"]
    check_201_frames(await settled_audit_rows(server, SID))


async def test_a_station_that_does_not_report_in_time_is_unknown_not_empty(
    sqlite_url: str
) -> None:
    running = await start_server(make_settings(
        sqlite_url, call_timeout_s=1.0, reconcile_interval_s=3600, verify_interval_s=3600))
    try:
        async with httpx.AsyncClient(base_url=running.http_url, timeout=10) as http, \
                raw_station(running.station_url("CP-MUTE"), subprotocols=["ocpp2.0.1"],
                            answers={**RAW_201_ANSWERS,
                                     "SetChargingProfile": {"status": "Accepted"},
                                     "GetChargingProfiles": {"status": "Accepted"}}) as cp:
            await cp.ok("BootNotification", BOOT_201)
            sent = await http.post("/stations/CP-MUTE/charging_profile",
                                   json={"connector_id": 1, "profile": tx_default_watts(7000)})
            assert sent.json()["status"] == "success", sent.text
            mark = (await settled_audit_rows(running, "CP-MUTE"))[-1].id
            smart = running.services.smart_charging
            repair = asyncio.create_task(smart.reconcile_many(["CP-MUTE"], read_back=True))
            asked = await eventually(lambda: [c for c in cp.server_calls
                                              if c[2] == "GetChargingProfiles"], timeout=WAIT)
            # A page of another request is no answer to this one (K09.FR.01).
            stray = {**REPORT_201, "requestId": asked[0][3]["requestId"] + 1}
            assert await cp.ok("ReportChargingProfiles", stray) == {}
            report = (await repair)["CP-MUTE"]

            # Unknown: the mirror decides, as for 1.6; had silence meant "nothing held",
            # the profile would have been sent again.
            assert (report.read_backs, report.failures, report.drift) == (1, 1, None)
            assert report.pushed == [] and report.cleared == []
            rows = since(await settled_audit_rows(running, "CP-MUTE"), mark)
            assert {r.action for r in rows if r.message_type == "CALL"} == {
                "GetChargingProfiles", "ReportChargingProfiles"}
            profiles = (await http.get("/stations/CP-MUTE/charging_profiles")).json()
            assert [p["state"] for p in profiles] == ["accepted"], profiles
    finally:
        await stop_server(running)


async def boot_verified(http: httpx.AsyncClient, before: set[int]) -> bool:
    runs = (await http.get("/jobs", params={"job": "verify"})).json()
    return any(r["id"] not in before and r["trigger"] == "boot" and r["finished_at"]
               for r in runs)


async def test_a_boot_sends_nothing_on_trust_and_the_read_back_finds_what_was_lost(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """K01.FR.27: a 2.0.1 station keeps its profiles across a reboot, so its boot re-sends
    none of them; one that lost them anyway is found by the read-back."""
    async with simulated(server, http, ocpp_version="2.0.1", wait_configuration=False) as sim:
        cap = await send(http, 0, CAP)
        assert held(station_of(sim)) == {(0, cap, "CSO")}
    mark = (await settled_audit_rows(server, SID))[-1].id
    verified = {r["id"] for r in (await http.get("/jobs", params={"job": "verify"})).json()}
    # The same station boots again, this time holding nothing.
    async with simulated(server, http, register=False, ocpp_version="2.0.1",
                         wait_configuration=False) as sim:
        await eventually(lambda: boot_verified(http, verified), timeout=WAIT)
        rows = since(await settled_audit_rows(server, SID), mark)
        assert ("in", "CALL", "BootNotification") in check_201_frames(rows)
        assert calls_out(rows, "SetChargingProfile") == []
        run = await reconcile(http)
        assert run["detail"]["drift"] == {SID: {"missing": [cap], "different": [],
                                                "extra": []}}
        assert held(station_of(sim)) == {(0, cap, "CSO")}
    check_201_frames(await settled_audit_rows(server, SID))


async def reconcile_and_verify(http: httpx.AsyncClient) -> dict[str, Any]:
    """A reconcile run that sent something, once the verification after it finished (it
    writes the station's state too)."""
    before = {r["id"] for r in (await http.get("/jobs", params={"job": "verify"})).json()}
    run = await reconcile(http)

    async def verified() -> bool:
        runs = (await http.get("/jobs", params={"job": "verify"})).json()
        return any(r["id"] not in before and r["trigger"] == "after-reconcile"
                   and r["finished_at"] for r in runs)

    await eventually(verified, timeout=WAIT)
    return run


async def test_a_profile_lost_after_every_repair_is_left_unresolved_until_seen_held(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """CHARGEPLAN_DRIFT_MAX_REPAIRS bounds read-back repairs as it bounds verification's:
    the station is repaired that many times, then is drift_unresolved and sent nothing
    more until a read-back finds it holding its profiles again."""
    limit = server.services.settings.drift_max_repairs
    # The profile is desired before the station connects, so its boot sends and verifies
    # it, and no boot handling is still to come once the station is lost-and-repaired
    # below (a boot's verification would repair a loss before the read-back saw it).
    assert (await http.post("/stations", json={"station_id": SID})).status_code == 201
    pending = await http.post(f"/stations/{SID}/charging_profile",
                              json={"connector_id": 1, "profile": tx_default_watts(7000)})
    assert pending.status_code == 202, pending.text
    lost = int(pending.json()["profile_id"])
    verified = {r["id"] for r in (await http.get("/jobs", params={"job": "verify"})).json()}
    async with simulated(server, http, register=False, ocpp_version="2.0.1",
                         wait_configuration=False) as sim, sse(server.http_url) as events:
        station = station_of(sim)
        await eventually(lambda: boot_verified(http, verified), timeout=WAIT)
        assert (1, lost, "CSO") in held(station)

        async def state() -> dict[str, Any]:
            answer: dict[str, Any] = (
                await http.get(f"/stations/{SID}/verification")).json()
            return answer

        for repair in range(1, limit + 1):
            assert station.lose_profile(lost)
            run = await reconcile_and_verify(http)
            assert run["detail"]["changed"] == [SID], run
            assert (1, lost, "CSO") in held(station)
            assert (await state())["read_back_repairs"] == repair

        assert station.lose_profile(lost)
        mark = (await settled_audit_rows(server, SID))[-1].id
        run = await reconcile(http)
        assert run["detail"]["changed"] == []
        assert run["detail"]["drift"] == {SID: {"missing": [lost], "different": [],
                                                "extra": []}}
        now = await state()
        assert (now["state"], now["read_back_repairs"]) == ("drift_unresolved", limit)
        told = await eventually(lambda: [e for e in events.events
                                         if e["type"] == "verification.drift"
                                         and e["data"].get("unresolved")], timeout=WAIT)
        assert [(e["data"]["source"], e["data"]["repairs"], e["data"]["missing"])
                for e in told] == [("read-back", limit, [lost])]
        # Nor a reconcile that does not read back (its desired state changed elsewhere).
        await server.services.smart_charging.reconcile_many([SID])
        again = await reconcile(http)
        assert again["detail"]["changed"] == []
        rows = since(await settled_audit_rows(server, SID), mark)
        assert calls_out(rows, "SetChargingProfile") == []
        assert calls_out(rows, "ClearChargingProfile") == []
        assert (1, lost, "CSO") not in held(station)
        metrics = (await http.get("/metrics")).text
        assert "\nchargeplan_drift_unresolved_total 1" in metrics

        # Held again (an operator sent it): the count resets, and a loss is repaired.
        resent = await http.post(f"/stations/{SID}/commands/SetChargingProfile", json={
            "connectorId": 1, "csChargingProfiles": {
                **tx_default_watts(7000), "chargingProfileId": lost}})
        assert resent.status_code == 200, resent.text
        assert (1, lost, "CSO") in held(station)
        clean = await reconcile(http)
        assert clean["detail"].get("drift") is None
        assert (await state())["read_back_repairs"] == 0
        assert station.lose_profile(lost)
        repaired = await reconcile_and_verify(http)
        assert repaired["detail"]["changed"] == [SID]
        assert (1, lost, "CSO") in held(station)
        assert (await state())["read_back_repairs"] == 1
    check_201_frames(await settled_audit_rows(server, SID))
