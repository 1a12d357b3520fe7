"""The commands only OCPP 2.0.1 has, over REST, end to end to the simulated 2.0.1 station:
what it answers comes back, what it reports is kept, a 1.6 station and bad input are
refused before anything is sent."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any, cast

import httpx

from app.cli.octt_bridge import RestApi, handler_for
from app.services.fleet.commands_v201 import V201_ACTIONS
from app.simulator.device_model import Variable
from tests.conftest import RunningServer, settled_audit_rows
from tests.e2e.harness import eventually, simulated

SID = "PY-SIM-0001"
TX_DEFAULT_16A = {
    "chargingProfileId": 41, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {"chargingRateUnit": "A",
                         "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]},
}


async def command(http: httpx.AsyncClient, action: str, payload: dict[str, Any]
                  ) -> httpx.Response:
    return await http.post(f"/stations/{SID}/commands/{action}", json=payload)


async def variables(http: httpx.AsyncClient, **query: str) -> dict[str, Any]:
    answer = await http.get(f"/stations/{SID}/variables", params=query)
    assert answer.status_code == 200, answer.text
    return cast(dict[str, Any], answer.json())


async def test_the_base_report_is_asked_after_the_first_boot_and_then_known(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1"):
        async def reported() -> bool:
            report = (await variables(http))["report"]
            return report is not None and report["completed_at"] is not None

        await eventually(reported)
        smart = await variables(http, component="SmartChargingCtrlr",
                                variable="ProfileStackLevel")
        assert [v["value"] for v in smart["variables"]] == ["8"]
        assert await server.services.device_model.base_report_due(SID) is None
    asked = [r for r in await settled_audit_rows(server, SID)
             if r.action == "GetBaseReport" and r.message_type == "CALL"]
    assert [r.payload["reportBase"] for r in asked] == ["FullInventory"]


async def test_get_and_set_variables_return_each_result_and_keep_the_accepted_ones(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    heartbeat = {"component": {"name": "OCPPCommCtrlr"},
                 "variable": {"name": "HeartbeatInterval"}}
    unknown = {"component": {"name": "NoSuchCtrlr"}, "variable": {"name": "Nothing"}}
    async with simulated(server, http, ocpp_version="2.0.1") as sim:
        set_answer = await command(http, "SetVariables", {"setVariableData": [
            {**heartbeat, "attributeValue": "120"}, {**unknown, "attributeValue": "1"}]})
        assert set_answer.status_code == 200, set_answer.text
        assert [r["attributeStatus"] for r in set_answer.json()["response"][
            "setVariableResult"]] == ["Accepted", "UnknownComponent"]
        stored = await variables(http, component="OCPPCommCtrlr", variable="HeartbeatInterval")
        assert [v["value"] for v in stored["variables"]] == ["120"]

        station = next(iter(sim.stations.values()))
        station.device_model.find(heartbeat["component"], heartbeat["variable"]).value = "90"
        get_answer = await command(http, "GetVariables",
                                   {"getVariableData": [heartbeat, unknown]})
        assert get_answer.status_code == 200, get_answer.text
        results = get_answer.json()["response"]["getVariableResult"]
        assert [(r["attributeStatus"], r.get("attributeValue")) for r in results] == [
            ("Accepted", "90"), ("UnknownComponent", None)]
        stored = await variables(http, component="OCPPCommCtrlr", variable="HeartbeatInterval")
    assert [v["value"] for v in stored["variables"]] == ["90"]


async def test_a_basic_auth_password_is_never_shown_stored_or_audited_in_clear(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """SecurityCtrlr.BasicAuthPassword (the station's password under security profiles 1
    and 2) is masked wherever chargeplan keeps or shows it, even from a station that
    reports it although it is write-only."""
    password = "Fresh-Secret-0042"
    secret = {"component": {"name": "SecurityCtrlr"},
              "variable": {"name": "BasicAuthPassword"}}
    async with simulated(server, http, ocpp_version="2.0.1") as sim:
        station = next(iter(sim.stations.values()))
        station.device_model.add(Variable("SecurityCtrlr", "BasicAuthPassword",
                                          "Old-Station-Secret-41", "string", writable=True))
        set_answer = await command(http, "SetVariables", {"setVariableData": [
            {**secret, "attributeValue": password}]})
        assert set_answer.status_code == 200, set_answer.text
        assert set_answer.json()["request"]["setVariableData"][0]["attributeValue"] == "***"
        assert [r["attributeStatus"] for r in set_answer.json()["response"][
            "setVariableResult"]] == ["Accepted"]
        assert station.device_model.find(secret["component"],
                                         secret["variable"]).value == password  # type: ignore[union-attr]

        get_answer = await command(http, "GetVariables", {"getVariableData": [secret]})
        assert get_answer.json()["response"]["getVariableResult"][0]["attributeValue"] == "***"
        assert password not in get_answer.text
        report = await command(http, "GetBaseReport",
                               {"requestId": 77, "reportBase": "ConfigurationInventory"})
        assert report.json()["response"] == {"status": "Accepted"}

        async def reported() -> bool:
            found = (await variables(http))["report"]
            return found is not None and found["request_id"] == 77 and (
                found["completed_at"] is not None)

        await eventually(reported)
        stored = await variables(http, component="SecurityCtrlr", variable="BasicAuthPassword")
        assert [v["value"] for v in stored["variables"]] == ["***"]
    rows = await settled_audit_rows(server, SID)
    assert {"SetVariables", "GetVariables", "NotifyReport"} <= {r.action for r in rows}
    assert not [r.id for r in rows if password in str(r.payload)
                or "Old-Station-Secret-41" in str(r.payload)]


async def test_get_base_report_is_answered_and_its_pages_replace_the_model(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1"):
        summary = await command(http, "GetBaseReport",
                                {"requestId": 500, "reportBase": "SummaryInventory"})
        assert summary.json()["response"] == {"status": "NotSupported"}
        inventory = await command(http, "GetBaseReport",
                                  {"requestId": 501, "reportBase": "ConfigurationInventory"})
        assert inventory.json()["response"] == {"status": "Accepted"}

        async def in_force() -> bool:
            report = (await variables(http))["report"]
            return report is not None and report["request_id"] == 501

        await eventually(in_force)


async def test_get_charging_profiles_returns_what_the_station_reported(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1"):
        sent = await command(http, "SetChargingProfile",
                             {"connectorId": 1, "csChargingProfiles": TX_DEFAULT_16A})
        assert sent.json()["response"]["status"] == "Accepted", sent.text
        held = await command(http, "GetChargingProfiles", {
            "requestId": 7, "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"}})
        assert held.status_code == 200, held.text
        body = held.json()
        assert body["response"] == {"status": "Accepted"}
        assert body["report_complete"] is True
        assert [(p["evseId"], p["chargingLimitSource"], p["chargingProfile"]["id"])
                for p in body["reported"]] == [(1, "CSO", 41)]
        none = await command(http, "GetChargingProfiles", {
            "requestId": 8, "chargingProfile": {"chargingProfilePurpose": "TxProfile"}})
        assert (none.json()["response"], none.json()["reported"]) == (
            {"status": "NoProfiles"}, [])
        status = await command(http, "GetTransactionStatus", {"transactionId": "none-such"})
    assert status.json()["response"] == {"messagesInQueue": False, "ongoingIndicator": False}


async def test_a_16_station_and_bad_input_are_refused_before_anything_is_sent(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http):
        refused = await command(http, "GetVariables", {"getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}]})
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == (
            f"station {SID!r} speaks OCPP 1.6: GetVariables is an OCPP 2.0.1 action")
        bad = await command(http, "GetVariables", {"getVariableData": [
            {"component": {}, "variable": {"name": "OfflineThreshold"}}]})
        assert bad.status_code == 400, bad.text
        assert [(e["key"], e["message"]) for e in bad.json()["extra"]] == [
            ("getVariableData[0].component.name", "is required")]
        bad = await command(http, "GetBaseReport", {"requestId": 1, "reportBase": "All"})
        assert [e["key"] for e in bad.json()["extra"]] == ["reportBase"]
    sent = {r.action for r in await settled_audit_rows(server, SID) if r.message_type == "CALL"}
    assert not sent & set(V201_ACTIONS)


async def test_openapi_shows_each_201_command_with_its_201_schema(
    http: httpx.AsyncClient,
) -> None:
    schema = (await http.get("/docs/openapi.json")).json()
    for action in V201_ACTIONS:
        operation = schema["paths"][f"/stations/{{station_id}}/commands/{action}"]["post"]
        body = operation["requestBody"]
        assert body["description"] == f"OCPP 2.0.1 {action}Request, camelCase, exactly as sent"
        assert body["content"]["application/json"]["schema"]["title"] == f"{action}Request"
        assert "409" in operation["responses"]


async def test_the_octt_bridge_turns_a_trigger_into_the_rest_command(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    bridge = ThreadingHTTPServer(("127.0.0.1", 0),
                                 handler_for(RestApi(server.http_url, None, 30.0)))
    thread = threading.Thread(target=bridge.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{bridge.server_address[1]}/api/octt/2.0.1/{SID}"
    try:
        async with simulated(server, http, ocpp_version="2.0.1"), httpx.AsyncClient(
                timeout=30) as client:
            answer = await client.post(f"{url}/get-variables", json={"getVariableData": [
                {"component": {"name": "OCPPCommCtrlr"},
                 "variable": {"name": "HeartbeatInterval"}}]})
            assert answer.status_code == 200, answer.text
            assert answer.json()["response"]["getVariableResult"][0]["attributeStatus"] == (
                "Accepted")
            unknown = await client.post(f"{url}/call/CostUpdated", json={})
            assert unknown.status_code == 501
            # A 2.0.1 command the bridge passes on: the body's fault comes back named.
            bad = await client.post(f"{url}/call/SetDisplayMessage", json={})
            assert bad.status_code == 400, bad.text
            assert [item["key"] for item in bad.json()["extra"]] == ["message"]
    finally:
        bridge.shutdown()
        bridge.server_close()
        thread.join()
