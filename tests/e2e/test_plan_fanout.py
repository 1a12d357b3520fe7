"""A plan for a mixed fleet of simulated stations: most accept, some reject, one never
answers, some are offline. Each shows its own state, and the audit trail says which desired
profile and which job run every SetChargingProfile served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest

from app.settings import Settings
from app.simulator import Simulator, SimulatorConfig
from tests.conftest import RunningServer, make_settings, settled_audit_rows
from tests.e2e.harness import eventually
from tests.profiles import TX_DEFAULT_7KW

ACCEPTING = [f"OK-{i:04d}" for i in range(1, 7)]
REJECTING = ["REJ-0001", "REJ-0002"]
SILENT = ["MUTE-0001"]
OFFLINE = ["OFF-0001", "OFF-0002"]


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    # A call timeout the silent station's Set fails within the test, and that the answers
    # of the others beat however loaded the machine.
    return make_settings(sqlite_url, call_timeout_s=3.0, job_concurrency=4)


@asynccontextmanager
async def fleet(server: RunningServer, http: httpx.AsyncClient) -> AsyncIterator[None]:
    for sid in ACCEPTING + REJECTING + SILENT + OFFLINE:
        answer = await http.post("/stations", json={"station_id": sid, "tags": ["depot"]})
        assert answer.status_code == 201, answer.text
    kinds: list[tuple[str, int, dict[str, Any]]] = [
        ("OK-", len(ACCEPTING), {}), ("REJ-", len(REJECTING), {"reject_rate": 1.0}),
        ("MUTE-", len(SILENT), {"drop_rate": 1.0})]
    async with AsyncExitStack() as stack:
        simulators = []
        for prefix, count, faults in kinds:
            simulator = Simulator(SimulatorConfig(url=server.ocpp_url, id_prefix=prefix,
                                                  stations=count, reconnect_delay=0.2,
                                                  **faults))
            await simulator.start()
            stack.push_async_callback(simulator.stop)
            simulators.append(simulator)
        for simulator in simulators:
            for station in simulator.stations.values():
                await eventually(lambda s=station: s.boot_accepted)
        yield


async def states(http: httpx.AsyncClient, plan_id: int) -> dict[str, Any]:
    answer = await http.get(f"/plans/{plan_id}/status")
    assert answer.status_code == 200, answer.text
    return {s["station_id"]: s for s in answer.json()["stations"]}


async def settled(http: httpx.AsyncClient, plan_id: int) -> dict[str, Any] | None:
    by_station = await states(http, plan_id)
    done = all(by_station[sid]["state"] != "pending"
               for sid in ACCEPTING + REJECTING + SILENT)
    return by_station if done else None


async def test_each_station_of_a_mixed_fleet_shows_its_own_outcome(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with fleet(server, http):
        created = await http.post("/plans", json={
            "name": "depot", "targets": {"tags": ["depot"]}, "profile": TX_DEFAULT_7KW})
        assert created.status_code == 201, created.text
        plan_id = created.json()["id"]
        assert len(created.json()["applied"]["stations"]) == 11

        by_station = await eventually(lambda: settled(http, plan_id))
        assert {sid: by_station[sid]["state"] for sid in by_station} == {
            **dict.fromkeys(ACCEPTING, "accepted"), **dict.fromkeys(REJECTING, "rejected"),
            **dict.fromkeys(SILENT, "error"), **dict.fromkeys(OFFLINE, "pending")}
        assert by_station["REJ-0001"]["last_error"] == "station answered Rejected"
        assert by_station["MUTE-0001"]["last_error"] == "no answer within 3 s"
        assert by_station["OFF-0001"]["attempts"] == 0

        runs = (await http.get("/jobs", params={"job": "reconcile"})).json()
        (run,) = [r for r in runs if r["trigger"] == "plan"]
        assert (run["stations"], run["calls"], run["failures"]) == (9, 9, 1)
        for sid in ACCEPTING + REJECTING:
            (desired,) = (await http.get(f"/stations/{sid}/charging_profiles")).json()
            rows = [r for r in await settled_audit_rows(server, sid)
                    if r.action == "SetChargingProfile"]
            assert [(r.direction, r.message_type) for r in rows] == [
                ("out", "CALL"), ("in", "CALLRESULT")]
            assert {(r.desired_profile_id, r.job_run_id) for r in rows} == {
                (desired["desired_id"], run["id"])}
