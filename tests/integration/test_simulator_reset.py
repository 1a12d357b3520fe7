"""Profiles survive a Reset and a restart only when the station has a profile store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.conftest_simulator import (
    CentralSystem,
    central_system,
    running,
    station_config,
)

__all__ = ["central_system"]

STATION = "PY-SIM-0001"

DEFAULT_PROFILE: dict[str, Any] = {
    "chargingProfileId": 3,
    "stackLevel": 1,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {
        "startSchedule": "2030-01-01T00:00:00Z",
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 12.5}],
    },
}


async def install_then_reset(system: CentralSystem) -> dict[str, Any]:
    status = await system.result(
        STATION, "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": DEFAULT_PROFILE}
    )
    assert status == {"status": "Accepted"}
    answer = await system.result(STATION, "Reset", {"type": "Soft"})
    await system.wait_for(STATION, "BootNotification", count=2)
    return dict(answer)


async def test_a_station_with_a_profile_store_keeps_its_profiles_across_reset_and_restart(
    central_system: CentralSystem, tmp_path: Path
) -> None:
    config = station_config(central_system.url, profile_store=tmp_path / "profiles.json")
    async with running(config) as simulator:
        answer = await install_then_reset(central_system)
        station = simulator.stations[STATION]
        await station.booted.wait()
        after_reset = [p.profile.to_ocpp() for p in station.installed_profiles]

    async with running(config) as restarted:
        after_restart = [
            p.profile.to_ocpp() for p in restarted.stations[STATION].installed_profiles
        ]

    assert answer == {"status": "Accepted"}
    assert central_system.connections_opened[STATION] == 3
    assert after_reset == [DEFAULT_PROFILE]
    assert after_restart == [DEFAULT_PROFILE]


async def test_a_station_without_a_profile_store_loses_its_profiles_on_reset(
    central_system: CentralSystem,
) -> None:
    async with running(station_config(central_system.url)) as simulator:
        await install_then_reset(central_system)
        station = simulator.stations[STATION]
        await station.booted.wait()
        after_reset = station.installed_profiles
        composite = await central_system.result(
            STATION,
            "GetCompositeSchedule",
            {"connectorId": 1, "duration": 60, "chargingRateUnit": "A"},
        )

    assert after_reset == ()
    assert [p["limit"] for p in composite["chargingSchedule"]["chargingSchedulePeriod"]] != [12.5]
