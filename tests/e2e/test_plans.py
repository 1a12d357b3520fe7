"""Plans: one profile for many stations, delivered by the reconcile job to real simulators."""

from __future__ import annotations

from typing import Any

import httpx

from app.simulator import Simulator
from tests.conftest import RunningServer
from tests.e2e.harness import eventually, only, simulated
from tests.profiles import TX_DEFAULT_7KW, tx_default_watts

SID = "PY-SIM-0001"



def plan(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "depot 7 kW", "targets": {"tags": ["depot"]},
                            "profile": TX_DEFAULT_7KW}
    body.update(changes)
    return body


def holds_7kw(sim: Simulator) -> bool:
    return [(p.connector_id, p.profile.schedule.periods[0].limit)
            for p in only(sim).installed_profiles] == [(0, 7000)]


async def station_status(http: httpx.AsyncClient, plan_id: int) -> dict[str, Any]:
    answer = await http.get(f"/plans/{plan_id}/status")
    assert answer.status_code == 200, answer.text
    (station,) = answer.json()["stations"]
    assert station["station_id"] == SID
    result: dict[str, Any] = station
    return result


async def test_tagging_a_station_delivers_the_plan_and_status_shows_it_accepted(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        created = await http.post("/plans", json=plan())
        assert created.status_code == 201, created.text
        body = created.json()
        plan_id = body["id"]
        assert body["applied"] == {"stations": [], "removed_from": [], "problems": []}
        assert only(sim).installed_profiles == ()

        tagged = await http.patch(f"/stations/{SID}", json={"tags": ["depot"]})
        assert tagged.status_code == 200, tagged.text
        await eventually(lambda: holds_7kw(sim))
        # The charger's own composite: 7 kW on a connector with no transaction.
        assert only(sim).composite(1, 600).periods[0].limit == 7000

        status = await eventually(lambda: _accepted(http, plan_id))
        assert status["attempts"] == 1 and status["last_error"] is None
        assert status["profile_id"] == only(sim).installed_profiles[0].profile.charging_profile_id
        verified = await eventually(lambda: _verified(http, plan_id))
        assert verified["last_verified_at"] is not None

        listed = (await http.get("/plans")).json()
        assert [(p["id"], p["name"], p["targets"]) for p in listed] == [
            (plan_id, "depot 7 kW", {"station_ids": [], "tags": ["depot"]})]
        # Untagging takes the plan away again.
        await http.patch(f"/stations/{SID}", json={"tags": []})
        await eventually(lambda: only(sim).installed_profiles == ())


async def _accepted(http: httpx.AsyncClient, plan_id: int) -> dict[str, Any] | None:
    status = await station_status(http, plan_id)
    return status if status["state"] == "accepted" else None


async def _verified(http: httpx.AsyncClient, plan_id: int) -> dict[str, Any] | None:
    status = await station_status(http, plan_id)
    return status if status["verification_state"] == "verified" else None


async def test_disabling_and_deleting_a_plan_clear_it_from_the_station(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        body = plan(targets={"station_ids": [SID]})
        plan_id = (await http.post("/plans", json=body)).json()["id"]
        await eventually(lambda: holds_7kw(sim))
        first_id = only(sim).installed_profiles[0].profile.charging_profile_id

        disabled = await http.put(f"/plans/{plan_id}", json={**body, "enabled": False})
        assert disabled.status_code == 200, disabled.text
        assert disabled.json()["applied"]["removed_from"] == [SID]
        await eventually(lambda: only(sim).installed_profiles == ())

        # Re-enabled with a new limit: delivered again.
        changed = {**body, "profile": tx_default_watts(5000)}
        assert (await http.put(f"/plans/{plan_id}", json=changed)).status_code == 200
        await eventually(lambda: [p.profile.schedule.periods[0].limit
                                  for p in only(sim).installed_profiles] == [5000])
        assert only(sim).installed_profiles[0].profile.charging_profile_id != first_id

        deleted = await http.delete(f"/plans/{plan_id}")
        assert deleted.status_code == 204
        await eventually(lambda: only(sim).installed_profiles == ())
        assert (await http.get(f"/plans/{plan_id}")).status_code == 404
        assert (await http.get(f"/stations/{SID}/charging_profiles")).json() == []


async def test_changing_a_plan_keeps_the_profile_id_on_each_station(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        body = plan(targets={"station_ids": [SID]})
        plan_id = (await http.post("/plans", json=body)).json()["id"]
        await eventually(lambda: holds_7kw(sim))
        first_id = only(sim).installed_profiles[0].profile.charging_profile_id
        changed = {**body, "profile": tx_default_watts(3500)}
        await http.put(f"/plans/{plan_id}", json=changed)
        await eventually(lambda: [(p.profile.charging_profile_id, p.profile.schedule.periods[0]
                                   .limit) for p in only(sim).installed_profiles]
                         == [(first_id, 3500)])


async def test_a_station_offline_when_the_plan_is_created_receives_it_when_it_connects(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    registered = await http.post("/stations", json={"station_id": SID, "tags": ["depot"]})
    assert registered.status_code == 201
    created = (await http.post("/plans", json=plan())).json()
    assert created["applied"]["stations"] == [SID]
    assert (await station_status(http, created["id"]))["state"] == "pending"

    async with simulated(server, http, register=False) as sim:
        await eventually(lambda: holds_7kw(sim))
        await eventually(lambda: _accepted(http, created["id"]))


async def test_a_station_registered_with_the_tag_later_gets_the_plan(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    plan_id = (await http.post("/plans", json=plan())).json()["id"]
    await http.post("/stations", json={"station_id": "OTHER-1", "tags": ["garage"]})
    await http.post("/stations", json={"station_id": SID, "tags": ["depot"]})
    desired = (await http.get(f"/stations/{SID}/charging_profiles")).json()
    assert [(d["owner_kind"], d["owner_id"], d["state"], d["profile"]["chargingSchedule"])
            for d in desired] == [("plan", plan_id, "pending", TX_DEFAULT_7KW["chargingSchedule"])]
    assert (await http.get("/stations/OTHER-1/charging_profiles")).json() == []
    assert [s["station_id"] for s in (await http.get(f"/plans/{plan_id}/status")).json()[
        "stations"]] == [SID]


async def test_preview_shows_each_station_composite_or_its_problem_and_stores_nothing(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    # The offline station never reported ChargingScheduleMaxPeriods; the connected one
    # reported 24, so a schedule of 30 periods is a problem there only.
    await http.post("/stations", json={"station_id": "OFFLINE-1", "max_power_w": 22080})
    periods = [{"startPeriod": i * 600, "limit": 4000 + 100 * (i % 2)} for i in range(30)]
    long_profile = {**TX_DEFAULT_7KW, "chargingSchedule": {
        "chargingRateUnit": "W", "chargingSchedulePeriod": periods}}
    async with simulated(server, http) as sim:
        answer = await http.post("/plans/preview", json=plan(
            targets={"station_ids": [SID, "OFFLINE-1", "NOT-REGISTERED"]},
            profile=long_profile))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        by_station = {s["station_id"]: s for s in body["stations"]}
        assert set(by_station) == {SID, "OFFLINE-1"}
        assert by_station[SID]["composite"] is None
        assert [p["key"] for p in by_station[SID]["problems"]] == [
            "profile.chargingSchedule.chargingSchedulePeriod"]
        assert "24" in by_station[SID]["problems"][0]["message"]
        offline = by_station["OFFLINE-1"]
        assert offline["problems"] == []
        composite_periods = offline["composite"]["chargingSchedule"]["chargingSchedulePeriod"]
        assert {p["limit"] for p in composite_periods} == {4000, 4100}
        assert offline["composite"]["chargingSchedule"]["chargingRateUnit"] == "W"
        assert offline["composite"]["chargingSchedule"]["duration"] == 86400
        assert body["problems"] == [{"station_id": "NOT-REGISTERED",
                                     "key": "targets.station_ids",
                                     "message": "not a registered station"}]
        assert (await http.get("/plans")).json() == []
        assert only(sim).installed_profiles == ()


async def test_bad_plans_are_refused_with_the_field_named(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    with_id = await http.post("/plans", json=plan(
        profile={**TX_DEFAULT_7KW, "chargingProfileId": 5}))
    assert with_id.status_code == 400
    assert with_id.json()["extra"][0]["key"] == "profile.chargingProfileId"
    no_targets = await http.post("/plans", json=plan(targets={"station_ids": [], "tags": []}))
    assert no_targets.status_code == 400
    assert no_targets.json()["extra"][0]["key"] == "targets"
    negative = await http.post("/plans", json=plan(profile={**TX_DEFAULT_7KW, "stackLevel": -1}))
    assert negative.status_code == 400
    assert negative.json()["extra"][0]["key"] == "profile.stackLevel"
    assert (await http.get("/plans/999")).status_code == 404
    assert (await http.get("/plans/999/status")).status_code == 404
    assert (await http.put("/plans/999", json=plan())).status_code == 404
    assert (await http.delete("/plans/999")).status_code == 404
