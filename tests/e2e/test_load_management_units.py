"""A charger that takes only W (ChargingScheduleAllowedChargingRateUnit = Power) gets its
circuit share in W with numberPhases, and draws the same amperes as one that takes A."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.domain.profiles import ChargingProfilePurpose, ChargingRateUnit
from app.settings import Settings
from app.simulator.station import SimulatedStation
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually, simulated


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05)


def tx_schedule(station: SimulatedStation) -> dict[str, object] | None:
    for installed in station.installed_profiles:
        if installed.profile.purpose is ChargingProfilePurpose.TX_PROFILE:
            return installed.profile.to_ocpp()["chargingSchedule"]  # type: ignore[no-any-return]
    return None


async def test_a_charger_that_takes_only_watts_gets_its_share_in_watts(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/circuits", json={"id": "site", "max_current_a": 32})
    async with simulated(server, http, stations=2, connectors=1, id_prefix="LMW-",
                         allowed_units="Power") as sim:
        for station_id in sim.stations:
            answer = await http.patch(f"/stations/{station_id}", json={"circuit_id": "site"})
            assert answer.status_code == 200
        first, second = sim.stations["LMW-0001"], sim.stations["LMW-0002"]
        await first.start_transaction(1, "TAG-1")
        await second.start_transaction(1, "TAG-2")

        def shared() -> bool:
            schedule = tx_schedule(first)
            return schedule is not None and schedule["chargingSchedulePeriod"] == [
                {"startPeriod": 0, "limit": 11040.0, "numberPhases": 3}]

        # 16 A per phase on 3 phases at 230 V.
        await eventually(shared)
        schedule = tx_schedule(first)
        assert schedule is not None and schedule["chargingRateUnit"] == "W"
        # The charger's own composite, read in A, is the share (from the next whole second:
        # the profile starts at the instant of the solve).
        later = first.clock.now().replace(microsecond=0) + timedelta(seconds=1)
        assert first.composite(1, 60, ChargingRateUnit.A, start=later).periods[0].limit == 16.0
        solved = (await http.get("/circuits/site/allocation")).json()
        assert [s["limit_a"] for s in solved["sessions"]] == [16.0, 16.0]
        # The explanation reads the W profile in A and names what binds it.
        explained = (await http.get("/stations/LMW-0001/connectors/1/limit")).json()
        assert (explained["limit_a"], explained["binding"]) == (16.0, "site L1")
