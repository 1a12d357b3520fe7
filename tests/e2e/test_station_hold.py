"""An operator's hold on a station, end to end over REST and a raw station of each OCPP
version on the real server: its boot is answered Pending with the setting's interval,
its other CALLs refused with SecurityError on a connection that stays, chargeplan's
configuration calls still go out, a profile waits; released, it is asked to boot again,
accepted, and gets the profile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import (
    RunningServer,
    make_settings,
    settled_audit_rows,
    start_server,
    stop_server,
)
from tests.e2e.harness import eventually
from tests.ocpp201 import BOOT_201, RAW_201_ANSWERS, check_201_frames, stamp
from tests.ocpp_client import RawStation, raw_station

PENDING_INTERVAL_S = 7
TX_DEFAULT_16A = {
    "chargingProfileId": 41, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {"chargingRateUnit": "A",
                         "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]},
}
ANSWERS_16: dict[str, Any] = {
    "SetChargingProfile": {"status": "Accepted"}, "TriggerMessage": {"status": "Accepted"},
    "GetCompositeSchedule": {"status": "Rejected"},
    "ChangeConfiguration": {"status": "Accepted"}}
ANSWERS_201: dict[str, Any] = {**RAW_201_ANSWERS, **ANSWERS_16,
                               "GetChargingProfiles": {"status": "NoProfiles"}}


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(make_settings(
        sqlite_url, pending_boot_interval_s=PENDING_INTERVAL_S))
    try:
        yield running
    finally:
        await stop_server(running)


async def held(http: httpx.AsyncClient, station_id: str) -> None:
    assert (await http.post("/stations", json={"station_id": station_id})).status_code == 201
    answer = await http.put(f"/stations/{station_id}/hold", json={"reason": "commissioning"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["hold"]["reason"] == "commissioning"
    assert (await http.get(f"/stations/{station_id}")).json()["hold"]["since"]


def called(cp: RawStation, action: str) -> list[dict[str, Any]]:
    return [frame[3] for frame in cp.server_calls if frame[2] == action]


async def refused(cp: RawStation, action: str, payload: dict[str, Any]) -> None:
    frame = await cp.call(action, payload)
    assert frame[0] == 4 and frame[2] == "SecurityError", frame


async def a_profile_waits(http: httpx.AsyncClient, station_id: str) -> None:
    answer = await http.post(f"/stations/{station_id}/charging_profile",
                             json={"connector_id": 0, "profile": TX_DEFAULT_16A})
    assert answer.status_code == 202, answer.text


async def released(http: httpx.AsyncClient, cp: RawStation, station_id: str) -> None:
    answer = await http.delete(f"/stations/{station_id}/hold")
    assert answer.status_code == 200, answer.text
    assert answer.json()["hold"] is None
    await eventually(lambda: called(cp, "TriggerMessage") == [
        {"requestedMessage": "BootNotification"}])


async def delivered(http: httpx.AsyncClient, cp: RawStation, station_id: str) -> None:
    await eventually(lambda: len(called(cp, "SetChargingProfile")) == 1)

    async def accepted() -> bool:
        rows = (await http.get(f"/stations/{station_id}/charging_profiles")).json()
        return [r["state"] for r in rows] == ["accepted"]

    await eventually(accepted)


async def test_a_held_201_station_is_pending_until_released(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    sid = "CP-HELD-201"
    await held(http, sid)
    async with raw_station(server.station_url(sid), subprotocols=["ocpp2.0.1"],
                           answers=ANSWERS_201) as cp:
        booted = await cp.ok("BootNotification", BOOT_201)
        assert booted["status"] == "Pending" and booted["interval"] == PENDING_INTERVAL_S
        now = stamp(server.services.clock())
        # B02.FR.09: nothing else while Pending; the connection stays.
        await refused(cp, "StatusNotification", {
            "timestamp": now, "connectorStatus": "Available", "evseId": 1, "connectorId": 1})
        await refused(cp, "Heartbeat", {})
        assert (await http.get(f"/stations/{sid}")).json()["online"] is True
        read = await http.post(f"/stations/{sid}/commands/GetVariables", json={
            "getVariableData": [{"component": {"name": "SmartChargingCtrlr"},
                                 "variable": {"name": "Enabled"}}]})
        assert read.status_code == 200, read.text
        await a_profile_waits(http, sid)
        assert called(cp, "SetChargingProfile") == []

        await released(http, cp, sid)
        booted = await cp.ok("BootNotification", {**BOOT_201, "reason": "Triggered"})
        assert booted["status"] == "Accepted"
        await cp.ok("StatusNotification", {
            "timestamp": now, "connectorStatus": "Available", "evseId": 1, "connectorId": 1})
        await delivered(http, cp, sid)
    rows = await settled_audit_rows(server, sid)
    refusals = {r.unique_id for r in rows if r.message_type == "CALLERROR"}
    assert len(refusals) == 2
    seen = check_201_frames([r for r in rows if r.unique_id not in refusals])
    assert ("out", "CALL", "GetVariables") in seen


async def test_a_held_16_station_is_pending_until_released(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    sid = "CP-HELD-16"
    await held(http, sid)
    async with raw_station(server.station_url(sid), answers=ANSWERS_16) as cp:
        booted = await cp.boot()
        assert booted["status"] == "Pending" and booted["interval"] == PENDING_INTERVAL_S
        # OCPP 1.6 §4.2: no other request while Pending; the connection stays.
        await refused(cp, "StatusNotification",
                      {"connectorId": 1, "status": "Available", "errorCode": "NoError"})
        await refused(cp, "Heartbeat", {})
        read = await http.post(f"/stations/{sid}/commands/GetConfiguration", json={})
        assert read.status_code == 200, read.text
        change = await http.post(f"/stations/{sid}/commands/ChangeConfiguration",
                                 json={"key": "HeartbeatInterval", "value": "60"})
        assert change.status_code == 200, change.text
        await a_profile_waits(http, sid)
        assert called(cp, "SetChargingProfile") == []

        await released(http, cp, sid)
        assert (await cp.boot())["status"] == "Accepted"
        await cp.ok("Heartbeat", {})
        await delivered(http, cp, sid)
    errors = [r for r in await settled_audit_rows(server, sid)
              if r.message_type == "CALLERROR"]
    assert [(e.direction, e.error_code) for e in errors] == [("out", "SecurityError")] * 2


async def test_a_triggered_message_is_allowed_while_pending(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    sid = "CP-HELD-TRIG"
    await held(http, sid)
    async with raw_station(server.station_url(sid), answers=ANSWERS_16) as cp:
        assert (await cp.boot())["status"] == "Pending"
        trigger = await http.post(f"/stations/{sid}/commands/TriggerMessage",
                                  json={"requestedMessage": "Heartbeat"})
        assert trigger.status_code == 200, trigger.text
        # OCPP 1.6 §4.2: what a TriggerMessage asked for may be sent, once.
        await cp.ok("Heartbeat", {})
        await refused(cp, "Heartbeat", {})


async def test_hold_refuses_an_unknown_station_and_a_bad_body(
    http: httpx.AsyncClient
) -> None:
    assert (await http.put("/stations/NOPE/hold", json={})).status_code == 404
    assert (await http.delete("/stations/NOPE/hold")).status_code == 404
    assert (await http.post("/stations", json={"station_id": "CP-H"})).status_code == 201
    for body in ({"reason": 5}, {"reason": "x" * 201}, {"held": True}):
        answer = await http.put("/stations/CP-H/hold", json=body)
        assert answer.status_code == 400, answer.text
        assert ("held" if "held" in body else "reason") in answer.text
