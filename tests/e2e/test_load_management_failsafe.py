"""Fail-safe of load management, proven on the simulator: once the server is gone and the
lease has run out, every charger's own composite schedule falls to its safe share."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.domain.profiles import ChargingProfilePurpose, ChargingRateUnit
from app.settings import Settings
from app.simulator.station import SimulatedStation
from tests.conftest import RunningServer, make_settings, stop_server
from tests.e2e.harness import eventually, simulated

LEASE_S = 600


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05,
                         circuit_lease_s=LEASE_S, circuit_replan_interval_s=120)


async def test_after_the_lease_each_charger_falls_back_to_its_safe_share(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    # 32 A for two one-connector chargers: a safe share of 16 A each.
    await http.post("/circuits", json={"id": "site", "max_current_a": 32, "connector_count": 2})
    async with simulated(server, http, stations=2, connectors=1, id_prefix="LM-") as sim:
        for station_id in sim.stations:
            answer = await http.patch(f"/stations/{station_id}", json={"circuit_id": "site"})
            assert answer.status_code == 200
        charging, idle = sim.stations["LM-0001"], sim.stations["LM-0002"]
        await charging.start_transaction(1, "TAG")

        def holds(station: SimulatedStation, purpose: ChargingProfilePurpose) -> bool:
            return any(p.profile.purpose is purpose for p in station.installed_profiles)

        await eventually(lambda: holds(charging, ChargingProfilePurpose.TX_PROFILE)
                         and holds(charging, ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE)
                         and holds(idle, ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE))
        # While chargeplan runs, the lone car has the whole circuit.
        now = charging.clock.now().replace(microsecond=0)
        assert charging.composite(1, 60, ChargingRateUnit.A).periods[0].limit == 32.0

        await stop_server(server)  # chargeplan is gone; the chargers keep their profiles

        for station in (charging, idle):
            after_lease = station.composite(
                1, 3600, ChargingRateUnit.A, start=now + timedelta(seconds=LEASE_S + 1))
            assert [p.limit for p in after_lease.periods] == [16.0], station
