"""A station connector as a circuit's meter: its per-phase Current.Import is the circuit's
total, the sessions' draw is taken out, and what is left is other load for the solve."""

from __future__ import annotations

import httpx
import pytest

from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually
from tests.integration.test_load_management import ACCEPTING, first_limit, now, start, tx_profiles
from tests.ocpp_client import raw_station


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05,
                         reconcile_interval_s=3600, verify_interval_s=3600,
                         circuit_replan_interval_s=1700, circuit_lease_s=3600)


def meter_values(amps: list[float]) -> dict[str, object]:
    return {"connectorId": 0, "meterValue": [{"timestamp": now(), "sampledValue": [
        {"value": str(a), "measurand": "Current.Import", "phase": phase, "unit": "A"}
        for phase, a in zip(("L1-N", "L2-N", "L3-N"), amps, strict=True)]}]}


async def test_a_meter_connectors_samples_are_the_circuits_total(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    answer = await http.post("/circuits", json={
        "id": "site", "max_current_a": 32, "meter_station_id": "METER",
        "meter_connector_id": 0})
    assert answer.status_code == 201, answer.text
    assert (answer.json()["meter_station_id"], answer.json()["meter_connector_id"]) \
        == ("METER", 0)
    async with raw_station(server.station_url("CP-A"), answers=dict(ACCEPTING)) as cp, \
            raw_station(server.station_url("METER")) as meter:
        await cp.boot()
        await meter.boot()
        await http.patch("/stations/CP-A", json={"circuit_id": "site"})
        await start(cp)
        await eventually(lambda: tx_profiles(cp) and first_limit(tx_profiles(cp)[-1]) == 32.0)

        # The building draws 20 A on L1: the car is left 12 A.
        await meter.ok("MeterValues", meter_values([20.0, 10.0, 10.0]))
        await eventually(lambda: first_limit(tx_profiles(cp)[-1]) == 12.0)
        circuit = (await http.get("/circuits/site")).json()
        assert circuit["measured_other_load_a"] == [20.0, 10.0, 10.0]

        # A sample without every phase says nothing about the circuit.
        await meter.ok("MeterValues", {"connectorId": 0, "meterValue": [
            {"timestamp": now(), "sampledValue": [{"value": "5", "measurand": "Current.Import",
                                                   "phase": "L1", "unit": "A"}]}]})
        assert (await http.get("/circuits/site")).json()["measured_other_load_a"] \
            == [20.0, 10.0, 10.0]


async def test_a_meter_station_without_its_connector_is_refused_naming_the_field(
    http: httpx.AsyncClient
) -> None:
    answer = await http.post("/circuits", json={"id": "site", "max_current_a": 32,
                                                "meter_station_id": "METER"})
    assert answer.status_code == 400
    assert "meter_station_id" in answer.text
    await http.post("/circuits", json={"id": "site", "max_current_a": 32})
    answer = await http.patch("/circuits/site", json={"meter_connector_id": 1})
    assert answer.status_code == 400
    assert "meter_station_id" in answer.text
    answer = await http.patch("/circuits/site", json={"meter_connector_id": -1})
    assert answer.status_code == 400
    assert "meter_connector_id" in answer.text
