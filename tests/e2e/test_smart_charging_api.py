"""The smart-charging REST contract, against the real server and the real simulator."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.models import AuditFrame
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually, only, simulated
from tests.profiles import TX_DEFAULT_7KW

SID = "PY-SIM-0001"



async def test_peak_shaving_then_composite_shows_11kw_and_matches(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        sent = await http.post(f"/stations/{SID}/test_profiles", json={
            "scenario": "peak_shaving", "connector_id": 1, "max_power_w": 11000})
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert body["status"] == "success" and body["scenario"] == "peak_shaving"
        assert body["connector_id"] == 0 and "connector 0" in body["message"]
        assert body["profile"]["chargingProfilePurpose"] == "ChargePointMaxProfile"
        held = only(sim).installed_profiles
        assert [(p.connector_id, p.profile.charging_profile_id) for p in held] == [
            (0, body["profile_id"])]

        composite = await http.get(f"/stations/{SID}/composite_schedule", params={
            "connector_id": 1, "duration": 3600, "charging_rate_unit": "W"})
        assert composite.status_code == 200
        report = composite.json()
        assert report["status"] == "success" and report["matches"] is True
        periods = report["schedule"]["chargingSchedule"]["chargingSchedulePeriod"]
        assert periods[0]["startPeriod"] == 0 and periods[0]["limit"] == 11000
        assert report["expected"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 11000


async def test_send_profile_allocates_an_id_and_links_the_audit(
    server: RunningServer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chargeplan.smart_charging")
    async with simulated(server, http) as sim:
        sent = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        body = sent.json()
        assert sent.status_code == 200 and body["status"] == "success", body
        profile_id = body["profile_id"]
        assert body["connector_id"] == 1 and isinstance(profile_id, int)
        assert only(sim).composite(1, 60).periods[0].limit == 7000
        again = await http.post(f"/stations/{SID}/charging_profile",
                                json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        assert again.json()["profile_id"] != profile_id  # a new allocation, never reused
    assert f"API: Sending charging profile to {SID}, connector 1" in caplog.text
    assert f"Profile {profile_id} accepted by {SID}" in caplog.text
    listed = (await http.get(f"/stations/{SID}/charging_profiles")).json()
    # Same connector, stackLevel and purpose: the second replaced the first (§5.16.2).
    assert [p["profile_id"] for p in listed] == [again.json()["profile_id"]]
    assert listed[0]["state"] == "accepted" and listed[0]["attempts"] == 1

    async def linked() -> set[tuple[str, str, str | None]]:
        async with server.services.db.uow() as session:
            rows = (await session.scalars(select(AuditFrame).where(
                AuditFrame.desired_profile_id == listed[0]["desired_id"]))).all()
        return {(r.direction, r.message_type, r.action) for r in rows}

    await eventually(lambda: linked_has(linked))


async def linked_has(linked: Any) -> bool:
    return bool(await linked() >= {("out", "CALL", "SetChargingProfile"),
                                   ("in", "CALLRESULT", "SetChargingProfile")})


async def test_a_recurrency_kind_outside_a_recurring_profile_is_sent_with_a_warning(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    # OCPP 1.6 §7.8 does not forbid it and chargers ignore it: sent, and the user is told.
    async with simulated(server, http) as sim:
        sent = await http.post(f"/stations/{SID}/charging_profile", json={
            "connector_id": 1, "profile": {**TX_DEFAULT_7KW, "recurrencyKind": "Daily"}})
        body = sent.json()
        assert sent.status_code == 200 and body["status"] == "success", body
        assert body["warnings"] == [
            "recurrencyKind: is ignored: the profile is not Recurring (chargeplan policy)"]
        assert only(sim).composite(1, 60).periods[0].limit == 7000


async def test_charge_point_max_profile_on_connector_1_is_refused_with_the_reason(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        answer = await http.post(f"/stations/{SID}/charging_profile", json={
            "connector_id": 1, "profile": {
                "chargingProfileId": 100, "stackLevel": 0,
                "chargingProfilePurpose": "ChargePointMaxProfile",
                "chargingProfileKind": "Absolute", "chargingSchedule": {
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000}]}}})
        assert answer.status_code == 400
        body = answer.json()
        assert "connectorId 0" in body["detail"]
        assert body["extra"][0]["key"] == "profile.chargingProfilePurpose"
        assert only(sim).installed_profiles == ()
    assert (await http.get(f"/stations/{SID}/charging_profiles")).json() == []


async def test_clear_removes_desired_and_installed_profiles(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        await http.post(f"/stations/{SID}/test_profiles",
                        json={"scenario": "peak_shaving", "connector_id": 0,
                              "max_power_w": 11000})
        await http.post(f"/stations/{SID}/charging_profile",
                        json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        only_default = await http.delete(f"/stations/{SID}/charging_profile",
                                         params={"purpose": "TxDefaultProfile"})
        body = only_default.json()
        assert body["status"] == "success" and body["filters"] == {"purpose": "TxDefaultProfile"}
        assert [c["purpose"] for c in body["cleared"]] == ["TxDefaultProfile"]
        assert [p.profile.purpose for p in only(sim).installed_profiles] == [
            "ChargePointMaxProfile"]
        everything = (await http.delete(f"/stations/{SID}/charging_profile")).json()
        assert everything["status"] == "success" and len(everything["cleared"]) == 1
        assert only(sim).installed_profiles == ()
        nothing = (await http.delete(f"/stations/{SID}/charging_profile")).json()
        assert nothing["status"] == "success" and "nothing" in nothing["message"]
        assert nothing["cleared"] == []


async def test_rejected_profile_is_reported_and_not_sent_again(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, reject_rate=1.0):
        sent = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        body = sent.json()
        assert sent.status_code == 200 and body["status"] == "rejected"
        assert "Rejected" in body["error"]
        report = await server.services.smart_charging.reconcile(SID)
        assert report.calls == 0
    listed = (await http.get(f"/stations/{SID}/charging_profiles")).json()
    assert listed[0]["state"] == "rejected" and listed[0]["attempts"] == 1


async def test_a_station_that_never_answers_gives_an_error(sqlite_url: str) -> None:
    running = await start_server(make_settings(sqlite_url, call_timeout_s=0.5))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http, drop_rate=1.0, wait_configuration=False):
            sent = await http.post(f"/stations/{SID}/charging_profile",
                                   json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
            body = sent.json()
            assert sent.status_code == 200 and body["status"] == "error"
            assert "no answer" in body["error"]
            listed = (await http.get(f"/stations/{SID}/charging_profiles")).json()
            assert listed[0]["state"] == "error"
    finally:
        await stop_server(running)


async def test_offline_station_gets_the_profile_when_it_connects(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/stations", json={"station_id": SID, "max_power_w": 22080})
    sent = await http.post(f"/stations/{SID}/charging_profile",
                           json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
    body = sent.json()
    assert sent.status_code == 202 and body["status"] == "pending"
    composite = (await http.get(f"/stations/{SID}/composite_schedule",
                                params={"connector_id": 1, "duration": 600})).json()
    assert composite["status"] == "error" and composite["schedule"] is None
    assert composite["expected"]["chargingSchedule"]["chargingRateUnit"] == "W"
    async with simulated(server, http, register=False) as sim:
        await eventually(lambda: only(sim).installed_profiles)
        assert only(sim).installed_profiles[0].profile.charging_profile_id == body["profile_id"]
        listed = await eventually(lambda: _accepted(http))
    assert listed[0]["state"] == "accepted"


async def _accepted(http: httpx.AsyncClient) -> list[dict[str, object]] | None:
    listed: list[dict[str, object]] = (
        await http.get(f"/stations/{SID}/charging_profiles")).json()
    return listed if listed and listed[0]["state"] == "accepted" else None


async def test_time_of_use_and_energy_cap_scenarios(server: RunningServer,
                                                    http: httpx.AsyncClient) -> None:
    async with simulated(server, http) as sim:
        tou = await http.post(f"/stations/{SID}/test_profiles", json={
            "scenario": "time_of_use", "connector_id": 1, "off_peak_w": 11000, "peak_w": 4000,
            "peak_start_hour": 17, "peak_end_hour": 21, "timezone": "Europe/Berlin"})
        assert tou.status_code == 200 and tou.json()["status"] == "success", tou.text
        profile = tou.json()["profile"]
        assert profile["chargingProfileKind"] == "Recurring"
        assert profile["recurrencyKind"] == "Daily"
        report = (await http.get(f"/stations/{SID}/composite_schedule", params={
            "connector_id": 1, "duration": 86400})).json()
        assert report["matches"] is True
        limits = {p["limit"] for p in report["schedule"]["chargingSchedule"][
            "chargingSchedulePeriod"]}
        assert limits == {11000, 4000}
        cap = await http.post(f"/stations/{SID}/test_profiles", json={
            "scenario": "energy_cap", "connector_id": 1, "transaction_id": 1,
            "max_energy_wh": 5000, "duration_seconds": 7200, "power_limit_w": 10000})
        # No transaction runs: refused before a TxProfile the station could only reject
        # (tests/e2e/test_transactions_api.py caps a running one).
        assert cap.status_code == 409, cap.text
        assert "transaction 1 is not a transaction of" in cap.json()["detail"]
        assert len(only(sim).installed_profiles) == 1  # the time_of_use profile alone


@pytest.mark.parametrize(
    ("path", "params_or_body", "field"),
    [
        ("/composite_schedule", {"connector_id": 1, "duration": 0}, "duration"),
        ("/composite_schedule", {"duration": 60}, "connector_id"),
        ("/composite_schedule", {"connector_id": 1, "duration": 60,
                                 "charging_rate_unit": "kW"}, "charging_rate_unit"),
        ("/test_profiles", {"scenario": "moon_landing"}, "scenario"),
        ("/test_profiles", {"scenario": "peak_shaving", "connector_id": 0}, "max_power_w"),
        ("/test_profiles", {"scenario": "time_of_use", "off_peak_w": 1, "peak_w": 1,
                            "peak_start_hour": 25, "peak_end_hour": 3}, "peak_start_hour"),
        ("/charging_profile", {"connector_id": 1, "profile": {
            **TX_DEFAULT_7KW, "chargingSchedule": {"chargingRateUnit": "W",
                                                   "chargingSchedulePeriod": [
                                                       {"startPeriod": 5, "limit": -1}]}}},
         "profile.chargingSchedule.chargingSchedulePeriod[0]"),
        ("/charging_profile", {"profile": TX_DEFAULT_7KW}, "connector_id"),
        ("/charging_profile", {"connector_id": 1, "profile": {
            **TX_DEFAULT_7KW, "chargingProfilePurpose": "TxProfile", "transactionId": 424242}},
         "profile.transactionId"),
    ],
)
async def test_bad_input_is_400_naming_the_field(
    server: RunningServer, http: httpx.AsyncClient, path: str,
    params_or_body: dict[str, object], field: str,
) -> None:
    await http.post("/stations", json={"station_id": SID})
    url = f"/stations/{SID}{path}"
    if path == "/composite_schedule":
        answer = await http.get(url, params=params_or_body)
    else:
        answer = await http.post(url, json=params_or_body)
    assert answer.status_code == 400, answer.text
    keys = [e["key"] for e in answer.json().get("extra", [])]
    assert any(k.startswith(field) for k in keys), answer.json()


async def test_unknown_station_is_404_on_every_endpoint(http: httpx.AsyncClient) -> None:
    base = "/stations/NOPE"
    answers = [
        await http.post(f"{base}/charging_profile",
                        json={"connector_id": 1, "profile": TX_DEFAULT_7KW}),
        await http.get(f"{base}/composite_schedule", params={"connector_id": 1, "duration": 60}),
        await http.delete(f"{base}/charging_profile"),
        await http.post(f"{base}/test_profiles",
                        json={"scenario": "peak_shaving", "max_power_w": 1000}),
        await http.get(f"{base}/charging_profiles"),
    ]
    assert [a.status_code for a in answers] == [404] * 5
    assert all("NOPE" in a.json()["detail"] for a in answers)


async def test_preview_composes_without_sending(server: RunningServer,
                                                http: httpx.AsyncClient) -> None:
    async with simulated(server, http) as sim:
        await http.post(f"/stations/{SID}/charging_profile",
                        json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        preview = await http.post(f"/stations/{SID}/composite_schedule/preview", json={
            "connector_id": 1, "duration": 3600, "charging_rate_unit": "W",
            "profiles": [{"connector_id": 0, "profile": {
                "chargingProfileId": 900, "stackLevel": 0,
                "chargingProfilePurpose": "ChargePointMaxProfile",
                "chargingProfileKind": "Absolute", "chargingSchedule": {
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 5000}]}}}]})
        assert preview.status_code == 200, preview.text
        periods = preview.json()["composite"]["chargingSchedule"]["chargingSchedulePeriod"]
        assert periods[0]["limit"] == 5000
        assert [p.profile.charging_profile_id for p in only(sim).installed_profiles] != [900]
        assert all(p.profile.charging_profile_id != 900 for p in only(sim).installed_profiles)
