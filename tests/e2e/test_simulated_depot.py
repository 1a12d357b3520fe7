"""A depot from a site file against the real server: cars on their stations, a one-phase
car seen on one phase, the circuit meter pushing its total, no car above its limit."""

from __future__ import annotations

import httpx
import pytest

from app.settings import Settings
from app.simulator.depot import Depot
from app.simulator.site import parse_site
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05,
                         circuit_replan_interval_s=0.5)


async def test_a_site_file_runs_a_depot_whose_meter_and_cars_the_server_shares_out(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/circuits", json={"id": "depot", "max_current_a": 40,
                                       "connector_count": 2})
    site = parse_site({
        "url": server.ocpp_url, "http_url": server.http_url, "meter_interval_s": 0.3,
        "circuits": [{"id": "depot", "base_load_a": [10, 4, 4]}],
        "stations": [{"id": "D-1", "circuit": "depot"},
                     {"id": "D-2", "circuit": "depot", "phase_rotation": "STR"}],
        "cars": [{"id": "EV1", "station": "D-1", "max_current_a": 32},
                 {"id": "EV2", "station": "D-2", "max_current_a": 16, "phases": 1}]})
    async with Depot(site, reconnect_delay=0.2) as depot:
        async def phases_seen() -> bool:
            solved = (await http.get("/circuits/depot/allocation")).json()
            found = {s["station_id"]: s["phases"] for s in solved["sessions"]}
            return found == {"D-1": ["L1", "L2", "L3"], "D-2": ["L2"]}

        # The one-phase car on D-2 (rotation STR: its L1 is the grid's L2) draws on L2 only.
        await eventually(phases_seen, timeout=60)
        # The meter's total is the base load plus the cars, through each rotation.
        one, two = depot.stations["D-1"], depot.stations["D-2"]
        ev1, ev2 = one.cars[1].amps, two.cars[1].amps
        assert depot.circuit_total("depot") == (round(10 + ev1, 1), round(4 + ev1 + ev2, 1),
                                                round(4 + ev1, 1))
        circuit = (await http.get("/circuits/depot")).json()
        assert circuit["measured_at"] is not None
        # The server took the cars out of the total: what is left is the base load.
        await eventually(lambda: _other_load(http, [10.0, 4.0, 4.0]), timeout=60)
        # Shared: 40 A less 10 A on L1 leaves the three-phase car 30 A at most.
        for station in (one, two):
            plugged = station.cars[1]
            assert plugged.amps <= station.limit_a(1)
        # Once the shares are out, the meter reads the circuit within its 40 A.
        await eventually(lambda: depot.readings and max(depot.readings[-1].total_a) <= 40.0)


async def _other_load(http: httpx.AsyncClient, expected: list[float]) -> bool:
    solved = (await http.get("/circuits/depot/allocation")).json()
    other = solved["circuits"][0]["other_load_a"]
    return all(abs(a - b) <= 0.5 for a, b in zip(other, expected, strict=True))
