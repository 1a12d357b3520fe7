"""Operator commands over REST, each action end to end to the real simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.models import AuditFrame
from app.ocpp.v16.schemas import CENTRAL_SYSTEM_ACTIONS, SECURITY_CENTRAL_SYSTEM_ACTIONS
from app.services.fleet.commands import COMMAND_ACTIONS
from app.services.fleet.commands_v201 import V201_ACTIONS
from tests.conftest import RunningServer
from tests.e2e.harness import eventually, only, simulated

SID = "PY-SIM-0001"


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def soon(seconds: float = 3600) -> str:
    return stamp(datetime.now(UTC) + timedelta(seconds=seconds))


TX_DEFAULT_16A = {
    "chargingProfileId": 41, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {"chargingRateUnit": "A",
                         "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]},
}

# Each action with a payload and what the simulator answers to it.
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("RemoteStartTransaction", {"idTag": "OP-1", "connectorId": 2}, {"status": "Accepted"}),
    ("RemoteStopTransaction", {"transactionId": 999999}, {"status": "Rejected"}),
    ("Reset", {"type": "Soft"}, {"status": "Accepted"}),
    ("UnlockConnector", {"connectorId": 1}, {"status": "Unlocked"}),
    ("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}, {"status": "Accepted"}),
    ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "120"},
     {"status": "Accepted"}),
    ("GetConfiguration", {"key": ["NumberOfConnectors", "NoSuchKey"]},
     {"configurationKey": [{"key": "NumberOfConnectors", "readonly": True, "value": "2"}],
      "unknownKey": ["NoSuchKey"]}),
    ("ClearCache", {}, {"status": "Accepted"}),
    ("DataTransfer", {"vendorId": "chargeplan", "data": "ping"},
     {"status": "Accepted", "data": "ping"}),
    ("TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"},
     {"status": "Accepted"}),
    ("ReserveNow", {"connectorId": 1, "expiryDate": soon(), "idTag": "OP-1",
                    "reservationId": 5}, {"status": "Accepted"}),
    ("CancelReservation", {"reservationId": 77}, {"status": "Rejected"}),
    ("SendLocalList", {"listVersion": 3, "updateType": "Full",
                       "localAuthorizationList": [{"idTag": "OP-1",
                                                   "idTagInfo": {"status": "Accepted"}}]},
     {"status": "Accepted"}),
    ("GetLocalListVersion", {}, {"listVersion": 0}),
    ("UpdateFirmware", {"location": "https://example.com/fw.bin",
                        "retrieveDate": soon(0)}, {}),
    ("GetDiagnostics", {"location": "ftp://example.com/logs/"},
     {"fileName": f"{SID}-diagnostics.log"}),
    ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": TX_DEFAULT_16A},
     {"status": "Accepted"}),
    ("ClearChargingProfile", {"id": 12345}, {"status": "Unknown"}),
    ("GetCompositeSchedule", {"connectorId": 0, "duration": 60, "chargingRateUnit": "W"},
     {"status": "Accepted"}),
]


def test_every_central_system_action_has_a_route_and_a_case() -> None:
    assert set(COMMAND_ACTIONS) == {*CENTRAL_SYSTEM_ACTIONS, *SECURITY_CENTRAL_SYSTEM_ACTIONS}
    # The security extension's actions are played by tests/ocpp/test_security_extension.py.
    assert sorted(a for a, _, _ in CASES) == sorted(CENTRAL_SYSTEM_ACTIONS)


@pytest.mark.parametrize(("action", "payload", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_each_action_reaches_the_simulator_and_returns_its_answer(
    server: RunningServer, http: httpx.AsyncClient, action: str, payload: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    async with simulated(server, http):
        answer = await http.post(f"/stations/{SID}/commands/{action}", json=payload)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["station_id"], body["action"]) == ("success", SID, action)
    assert body["request"] == payload and body["error"] is None
    assert {k: body["response"].get(k) for k in expected} == expected


async def test_configuration_read_by_command_is_stored_and_a_change_updates_it(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http):
        changed = await http.post(f"/stations/{SID}/commands/ChangeConfiguration",
                                  json={"key": "MeterValueSampleInterval", "value": "15"})
        assert changed.json()["response"] == {"status": "Accepted"}
        config = (await http.get(f"/stations/{SID}")).json()["configuration"]
        assert config["MeterValueSampleInterval"]["value"] == "15"
        # A partial read refreshes those keys and keeps the others known.
        read = await http.post(f"/stations/{SID}/commands/GetConfiguration",
                               json={"key": ["MeterValueSampleInterval"]})
        assert read.json()["status"] == "success"
        station = (await http.get(f"/stations/{SID}")).json()
    assert station["configuration"]["MeterValueSampleInterval"]["value"] == "15"
    assert station["configuration"]["SupportedFeatureProfiles"]["value"].startswith("Core")


async def test_reservation_is_recorded_refused_when_taken_and_cancelled(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        reserve = {"connectorId": 1, "expiryDate": soon(), "idTag": "OP-1",
                   "reservationId": 5}
        first = await http.post(f"/stations/{SID}/commands/ReserveNow", json=reserve)
        assert first.json()["response"] == {"status": "Accepted"}
        await eventually(lambda: only(sim).connectors[1].status == "Reserved")
        other = await http.post(f"/stations/{SID}/commands/ReserveNow",
                                json={**reserve, "reservationId": 6})
        assert other.json()["response"] == {"status": "Occupied"}
        listed = (await http.get(f"/stations/{SID}/reservations")).json()
        assert [(r["reservation_id"], r["status"], r["expired"]) for r in listed] == [
            (5, "Accepted", False), (6, "Occupied", False)]
        cancel = await http.post(f"/stations/{SID}/commands/CancelReservation",
                                 json={"reservationId": 5})
        assert cancel.json()["response"] == {"status": "Accepted"}
        await eventually(lambda: only(sim).connectors[1].status == "Available")
        listed = (await http.get(f"/stations/{SID}/reservations")).json()
    assert listed[0]["status"] == "Cancelled"


async def test_reservation_expires_on_the_station_and_in_the_record(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        await http.post(f"/stations/{SID}/commands/ReserveNow", json={
            "connectorId": 2, "expiryDate": stamp(expiry), "idTag": "OP-1",
            "reservationId": 9})
        await eventually(lambda: only(sim).connectors[2].status == "Reserved")
        await eventually(lambda: only(sim).connectors[2].status == "Available")
        assert only(sim).operations.reservations == {}
        listed = (await http.get(f"/stations/{SID}/reservations")).json()
    assert [(r["reservation_id"], r["expired"]) for r in listed] == [(9, True)]


async def test_a_transaction_of_the_reserving_id_tag_uses_the_reservation(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        await http.post(f"/stations/{SID}/commands/ReserveNow", json={
            "connectorId": 1, "expiryDate": soon(), "idTag": "OP-1", "reservationId": 12})
        await eventually(lambda: only(sim).connectors[1].status == "Reserved")
        # OCPP 1.6 §5.13: the reserving idTag's transaction on the connector ends it.
        await only(sim).start_transaction(1, "OP-1")

        async def status() -> str:
            listed = (await http.get(f"/stations/{SID}/reservations")).json()
            return str(listed[0]["status"])

        await eventually(lambda: _awaited(status(), "Used"))
        assert only(sim).operations.reservations == {}


async def _awaited(got: Any, expected: Any) -> bool:
    return bool(await got == expected)


async def test_local_list_version_follows_send_local_list(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http):
        before = (await http.get(f"/stations/{SID}/local_list")).json()
        assert before["list_version"] is None
        sent = await http.post(f"/stations/{SID}/commands/SendLocalList", json={
            "listVersion": 7, "updateType": "Full",
            "localAuthorizationList": [{"idTag": "A", "idTagInfo": {"status": "Accepted"}}]})
        assert sent.json()["response"] == {"status": "Accepted"}
        assert (await http.get(f"/stations/{SID}/local_list")).json()["list_version"] == 7
        stale = await http.post(f"/stations/{SID}/commands/SendLocalList", json={
            "listVersion": 7, "updateType": "Differential", "localAuthorizationList": []})
        assert stale.json()["response"] == {"status": "VersionMismatch"}
        read = await http.post(f"/stations/{SID}/commands/GetLocalListVersion", json={})
        assert read.json()["response"] == {"listVersion": 7}
        shown = (await http.get(f"/stations/{SID}/local_list")).json()
    assert shown["list_version"] == 7


async def test_firmware_update_and_diagnostics_report_their_progress(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, operation_step_s=0.01):
        await http.post(f"/stations/{SID}/commands/UpdateFirmware", json={
            "location": "https://example.com/fw.bin", "retrieveDate": soon(0)})
        await http.post(f"/stations/{SID}/commands/GetDiagnostics",
                        json={"location": "ftp://example.com/logs/"})

        async def reported() -> bool:
            body = (await http.get(f"/stations/{SID}")).json()
            return bool(body["firmware_status"] == "Installed"
                        and body["diagnostics_status"] == "Uploaded")

        await eventually(reported)


async def test_profiles_by_command_are_desired_state_that_reconcile_keeps(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        sent = await http.post(f"/stations/{SID}/commands/SetChargingProfile",
                               json={"connectorId": 1, "csChargingProfiles": TX_DEFAULT_16A})
        assert sent.json()["response"] == {"status": "Accepted"}
        listed = (await http.get(f"/stations/{SID}/charging_profiles")).json()
        assert [(p["profile_id"], p["owner_kind"], p["owner_id"], p["state"])
                for p in listed] == [(41, "command", None, "accepted")]
        assert sent.json()["desired_profile_id"] == listed[0]["desired_id"]
        report = await server.services.smart_charging.reconcile(SID)
        assert report.calls == 0
        assert [p.profile.charging_profile_id for p in only(sim).installed_profiles] == [41]

        cleared = await http.post(f"/stations/{SID}/commands/ClearChargingProfile",
                                  json={"id": 41})
        assert cleared.json()["response"] == {"status": "Accepted"}
        assert only(sim).installed_profiles == ()
        assert (await http.get(f"/stations/{SID}/charging_profiles")).json() == []
        assert (await server.services.smart_charging.reconcile(SID)).calls == 0
    assert only(sim).installed_profiles == ()


async def test_a_profile_breaking_ocpp_rules_is_refused_naming_the_field(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    bad = {**TX_DEFAULT_16A, "chargingProfilePurpose": "ChargePointMaxProfile"}
    async with simulated(server, http) as sim:
        answer = await http.post(f"/stations/{SID}/commands/SetChargingProfile",
                                 json={"connectorId": 1, "csChargingProfiles": bad})
        assert answer.status_code == 400
        assert answer.json()["extra"][0]["key"] == "csChargingProfiles.chargingProfilePurpose"
        assert only(sim).installed_profiles == ()


async def test_invalid_body_is_refused_before_sending_naming_the_field(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http):
        wrong_type = await http.post(f"/stations/{SID}/commands/Reset",
                                     json={"type": "Warm"})
        missing = await http.post(f"/stations/{SID}/commands/UnlockConnector", json={})
        extra = await http.post(f"/stations/{SID}/commands/ClearCache", json={"x": 1})
        # A later command's frames prove the audit writer has caught up.
        await http.post(f"/stations/{SID}/commands/ClearCache", json={})

        async def sent_actions() -> set[str | None]:
            async with server.services.db.uow() as session:
                rows = (await session.scalars(select(AuditFrame).where(
                    AuditFrame.direction == "out", AuditFrame.message_type == "CALL"))).all()
            return {r.action for r in rows}

        await eventually(lambda: has(sent_actions, "ClearCache"))
        actions = await sent_actions()
    assert (wrong_type.status_code, wrong_type.json()["extra"][0]["key"]) == (400, "type")
    assert (missing.status_code, missing.json()["extra"][0]["key"]) == (400, "connectorId")
    assert (extra.status_code, extra.json()["extra"][0]["key"]) == (400, "x")
    assert "Reset" not in actions and "UnlockConnector" not in actions


async def has(check: Any, action: str) -> bool:
    return action in await check()


async def test_unknown_action_and_unknown_station_are_404(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    unknown = await http.post(f"/stations/{SID}/commands/StartTransaction", json={})
    assert unknown.status_code == 404
    assert unknown.json()["extra"][0]["valid_actions"] == [*COMMAND_ACTIONS, *V201_ACTIONS]
    assert "RemoteStartTransaction" in unknown.json()["detail"]
    nobody = await http.post("/stations/NOBODY/commands/Reset", json={"type": "Soft"})
    assert nobody.status_code == 404 and "NOBODY" in nobody.json()["detail"]


async def test_openapi_documents_each_actions_request_schema(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    paths = (await http.get("/docs/openapi.json")).json()["paths"]
    for action in COMMAND_ACTIONS:
        operation = paths[f"/stations/{{station_id}}/commands/{action}"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema["title"] == f"{action}Request"
    reserve = paths["/stations/{station_id}/commands/ReserveNow"]["post"]
    assert set(reserve["requestBody"]["content"]["application/json"]["schema"]["required"]) == {
        "connectorId", "expiryDate", "idTag", "reservationId"}
