"""Firmware updates and log uploads of an OCPP 2.0.1 station through the same REST commands
as a 1.6 station's, end to end to the simulated 2.0.1 station: the call reaches it in its
2.0.1 form (L01, L02, N01), its answer comes back in the 1.6 shape with the 2.0.1 status
beside, its status notifications are kept; a 1.6 station is sent what it always was."""

from __future__ import annotations

from typing import Any, cast

import httpx

from app.db.models import AuditFrame
from app.simulator.operations import FIRMWARE_STEPS, LOG_STEPS, SIGNED_FIRMWARE_STEPS
from app.simulator.station_v201 import SimulatedStation201
from tests.conftest import RunningServer, settled_audit_rows
from tests.e2e.harness import eventually, simulated

SID = "PY-SIM-0001"
FIRMWARE = {"location": "https://fw.example.com/v2.bin",
            "retrieveDateTime": "2030-01-07T08:00:00Z",
            "signingCertificate": "-----BEGIN CERTIFICATE-----", "signature": "c2lnbmF0dXJl"}
SIGNED = {"requestId": 12, "retries": 2, "retryInterval": 30, "firmware": FIRMWARE}
SECURITY_LOG = {"logType": "SecurityLog", "requestId": 13,
                "log": {"remoteLocation": "ftp://logs.example.com/"}}


async def command(http: httpx.AsyncClient, action: str, payload: dict[str, Any]
                  ) -> httpx.Response:
    return await http.post(f"/stations/{SID}/commands/{action}", json=payload)


async def shown(http: httpx.AsyncClient, name: str) -> Any:
    return (await http.get(f"/stations/{SID}")).json()[name]


def frames(rows: list[AuditFrame], direction: str, action: str) -> list[dict[str, Any]]:
    return [cast(dict[str, Any], r.payload) for r in rows
            if r.direction == direction and r.message_type == "CALL" and r.action == action]


