"""/circuits over real HTTP: the tree, limits, meters, station assignment and the solve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.db.circuit_models import Circuit
from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually
from tests.ocpp_client import RawStation, raw_station


def now() -> str:
    """The time of a message sent now. Not taken once at import: a whole suite runs for
    longer than the age past which a per-phase sample no longer decides a session's
    phases (circuits.PHASE_SAMPLE_MAX_AGE)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted")


async def make_depot(http: httpx.AsyncClient) -> None:
    main = {"id": "main", "max_current_a": 63, "connector_count": 6,
            "worst_case_other_load_a": [20, 10, 10]}
    assert (await http.post("/circuits", json=main)).status_code == 201
    garage = {"id": "garage", "parent_id": "main", "max_current_a": [25, 32, 32]}
    assert (await http.post("/circuits", json=garage)).status_code == 201


def errors(response: httpx.Response) -> list[tuple[str, int]]:
    body = response.json()
    return [(e["key"], response.status_code) for e in body.get("extra", [])]


async def test_a_circuit_tree_is_created_listed_changed_and_deleted(
    http: httpx.AsyncClient,
) -> None:
    await make_depot(http)
    listed = (await http.get("/circuits")).json()
    assert [(c["id"], c["parent_id"]) for c in listed] == [("garage", "main"), ("main", None)]
    garage = (await http.get("/circuits/garage")).json()
    assert garage["max_current_a"] == [25.0, 32.0, 32.0]
    assert garage["worst_case_other_load_a"] == [0.0, 0.0, 0.0]
    assert garage["stale_after_s"] == 300

    changed = await http.patch("/circuits/garage", json={"max_current_a": 40, "margin_a": 2})
    assert changed.status_code == 200
    assert (changed.json()["max_current_a"], changed.json()["margin_a"]) == ([40.0] * 3, 2.0)

    refused = await http.delete("/circuits/main")
    assert refused.status_code == 409
    assert "below it" in refused.json()["detail"]
    assert (await http.delete("/circuits/garage")).status_code == 204
    assert (await http.delete("/circuits/main")).status_code == 204
    assert (await http.get("/circuits/main")).status_code == 404


async def test_bad_circuits_are_refused_naming_the_field(http: httpx.AsyncClient) -> None:
    await make_depot(http)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"id": "x", "parent_id": "nowhere", "max_current_a": 10}, "parent_id"),
        ({"id": "x", "max_current_a": [10, 10]}, "max_current_a"),
        ({"id": "x", "max_current_a": -1}, "max_current_a"),
        ({"id": "x"}, "max_current_a"),
        ({"id": "a/b", "max_current_a": 10}, "id"),
        ({"id": "x", "max_current_a": 10, "connector_count": 0}, "connector_count"),
        ({"id": "x", "max_current_a": 10, "colour": "red"}, "colour"),
        ({"id": "x", "max_current_a": 10, "limits": [
            {"from": "2026-06-01T18:00:00Z", "to": "2026-06-01T17:00:00Z", "max_current_a": 5}]},
         "limits[0].to"),
    ]
    for body, field in cases:
        response = await http.post("/circuits", json=body)
        assert response.status_code == 400, body
        assert field in [e["key"] for e in response.json()["extra"]], response.json()
    assert (await http.post("/circuits", json={"id": "main", "max_current_a": 1})).status_code \
        == 409
    moved = await http.patch("/circuits/main", json={"parent_id": "garage"})
    assert moved.status_code == 400
    assert moved.json()["extra"] == [
        {"key": "parent_id", "message": "would put the circuit below itself"}]
    naive = await http.put("/circuits/main/limits", json=[
        {"from": "2026-06-01T17:00:00", "to": "2026-06-01T18:00:00Z", "max_current_a": 5}])
    assert naive.status_code == 400
    assert (await http.put("/circuits/nope/limits", json=[])).status_code == 404
    both = await http.put("/circuits/main/measurement",
                          json={"other_load_a": 1, "total_a": 2})
    assert both.status_code == 400 and both.json()["extra"][0]["key"] == "other_load_a"


