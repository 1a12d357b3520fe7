"""Commands that get no CALLRESULT: CALLERROR, timeout, a socket closed mid-call, offline;
and stations that never reported their capabilities."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import configuration_read, eventually
from tests.ocpp_client import RawStation, raw_station

SID = "CP-RAW-1"




@asynccontextmanager
async def booted(server: RunningServer, http: httpx.AsyncClient,
                 answers: dict[str, Any]) -> AsyncIterator[RawStation]:
    async with raw_station(server.station_url(SID), answers=answers) as station:
        await station.boot()
        await eventually(lambda: configuration_read(http, SID))
        yield station


async def call_arrived(station: RawStation, action: str) -> list[Any]:
    return await eventually(lambda: next(
        (c for c in station.server_calls if c[2] == action), None))


async def test_callerror_comes_back_with_its_code_and_description(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with booted(server, http, {"Reset": None}) as station:
        request = asyncio.create_task(http.post(f"/stations/{SID}/commands/Reset",
                                                json={"type": "Hard"}))
        frame = await call_arrived(station, "Reset")
        await station.send_raw(json.dumps(
            [4, frame[1], "NotSupported", "no hard reset here", {"why": "test"}]))
        answer = await request
    assert answer.status_code == 502
    body = answer.json()
    assert body["status"] == "error" and body["response"] is None
    assert body["error"] == {"kind": "callerror", "reason": body["error"]["reason"],
                             "code": "NotSupported", "description": "no hard reset here",
                             "details": {"why": "test"}}


async def test_no_answer_ends_as_a_timeout(sqlite_url: str) -> None:
    # A call timeout of its own: short, as the test waits it out; long enough for the
    # answer to the configuration read after the boot however loaded the machine.
    server = await start_server(make_settings(sqlite_url, call_timeout_s=2.0))
    try:
        async with (httpx.AsyncClient(base_url=server.http_url, timeout=10) as http,
                    booted(server, http, {"ClearCache": None})):
            answer = await http.post(f"/stations/{SID}/commands/ClearCache", json={})
    finally:
        await stop_server(server)
    assert answer.status_code == 504
    assert answer.json()["error"]["kind"] == "timeout"
    assert "2 s" in answer.json()["error"]["reason"]


async def test_a_station_answer_breaking_the_schema_is_reported(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with booted(server, http, {"UnlockConnector": {"status": "Maybe"}}):
        answer = await http.post(f"/stations/{SID}/commands/UnlockConnector",
                                 json={"connectorId": 1})
    assert answer.status_code == 502
    assert answer.json()["error"]["kind"] == "invalid_response"


async def test_closing_the_socket_mid_call_ends_the_call_at_once(
    sqlite_url: str,
) -> None:
    # A long timeout, so only the close can end the call quickly.
    server = await start_server(make_settings(sqlite_url, call_timeout_s=30.0))
    try:
        async with (httpx.AsyncClient(base_url=server.http_url, timeout=10) as http,
                    booted(server, http, {"GetDiagnostics": None}) as station):
            request = asyncio.create_task(http.post(
                f"/stations/{SID}/commands/GetDiagnostics",
                json={"location": "ftp://example.com/"}))
            await call_arrived(station, "GetDiagnostics")
            await station.close()
            answer = await request
    finally:
        await stop_server(server)
    # Ended by the close ("offline"), not by the 30 s call timeout ("timeout", 504).
    assert answer.status_code == 409
    assert answer.json()["error"] == {"kind": "offline", "reason": "station offline",
                                      "code": None, "description": None, "details": None}


async def test_one_off_commands_to_an_offline_station_fail_at_once_profiles_wait(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/stations", json={"station_id": "CP-OFF"})
    reset = await http.post("/stations/CP-OFF/commands/Reset", json={"type": "Soft"})
    # Refused as offline, not sent and left to time out.
    assert reset.status_code == 409 and reset.json()["error"]["kind"] == "offline"
    profile = await http.post("/stations/CP-OFF/commands/SetChargingProfile", json={
        "connectorId": 0, "csChargingProfiles": {
            "chargingProfileId": 3, "stackLevel": 0,
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Absolute", "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}]}}})
    assert profile.status_code == 202
    body = profile.json()
    assert body["pending"] is True and body["error"]["kind"] == "offline"
    listed = (await http.get("/stations/CP-OFF/charging_profiles")).json()
    assert [(p["profile_id"], p["state"]) for p in listed] == [(3, "pending")]


async def test_unknown_capabilities_do_not_block_profiles_and_warn(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    # The raw station answers GetConfiguration with no keys at all, as many do.
    async with booted(server, http,
                      {"SetChargingProfile": {"status": "Accepted"}}) as station:
        answer = await http.post(f"/stations/{SID}/commands/SetChargingProfile", json={
            "connectorId": 1, "csChargingProfiles": {
                "chargingProfileId": 8, "stackLevel": 30,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute", "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}]}}})
        assert [c[2] for c in station.server_calls].count("SetChargingProfile") == 1
    body = answer.json()
    assert answer.status_code == 200 and body["response"] == {"status": "Accepted"}
    assert any("SupportedFeatureProfiles" in w for w in body["warnings"])
    assert any("ChargeProfileMaxStackLevel" in w for w in body["warnings"])


async def test_a_station_without_smart_charging_is_refused_a_remote_start_profile(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    config = {"configurationKey": [{"key": "SupportedFeatureProfiles", "readonly": True,
                                    "value": "Core,RemoteTrigger"}]}
    async with booted(server, http, {"GetConfiguration": config}) as station:
        answer = await http.post(f"/stations/{SID}/commands/RemoteStartTransaction", json={
            "idTag": "T", "connectorId": 1, "chargingProfile": {
                "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative", "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}}})
        sent = [c[2] for c in station.server_calls]
    assert answer.status_code == 400 and answer.json()["extra"][0]["key"] == "chargingProfile"
    assert "RemoteStartTransaction" not in sent