async def test_both_firmware_updates_reach_a_201_station_as_update_firmware(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", operation_step_s=0.01) as sim:
        station = cast(SimulatedStation201, sim.stations[SID])
        unsigned = await command(http, "UpdateFirmware", {
            "location": "https://fw.example.com/v1.bin", "retrieveDate": "2030-01-07T08:00:00Z",
            "retries": 1})
        assert unsigned.status_code == 200, unsigned.text
        assert unsigned.json()["response"] == {"status": "Accepted"}
        await eventually(lambda: has_status(http, "firmware_status", "Installed"))

        signed = await command(http, "SignedUpdateFirmware", SIGNED)
        assert signed.status_code == 200, signed.text
        assert signed.json()["response"] == {"status": "Accepted"}
        await eventually(lambda: station.firmware.current(12)
                         and station.firmware.status == "Installed")
        # A status only 2.0.1 has is kept as it is; the station keeps a status once it is
        # answered, so this one comes after the update's last.
        await station.send_firmware_status("InvalidSignature", 12)
        assert await shown(http, "firmware_status") == "InvalidSignature"
    rows = await settled_audit_rows(server, SID)
    sent = frames(rows, "out", "UpdateFirmware")
    assert len(sent) == 2
    first_id = sent[0]["requestId"]
    assert sent == [{"requestId": first_id, "retries": 1, "firmware": {
        "location": "https://fw.example.com/v1.bin",
        "retrieveDateTime": "2030-01-07T08:00:00Z"}}, SIGNED]
    assert [(f["status"], f["requestId"]) for f in frames(
        rows, "in", "FirmwareStatusNotification")] == [
        *((s, first_id) for s in FIRMWARE_STEPS), *((s, 12) for s in SIGNED_FIRMWARE_STEPS),
        ("InvalidSignature", 12)]


async def test_get_log_and_get_diagnostics_reach_a_201_station_as_get_log(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", operation_step_s=0.01) as sim:
        station = cast(SimulatedStation201, sim.stations[SID])
        security = await command(http, "GetLog", SECURITY_LOG)
        assert security.status_code == 200, security.text
        assert security.json()["response"] == {"status": "Accepted",
                                               "filename": f"{SID}-SecurityLog.log"}
        await eventually(lambda: has_status(http, "diagnostics_status", "Uploaded"))

        diagnostics = await command(http, "GetDiagnostics", {
            "location": "ftp://logs.example.com/", "startTime": "2030-01-06T00:00:00Z",
            "retryInterval": 60})
        assert diagnostics.status_code == 200, diagnostics.text
        assert diagnostics.json()["response"] == {"status": "Accepted",
                                                  "fileName": f"{SID}-DiagnosticsLog.log"}
        await eventually(lambda: not station.log_upload.current(13)
                         and station.log_upload.status == "Uploaded")
        # 1.6 DiagnosticsStatusNotification is asked for as 2.0.1 LogStatusNotification;
        # with no upload ongoing the station says Idle.
        trigger = await command(http, "TriggerMessage",
                                {"requestedMessage": "DiagnosticsStatusNotification"})
        assert trigger.json()["response"] == {"status": "Accepted"}
        await eventually(lambda: has_status(http, "diagnostics_status", "Idle"))
    rows = await settled_audit_rows(server, SID)
    sent = frames(rows, "out", "GetLog")
    assert len(sent) == 2
    second_id = sent[1]["requestId"]
    assert sent == [SECURITY_LOG, {"logType": "DiagnosticsLog", "requestId": second_id,
                                   "retryInterval": 60, "log": {
                                       "remoteLocation": "ftp://logs.example.com/",
                                       "oldestTimestamp": "2030-01-06T00:00:00Z"}}]
    assert [(f["status"], f.get("requestId")) for f in frames(
        rows, "in", "LogStatusNotification")] == [
        *((s, 13) for s in LOG_STEPS), *((s, second_id) for s in LOG_STEPS), ("Idle", None)]


async def test_bad_firmware_and_log_bodies_are_400_naming_the_field_nothing_sent(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    long_location = "https://fw.example.com/" + "a" * 500
    async with simulated(server, http, ocpp_version="2.0.1"):
        too_long = await command(http, "UpdateFirmware", {
            "location": long_location, "retrieveDate": "2030-01-07T08:00:00Z"})
        unsigned = await command(http, "SignedUpdateFirmware", {
            **SIGNED, "firmware": {k: v for k, v in FIRMWARE.items() if k != "signature"}})
        wrong_type = await command(http, "GetLog", {**SECURITY_LOG, "logType": "AuditLog"})
        diagnostics = await command(http, "GetDiagnostics", {"location": long_location})
        # A later command's frames prove the audit writer has caught up.
        heartbeat = await command(http, "TriggerMessage", {"requestedMessage": "Heartbeat"})
        assert heartbeat.status_code == 200, heartbeat.text
    for answer, key in ((too_long, "location"), (unsigned, "firmware.signature"),
                        (wrong_type, "logType"), (diagnostics, "location")):
        assert answer.status_code == 400, answer.text
        assert [e["key"] for e in answer.json()["extra"]] == [key]
    sent = {r.action for r in await settled_audit_rows(server, SID) if r.direction == "out"}
    assert "TriggerMessage" in sent and not sent & {"UpdateFirmware", "GetLog"}


async def test_a_16_station_is_sent_its_own_firmware_and_diagnostics_calls(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    # 1.6 takes a location of any length (anyURI); only a 2.0.1 form holds 512.
    update = {"location": "https://fw.example.com/" + "a" * 500,
              "retrieveDate": "2030-01-07T08:00:00Z"}
    async with simulated(server, http, operation_step_s=0.01):
        answer = await command(http, "UpdateFirmware", update)
        assert (answer.status_code, answer.json()["response"]) == (200, {})
        diagnostics = await command(http, "GetDiagnostics",
                                    {"location": "ftp://logs.example.com/"})
        assert diagnostics.json()["response"] == {"fileName": f"{SID}-diagnostics.log"}
        await eventually(lambda: has_status(http, "firmware_status", "Installed"))
        await eventually(lambda: has_status(http, "diagnostics_status", "Uploaded"))
    rows = await settled_audit_rows(server, SID)
    assert frames(rows, "out", "UpdateFirmware") == [update]
    assert frames(rows, "out", "GetDiagnostics") == [{"location": "ftp://logs.example.com/"}]
    assert [f["status"] for f in frames(rows, "in", "FirmwareStatusNotification")] == list(
        FIRMWARE_STEPS)


async def has_status(http: httpx.AsyncClient, name: str, status: str) -> bool:
    return bool(await shown(http, name) == status)