async def test_limit_windows_are_replaced_and_kept_in_order(http: httpx.AsyncClient) -> None:
    await make_depot(http)
    windows = [
        {"from": "2026-06-02T17:00:00Z", "to": "2026-06-02T20:00:00Z", "max_current_a": 30},
        {"from": "2026-06-01T17:00:00+02:00", "to": "2026-06-01T20:00:00+02:00",
         "max_current_a": [30, 40, 40], "max_power_w": 20000},
    ]
    stored = (await http.put("/circuits/main/limits", json=windows)).json()["limits"]
    assert stored == [
        {"from": "2026-06-01T15:00:00Z", "to": "2026-06-01T18:00:00Z",
         "max_current_a": [30.0, 40.0, 40.0], "max_power_w": 20000.0},
        {"from": "2026-06-02T17:00:00Z", "to": "2026-06-02T20:00:00Z",
         "max_current_a": [30.0, 30.0, 30.0], "max_power_w": None},
    ]
    assert (await http.put("/circuits/main/limits", json=[])).json()["limits"] == []


async def test_stations_are_assigned_with_their_wiring(http: httpx.AsyncClient) -> None:
    await make_depot(http)
    await http.post("/stations", json={"station_id": "CP-1"})
    fresh = (await http.get("/stations/CP-1")).json()
    assert (fresh["circuit_id"], fresh["phase_rotation"], fresh["max_current_a"]) == (
        None, "RST", None)
    assigned = await http.patch("/stations/CP-1", json={
        "circuit_id": "garage", "phase_rotation": "STR", "max_current_a": 16})
    assert assigned.status_code == 200
    body = assigned.json()
    assert (body["circuit_id"], body["phase_rotation"], body["max_current_a"]) == (
        "garage", "STR", 16.0)

    unknown = await http.patch("/stations/CP-1", json={"circuit_id": "attic"})
    assert unknown.status_code == 400
    assert unknown.json()["extra"] == [
        {"key": "circuit_id", "message": "no circuit has id 'attic'"}]
    rotation = await http.patch("/stations/CP-1", json={"phase_rotation": "XYZ"})
    assert rotation.status_code == 400
    assert rotation.json()["extra"][0]["key"] == "phase_rotation"

    # Deleting its circuit unassigns the station; it is not deleted with it.
    await http.patch("/circuits/garage", json={"parent_id": None})
    assert (await http.delete("/circuits/garage")).status_code == 204
    assert (await http.get("/stations/CP-1")).json()["circuit_id"] is None


async def start(cp: RawStation, connector: int) -> int:
    started = await cp.ok("StartTransaction", {
        "connectorId": connector, "idTag": "ANY", "meterStart": 0, "timestamp": now()})
    return int(started["transactionId"])


