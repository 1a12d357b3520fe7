"""What a command body may say to an OCPP 2.0.1 station that 1.6 cannot, end to end to the
simulated 2.0.1 station (what it received, every frame checked against the 2.0.1
schemas), and the same bodies refused for a 1.6 station before anything is sent."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import RunningServer, settled_audit_rows
from tests.e2e.harness import eventually, simulated
from tests.e2e.test_commands_failures import SID as RAW_16
from tests.e2e.test_commands_failures import booted
from tests.e2e.test_commands_v201 import TX_DEFAULT_16A
from tests.ocpp201 import check_201_frames, station_of

SID = "PY-SIM-0001"
ENABLED = {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Enabled"}}


async def command(http: httpx.AsyncClient, action: str, payload: dict[str, Any],
                  station_id: str = SID) -> httpx.Response:
    return await http.post(f"/stations/{station_id}/commands/{action}", json=payload)


async def base_report_in(http: httpx.AsyncClient) -> None:
    async def reported() -> bool:
        report = (await http.get(f"/stations/{SID}/variables")).json()["report"]
        return report is not None and report["completed_at"] is not None

    await eventually(reported)


async def sent_calls(server: RunningServer, action: str) -> list[dict[str, Any]]:
    rows = await settled_audit_rows(server, SID)
    check_201_frames(rows)
    return [r.payload for r in rows if r.message_type == "CALL" and r.action == action]


async def test_reset_trigger_availability_and_unlock_say_what_only_201_can(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2) as sim:
        station = station_of(sim)
        answers = [await command(http, action, body) for action, body in (
            ("Reset", {"type": "OnIdle"}),
            ("Reset", {"type": "Immediate", "evseId": 2}),
            ("Reset", {"type": "Soft"}),
            ("TriggerMessage", {"requestedMessage": "TransactionEvent"}),
            ("TriggerMessage", {"requestedMessage": "StatusNotification", "evseId": 2,
                                "connectorId": 1}),
            ("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}),
            ("ChangeAvailability", {"evseId": 2, "connectorId": 1, "type": "Inoperative"}),
            ("ChangeAvailability", {"evseId": 1, "connectorId": 0, "type": "Operative"}),
            ("ChangeAvailability", {"connectorId": 2, "type": "Operative"}),
            ("UnlockConnector", {"evseId": 2, "connectorId": 1}),
        )]
        assert [a.status_code for a in answers] == [200] * len(answers), [
            a.text for a in answers]
        assert [a.json()["response"]["status"] for a in answers] == [
            "Accepted", "Accepted", "Accepted", "Accepted", "Accepted", "Accepted",
            "Accepted", "Accepted", "Accepted", "Unlocked"]
    assert station.received == [
        ("Reset", {"type": "OnIdle", "evseId": None}),
        ("Reset", {"type": "Immediate", "evseId": 2}),
        ("Reset", {"type": "Immediate", "evseId": None}),
        ("TriggerMessage", {"requestedMessage": "TransactionEvent", "evse": None}),
        ("TriggerMessage", {"requestedMessage": "StatusNotification",
                            "evse": {"id": 2, "connectorId": 1}}),
        ("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate",
                            "evse": None}),
        ("ChangeAvailability", {"operationalStatus": "Inoperative",
                                "evse": {"id": 2, "connectorId": 1}}),
        ("ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 1}}),
        ("ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 2}}),
        ("UnlockConnector", {"evseId": 2, "connectorId": 1}),
    ]
    assert await sent_calls(server, "Reset") == [
        {"type": "OnIdle"}, {"type": "Immediate", "evseId": 2}, {"type": "Immediate"}]


async def test_a_remote_start_sends_the_id_tokens_own_type(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1"):
        typed = await command(http, "RemoteStartTransaction",
                              {"idTag": "04A2B3C4", "idTokenType": "ISO14443",
                               "connectorId": 1})
        assert typed.status_code == 200, typed.text
        central = await command(http, "RemoteStartTransaction", {"idTag": "OPS"})
        assert central.status_code == 200, central.text
    starts = await sent_calls(server, "RequestStartTransaction")
    assert [(s["idToken"], s.get("evseId")) for s in starts] == [
        ({"idToken": "04A2B3C4", "type": "ISO14443"}, 1),
        ({"idToken": "OPS", "type": "Central"}, None)]


async def test_bad_201_meanings_are_refused_naming_the_field(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1"):
        bad = await command(http, "RemoteStartTransaction",
                            {"idTag": "T", "idTokenType": "Badge"})
        assert bad.status_code == 400, bad.text
        assert [e["key"] for e in bad.json()["extra"]] == ["idTokenType"]
        bad = await command(http, "ChangeAvailability",
                            {"evseId": "1", "connectorId": -1, "type": "Sleeping"})
        assert bad.status_code == 400, bad.text
        assert sorted(e["key"] for e in bad.json()["extra"]) == [
            "connectorId", "evseId", "type"], bad.text
        bad = await command(http, "Reset", {"type": "Later", "evseId": 0})
        assert sorted(e["key"] for e in bad.json()["extra"]) == ["evseId", "type"]
    sent = {r.action for r in await settled_audit_rows(server, SID) if r.message_type == "CALL"}
    assert not sent & {"RequestStartTransaction", "ChangeAvailability", "Reset"}


async def test_a_16_station_is_refused_the_201_meanings_naming_each_field(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with booted(server, http, {}) as station:
        answers = {action: await command(http, action, body, RAW_16) for action, body in (
            ("RemoteStartTransaction", {"idTag": "T", "idTokenType": "ISO14443"}),
            ("Reset", {"type": "OnIdle", "evseId": 1}),
            ("TriggerMessage", {"requestedMessage": "TransactionEvent"}),
            ("ChangeAvailability", {"evseId": 1, "connectorId": 1, "type": "Inoperative"}),
            ("UnlockConnector", {"evseId": 1, "connectorId": 1}),
        )}
        sent = {c[2] for c in station.server_calls}
    assert {a: r.status_code for a, r in answers.items()} == dict.fromkeys(answers, 400)
    fields = {a: [(e["key"], e["message"]) for e in r.json()["extra"]]
              for a, r in answers.items()}
    assert fields["RemoteStartTransaction"] == [(
        "idTokenType", "OCPP 2.0.1 only: the station speaks 1.6 (a 1.6 idTag has no type)")]
    assert [k for k, _ in fields["Reset"]] == ["type", "evseId"]
    assert fields["Reset"][0][1] == (
        "OnIdle is OCPP 2.0.1 only: the station speaks 1.6 (OCPP 1.6 Reset is Hard or Soft)")
    assert [k for k, _ in fields["TriggerMessage"]] == ["requestedMessage"]
    assert [k for k, _ in fields["ChangeAvailability"]] == ["evseId"]
    assert [k for k, _ in fields["UnlockConnector"]] == ["evseId"]
    assert not sent & set(answers)


async def test_get_variables_is_split_by_the_stations_items_per_message(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    # The simulated station reports DeviceDataCtrlr.ItemsPerMessage[GetVariables] = 2.
    async with simulated(server, http, ocpp_version="2.0.1", report_items_per_message=2):
        await base_report_in(http)
        asked = [{"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": name}}
                 for name in ("Enabled", "RateUnit", "PeriodsPerSchedule", "ProfileStackLevel",
                              "Phases3to1")]
        answer = await command(http, "GetVariables", {"getVariableData": asked})
        assert answer.status_code == 200, answer.text
        results = answer.json()["response"]["getVariableResult"]
        assert [r["variable"]["name"] for r in results] == [
            a["variable"]["name"] for a in asked]
        assert {r["attributeStatus"] for r in results} == {"Accepted"}
    reads = [c["getVariableData"] for c in await sent_calls(server, "GetVariables")]
    mine = [r for r in reads if r[0]["variable"]["name"] in ("Enabled", "PeriodsPerSchedule",
                                                            "Phases3to1")][-3:]
    assert [len(r) for r in mine] == [2, 2, 1]
    assert [i["variable"]["name"] for r in mine for i in r] == [
        a["variable"]["name"] for a in asked]


async def test_monitors_are_set_and_cleared_in_requests_of_items_per_message(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    # The simulated station reports MonitoringCtrlr.ItemsPerMessage[SetVariableMonitoring]
    # and [ClearVariableMonitoring] = 2, and refuses a longer request as a whole.
    async with simulated(server, http, ocpp_version="2.0.1", report_items_per_message=2) as sim:
        await base_report_in(http)
        names = ("PeriodsPerSchedule", "ProfileStackLevel", "Entries", "RateUnit", "Phases3to1")
        asked = [{"value": 1 + i, "type": "Delta", "severity": 5,
                  "component": {"name": "SmartChargingCtrlr"},
                  "variable": {"name": name, **({"instance": "ChargingProfiles"}
                                                if name == "Entries" else {})}}
                 for i, name in enumerate(names)]
        answer = await command(http, "SetVariableMonitoring", {"setMonitoringData": asked})
        assert answer.status_code == 200, answer.text
        results = answer.json()["response"]["setMonitoringResult"]
        assert [(r["variable"]["name"], r["status"]) for r in results] == [
            (name, "Accepted") for name in names]
        ids = [r["id"] for r in results]
        assert sorted(station_of(sim).monitors) == sorted(ids)

        cleared = await command(http, "ClearVariableMonitoring", {"id": [*ids, 999]})
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["response"]["clearMonitoringResult"] == [
            *({"status": "Accepted", "id": i} for i in ids), {"status": "NotFound", "id": 999}]
        assert station_of(sim).monitors == {}
    sets = [len(c["setMonitoringData"]) for c in await sent_calls(server, "SetVariableMonitoring")]
    clears = [len(c["id"]) for c in await sent_calls(server, "ClearVariableMonitoring")]
    assert (sets, clears) == ([2, 2, 1], [2, 2, 2])
    check_201_frames(await settled_audit_rows(server, SID))


async def test_get_report_updates_only_what_it_names(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1") as sim:
        await base_report_in(http)
        before = (await http.get(f"/stations/{SID}/variables")).json()
        station_of(sim).device_model.set_value("SmartChargingCtrlr", "ProfileStackLevel", "3")
        answer = await command(http, "GetReport", {
            "requestId": 900, "componentVariable": [
                {"component": {"name": "SmartChargingCtrlr"},
                 "variable": {"name": "ProfileStackLevel"}}]})
        assert answer.json()["response"] == {"status": "Accepted"}, answer.text

        async def updated() -> bool:
            found = (await http.get(f"/stations/{SID}/variables", params={
                "component": "SmartChargingCtrlr", "variable": "ProfileStackLevel"})).json()
            return [v["value"] for v in found["variables"]] == ["3"]

        await eventually(updated)
        after = (await http.get(f"/stations/{SID}/variables")).json()
        empty = await command(http, "GetReport", {"requestId": 901, "componentVariable": [
            {"component": {"name": "NoSuchCtrlr"}}]})
        assert empty.json()["response"] == {"status": "EmptyResultSet"}
        assert await server.services.device_model.base_report_due(SID) is None
    assert len(after["variables"]) == len(before["variables"])
    assert after["report"]["request_id"] == before["report"]["request_id"]
    assert [c["requestId"] for c in await sent_calls(server, "GetReport")] == [900, 901]


async def test_a_stale_smart_charging_enabled_does_not_block_a_profile(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1") as sim:
        await base_report_in(http)
        model = station_of(sim).device_model
        model.set_value("SmartChargingCtrlr", "Enabled", "false")
        read = await command(http, "GetVariables", {"getVariableData": [ENABLED]})
        assert read.json()["response"]["getVariableResult"][0]["attributeValue"] == "false"
        # Switched on again at the station since it was read: the profile goes, and the
        # station's answer decides.
        model.set_value("SmartChargingCtrlr", "Enabled", "true")
        sent = await command(http, "SetChargingProfile",
                             {"connectorId": 1, "csChargingProfiles": TX_DEFAULT_16A})
        assert sent.status_code == 200, sent.text
        assert sent.json()["response"]["status"] == "Accepted"
        assert any("SmartChargingCtrlr.Enabled" in w for w in sent.json()["warnings"])
        assert len(await sent_calls(server, "SetChargingProfile")) == 1
        # Really off: the station's NotSupported is the answer, recorded on the profile.
        model.set_value("SmartChargingCtrlr", "Enabled", "false")
        refused = await command(http, "SetChargingProfile", {
            "connectorId": 1, "csChargingProfiles": {**TX_DEFAULT_16A, "stackLevel": 2,
                                                     "chargingProfileId": 42}})
    assert refused.status_code == 502, refused.text
    assert refused.json()["error"]["code"] == "NotSupported"


async def test_a_16_station_without_smart_charging_is_refused_a_profile(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    config = {"configurationKey": [{"key": "SupportedFeatureProfiles", "readonly": True,
                                    "value": "Core,RemoteTrigger"}]}
    async with booted(server, http, {"GetConfiguration": config}) as station:
        answer = await command(http, "SetChargingProfile",
                               {"connectorId": 1, "csChargingProfiles": TX_DEFAULT_16A}, RAW_16)
        sent = [c[2] for c in station.server_calls]
    assert answer.status_code == 400, answer.text
    assert "SupportedFeatureProfiles lacks SmartCharging" in answer.json()["detail"]
    assert "SetChargingProfile" not in sent
