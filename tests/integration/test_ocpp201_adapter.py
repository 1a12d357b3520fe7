"""OCPP 2.0.1 stations on the real server: the simulated 2.0.1 station (the real one of
``app/simulator``) connects with ``ocpp2.0.1`` over loopback, boots, runs a session and
takes profiles sent over REST, through the same services as a 1.6 station. Every frame of
these exchanges fits the 2.0.1 schemas (``tests/ocpp201.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.simulator.car import Car
from app.simulator.station import SimulatedStation
from tests.conftest import (
    RunningServer,
    make_settings,
    settled_audit_rows,
    start_server,
    stop_server,
)
from tests.e2e.harness import eventually, simulated
from tests.ocpp201 import check_201_frames, station_of
from tests.profiles import TX_DEFAULT_7KW

SID = "PY-SIM-0001"
WAIT = 60.0  # bounds a failure only


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(make_settings(sqlite_url, unknown_id_tag_status="Accepted"))
    try:
        yield running
    finally:
        await stop_server(running)


async def until(check: Any) -> Any:
    return await eventually(check, timeout=WAIT)


async def station_view(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.get(f"/stations/{SID}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_201_station_connects_boots_and_shows_its_version_and_connectors(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    # The server reads its configuration after the boot: the device model's variables.
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2) as sim:
        station = station_of(sim)

        async def statuses() -> dict[int, str]:
            body = await station_view(http)
            return {c["connector_id"]: c["status"] for c in body["connectors"]}

        assert await until(lambda: _equal(statuses(), {1: "Available", 2: "Available"}))
        body = await station_view(http)
        assert body["ocpp_version"] == "2.0.1"
        assert (body["vendor"], body["model"], body["firmware_version"]) == (
            "chargeplan", "PY-SIM-201", "1.0.0")
        assert body["online"] is True
        assert body["configuration"] == {
            "SupportedFeatureProfiles": {"value": "SmartCharging", "readonly": True},
            "ChargeProfileMaxStackLevel": {"value": "8", "readonly": True},
            "ChargingScheduleAllowedChargingRateUnit": {"value": "Current,Power",
                                                        "readonly": True},
            "ChargingScheduleMaxPeriods": {"value": "24", "readonly": True},
            "HeartbeatInterval": {"value": body["configuration"]["HeartbeatInterval"]["value"],
                                  "readonly": False}}
        changed = await http.post(f"/stations/{SID}/commands/ChangeConfiguration",
                                  json={"key": "HeartbeatInterval", "value": "120"})
        assert changed.json()["response"] == {"status": "Accepted"}, changed.text
        assert station.device_model.value("OCPPCommCtrlr", "HeartbeatInterval") == "120"
        await station.send_heartbeat()


async def _equal(got: Any, expected: Any) -> bool:
    return bool(await got == expected)


async def test_a_session_of_the_simulated_car_shows_with_its_meter_values(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2,
                         wait_configuration=False, meter_interval=0.2) as sim:
        station = station_of(sim)
        await station.plug_in(2, Car("EV-201", max_current_a=16.0))
        remote_id = station.transactions[2].transaction_id

        async def running() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = (await http.get(
                f"/stations/{SID}/transactions", params={"active": "true"})).json()["items"]
            return items

        (session,) = await until(running)
        assert (session["remote_id"], session["connector_id"], session["id_tag"]) == (
            remote_id, 2, "EV-201")
        assert session["id_tag_status"] == "Accepted"

        async def curve() -> list[dict[str, Any]]:
            body = (await http.get(f"/transactions/{session['id']}/meter_curve")).json()
            points: list[dict[str, Any]] = body["points"]
            return points if len(points) >= 3 else []

        points = await until(curve)
        assert all(p["energy_wh"] is not None for p in points)
        assert any(p["current_a"] for p in points)  # the car draws once it charges
        charging = await until(lambda: _status_is(http, 2, "Charging"))
        assert charging

        await station.unplug(2)

        async def stopped() -> dict[str, Any] | None:
            body: dict[str, Any] = (await http.get(
                f"/stations/{SID}/transactions")).json()["items"][0]
            return body if not body["active"] else None

        ended = await until(stopped)
        assert ended["id"] == session["id"]
        assert ended["stop_reason"] == "EVDisconnected"
        assert ended["meter_stop"] >= ended["meter_start"]


async def _status_is(http: httpx.AsyncClient, connector_id: int, status: str) -> bool:
    body = (await http.get(f"/stations/{SID}")).json()
    return any(c["connector_id"] == connector_id and c["status"] == status
               for c in body["connectors"])


async def test_a_profile_sent_over_rest_arrives_as_201_and_verifies(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2,
                         wait_configuration=False) as sim:
        station = station_of(sim)
        sent = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        body = sent.json()
        assert sent.status_code == 200 and body["status"] == "success", body
        (held,) = station.smart_charging.held
        assert (held.evse_id, held.profile.charging_profile_id) == (1, body["profile_id"])
        assert held.profile.purpose.value == "TxDefaultProfile"
        # 2.0.1 needs a startSchedule on an Absolute profile (K01.FR.40): the send time.
        assert held.profile.schedule.start_schedule is not None
        assert station.limit_w(1) == 7000

        peak = await http.post(f"/stations/{SID}/test_profiles", json={
            "scenario": "peak_shaving", "connector_id": 1, "max_power_w": 11000})
        assert peak.json()["status"] == "success", peak.text
        purposes = {(h.evse_id, h.profile.purpose.value) for h in station.smart_charging.held}
        assert purposes == {(1, "TxDefaultProfile"), (0, "ChargingStationMaxProfile")}

        composite = await http.get(f"/stations/{SID}/composite_schedule", params={
            "connector_id": 1, "duration": 3600, "charging_rate_unit": "W"})
        report = composite.json()
        assert composite.status_code == 200 and report["status"] == "success", report
        assert report["matches"] is True
        periods = report["schedule"]["chargingSchedule"]["chargingSchedulePeriod"]
        assert periods[0] == {"startPeriod": 0, "limit": 7000}

        cleared = await http.delete(f"/stations/{SID}/charging_profile",
                                    params={"profile_id": body["profile_id"]})
        assert cleared.status_code == 200, cleared.text
        assert {h.evse_id for h in station.smart_charging.held} == {0}

    seen = check_201_frames(await settled_audit_rows(server, SID))
    for action in ("SetChargingProfile", "GetCompositeSchedule", "ClearChargingProfile"):
        assert ("out", "CALL", action) in seen and ("in", "CALLRESULT", action) in seen


async def test_a_tx_profile_names_the_stations_own_transaction_id(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=1,
                         wait_configuration=False) as sim:
        station = station_of(sim)
        await station.plug_in(1, Car("EV-TX", max_current_a=32.0))
        remote_id = station.transactions[1].transaction_id

        async def session_id() -> int | None:
            items = (await http.get(f"/stations/{SID}/transactions")).json()["items"]
            return int(items[0]["id"]) if items else None

        tx_id = await until(session_id)
        sent = await http.post(f"/stations/{SID}/charging_profile", json={
            "connector_id": 1, "profile": {
                "stackLevel": 1, "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative", "transactionId": tx_id,
                "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 10}]}}})
        assert sent.json()["status"] == "success", sent.text
        # Beside the TxProfile chargeplan offered when the car's needs came (stack level
        # 0, K15), the operator's at stack level 1, naming the station's transaction.
        (held,) = [h for h in station.smart_charging.held if h.profile.stack_level == 1]
        assert held.profile.transaction_id == remote_id
        assert station.limit_a(1) == 10.0

        needs = (await http.get(f"/transactions/{tx_id}/needs")).json()
        assert needs["source"] == "ev"  # NotifyEVChargingNeeds reached the session
        assert (needs["detail"]["ev_min_current_a"], needs["detail"]["ev_max_current_a"]) == (
            6.0, 32.0)

    check_201_frames(await settled_audit_rows(server, SID))


async def test_the_grid_operators_limit_is_kept_as_an_external_limit(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=1,
                         wait_configuration=False, grid_limit_a=10.0):

        async def limits() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (
                await http.get(f"/stations/{SID}/external_limits")).json()
            return found

        (limit,) = await until(limits)
        assert (limit["evse_id"], limit["source"], limit["is_grid_critical"]) == (0, "SO", True)
        assert limit["schedules"][0]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 10.0}]
    check_201_frames(await settled_audit_rows(server, SID))


def circuit_settings(sqlite_url: str, **extra: Any) -> Any:
    """Re-plans at once; leases, reconciles and verifications out of the way."""
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted",
                         circuit_debounce_s=0.05, circuit_lease_s=3600,
                         circuit_replan_interval_s=1700,
                         reconcile_interval_s=3600, verify_interval_s=3600, **extra)


async def test_a_circuit_shares_its_current_among_201_sessions(sqlite_url: str) -> None:
    running = await start_server(circuit_settings(sqlite_url))
    try:
        async with httpx.AsyncClient(base_url=running.http_url, timeout=10) as http:
            created = await http.post("/circuits", json={
                "id": "c201", "max_current_a": 16, "margin_a": 0, "connector_count": 2})
            assert created.status_code == 201, created.text
            async with simulated(running, http, ocpp_version="2.0.1", connectors=2,
                                 meter_interval=0.5) as sim:
                placed = await http.patch(f"/stations/{SID}", json={
                    "circuit_id": "c201", "phase_rotation": "RST", "max_current_a": 32})
                assert placed.status_code == 200, placed.text
                station = station_of(sim)
                for evse in (1, 2):
                    await station.plug_in(evse, Car(f"EV-{evse}", max_current_a=32.0))
                remote_ids = {tx.transaction_id for tx in station.transactions.values()}

                def tx_profiles() -> list[Any]:
                    return [h for h in station.smart_charging.held
                            if h.profile.purpose.value == "TxProfile"]

                # Each session's share is a TxProfile naming the station's own transaction.
                shares = await until(lambda: tx_profiles() if len(tx_profiles()) == 2 else None)
                assert {h.profile.transaction_id for h in shares} == remote_ids
                assert {h.evse_id for h in shares} == {1, 2}
                assert station.limit_a(1) + station.limit_a(2) <= 16.0 + 0.01
        check_201_frames(await settled_audit_rows(running, SID))
    finally:
        await stop_server(running)


async def test_a_remote_start_over_rest_starts_a_session_on_the_201_station(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2,
                         wait_configuration=False) as sim:
        station = station_of(sim)
        answer = await http.post(f"/stations/{SID}/commands/RemoteStartTransaction",
                                 json={"idTag": "DRIVER-7", "connectorId": 2})
        assert answer.status_code == 200, answer.text
        assert answer.json()["response"] == {"status": "Accepted"}

        async def running() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = (await http.get(
                f"/stations/{SID}/transactions", params={"active": "true"})).json()["items"]
            return items

        (session,) = await until(running)
        assert (session["connector_id"], session["id_tag"]) == (2, "DRIVER-7")
        assert session["remote_id"] == station.transactions[2].transaction_id
        # A second start on the busy EVSE is refused by the station, and said so.
        again = await http.post(f"/stations/{SID}/commands/RemoteStartTransaction",
                                json={"idTag": "DRIVER-8", "connectorId": 2})
        assert again.json()["response"] == {"status": "Rejected"}
    rows = await settled_audit_rows(server, SID)
    starts = [r.payload for r in rows if r.action == "TransactionEvent"
              and r.direction == "in" and r.payload.get("eventType") == "Started"]
    calls = [r.payload for r in rows if r.action == "RequestStartTransaction"
             and r.message_type == "CALL"]
    assert starts[0]["triggerReason"] == "RemoteStart"
    assert starts[0]["transactionInfo"]["remoteStartId"] == calls[0]["remoteStartId"]
    check_201_frames(rows)


async def test_a_16_and_a_201_station_on_one_circuit_share_it_by_the_same_rule(
    sqlite_url: str
) -> None:
    # The water level's rule (the planner would serve the 2.0.1 car's stated need first).
    running = await start_server(circuit_settings(sqlite_url, circuit_planning=False))
    try:
        async with httpx.AsyncClient(base_url=running.http_url, timeout=10) as http:
            created = await http.post("/circuits", json={
                "id": "mixed", "max_current_a": 20, "margin_a": 0, "connector_count": 2})
            assert created.status_code == 201, created.text
            async with simulated(running, http, id_prefix="OLD-") as old, \
                    simulated(running, http, ocpp_version="2.0.1", id_prefix="NEW-",
                              wait_configuration=False) as new:
                for station_id in ("OLD-0001", "NEW-0001"):
                    placed = await http.patch(f"/stations/{station_id}", json={
                        "circuit_id": "mixed", "phase_rotation": "RST", "max_current_a": 32})
                    assert placed.status_code == 200, placed.text
                (old_station,) = old.stations.values()
                assert isinstance(old_station, SimulatedStation)
                await old_station.start_transaction(1, "OLD-TAG")
                await station_of(new).plug_in(1, Car("NEW-TAG", max_current_a=32.0))

                async def both_limited() -> dict[str, Any] | None:
                    views = {sid: (await http.get(f"/stations/{sid}/connectors/1/limit")).json()
                             for sid in ("OLD-0001", "NEW-0001")}
                    held = all(any(p["purpose"] == "TxProfile" and p["state"] == "accepted"
                                   for p in view["profiles"]) for view in views.values())
                    return views if held and all(
                        v["limit_a"] == 10.0 for v in views.values()) else None

                # 20 A shared evenly, each share a TxProfile its station accepted.
                views = await until(both_limited)
                assert {sid: v["circuit"]["limit_a"] for sid, v in views.items()} == {
                    "OLD-0001": 10.0, "NEW-0001": 10.0}
                solved = (await http.get("/circuits/mixed/allocation")).json()
                assert sorted((s["station_id"], s["limit_a"]) for s in solved["sessions"]) == [
                    ("NEW-0001", 10.0), ("OLD-0001", 10.0)]
                versions = {sid: (await http.get(f"/stations/{sid}")).json()["ocpp_version"]
                            for sid in ("OLD-0001", "NEW-0001")}
                assert versions == {"OLD-0001": "1.6", "NEW-0001": "2.0.1"}
    finally:
        await stop_server(running)