async def test_the_allocation_shares_the_tree_among_running_transactions(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await make_depot(http)
    async with raw_station(server.station_url("CP-A")) as a, \
            raw_station(server.station_url("CP-B")) as b:
        await a.boot()
        await b.boot()
        await http.patch("/stations/CP-A", json={"circuit_id": "garage"})
        await http.patch("/stations/CP-B", json={"circuit_id": "main", "max_current_a": 16,
                                                 "phase_rotation": "TRS"})
        tx_a = await start(a, 1)
        tx_b = await start(b, 1)
        # CP-B's car draws on its station's L1 only: grid L3 through the TRS wiring.
        await b.ok("MeterValues", {"connectorId": 1, "transactionId": tx_b, "meterValue": [
            {"timestamp": now(), "sampledValue": [
                {"value": "12.5", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                {"value": "0.1", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
                {"value": "0", "measurand": "Current.Import", "phase": "L3", "unit": "A"},
            ]}]})

        async def single_phase() -> Any:
            solved = (await http.get("/circuits/garage/allocation")).json()
            phases = {s["station_id"]: s["phases"] for s in solved["sessions"]}
            return solved if phases.get("CP-B") == ["L3"] else None

        solved = await eventually(single_phase)

    assert solved["root_id"] == "main"
    sessions = {s["station_id"]: s for s in solved["sessions"]}
    assert {k: (v["transaction_id"], v["limit_a"], v["binding"], v["safe_share_a"])
            for k, v in sessions.items()} == {
        "CP-A": (tx_a, 25.0, "garage L1", 10.5),
        "CP-B": (tx_b, 16.0, "cap", 10.5),
    }
    circuits = {c["id"]: c for c in solved["circuits"]}
    # No measurement yet: the configured worst case stands in for the other load.
    assert circuits["main"]["other_load_source"] == "worst_case"
    assert circuits["main"]["load_a"] == [45.0, 35.0, 51.0]
    assert circuits["main"]["headroom_a"] == [18.0, 28.0, 12.0]
    assert circuits["garage"]["headroom_a"] == [0.0, 7.0, 7.0]


async def test_a_stale_measurement_falls_back_to_the_worst_case(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await make_depot(http)
    measured = await http.put("/circuits/main/measurement", json={"other_load_a": [50, 5, 5]})
    assert measured.json()["measured_other_load_a"] == [50.0, 5.0, 5.0]

    async def main_circuit() -> dict[str, Any]:
        solved = (await http.get("/circuits/main/allocation")).json()
        found: dict[str, Any] = solved["circuits"][0]
        return found

    fresh = await main_circuit()
    assert (fresh["other_load_source"], fresh["headroom_a"]) == ("measured", [13.0, 58.0, 58.0])

    # The meter falls silent for longer than stale_after_s.
    async with server.services.db.uow() as session:
        await session.execute(update(Circuit).where(Circuit.id == "main").values(
            measured_at=server.services.clock() - timedelta(seconds=301)))
    stale = await main_circuit()
    assert (stale["other_load_source"], stale["other_load_a"]) == ("worst_case",
                                                                   [20.0, 10.0, 10.0])

    total = await http.put("/circuits/main/measurement", json={"total_a": [30, 31, 32]})
    assert total.json()["measured_other_load_a"] == [30.0, 31.0, 32.0]  # no session runs


def sample(amps: float, at: datetime) -> dict[str, Any]:
    """One three-phase Current.Import sample taken at ``at`` (milliseconds kept)."""
    return {"timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "sampledValue": [{"value": str(amps), "measurand": "Current.Import",
                              "phase": phase, "unit": "A"} for phase in ("L1", "L2", "L3")]}


async def test_a_total_takes_out_current_samples_only_and_at_most_the_circuit_limit(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    circuit = {"id": "main", "max_current_a": 63, "stale_after_s": 60}
    assert (await http.post("/circuits", json=circuit)).status_code == 201
    answers = {"SetChargingProfile": {"status": "Accepted"}}
    async with raw_station(server.station_url("CP-A"), answers=answers) as a:
        await a.boot()
        await http.patch("/stations/CP-A", json={"circuit_id": "main", "max_current_a": 16})
        tx = await start(a, 1)
        await eventually(lambda: any(
            c[2] == "SetChargingProfile"
            and c[3]["csChargingProfiles"]["chargingProfilePurpose"] == "TxProfile"
            for c in a.server_calls))  # its circuit limit, 16 A, is set

        async def other_load(total: float, amps: float, age_s: float) -> list[float]:
            at = server.services.clock() - timedelta(seconds=age_s)
            await a.ok("MeterValues", {"connectorId": 1, "transactionId": tx,
                                       "meterValue": [sample(amps, at)]})
            answer = await http.put("/circuits/main/measurement",
                                    json={"total_a": [total] * 3})
            assert answer.status_code == 200, answer.text
            found: list[float] = answer.json()["measured_other_load_a"]
            return found

        # Two minutes old, older than the circuit's 60 s: the car may draw nothing now, so
        # its 10 A are not taken out (they stay in the other load).
        assert await other_load(40, 10, 120) == [40.0] * 3
        # Current: taken out.
        assert await other_load(40, 10, 0) == [30.0] * 3
        # 25 A against a 16 A limit (read before a decrease reached the car): 16 A out.
        assert await other_load(40, 25, 0) == [24.0] * 3
