"""A simulated station installs, refuses, clears and reports charging profiles (OCPP 1.6 §5.16,
§5.5, §5.7) with the shared smart-charging core."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.composite import composite_schedule
from app.domain.profiles import ChargingRateUnit, parse_datetime
from app.domain.units import SupplyConfig
from tests.integration.conftest_simulator import (
    CentralSystem,
    central_system,
    running,
    station_config,
)

__all__ = ["central_system"]

STATION = "PY-SIM-0001"
START = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)


def tx_default(
    profile_id: int = 1, stack_level: int = 0, periods: tuple[tuple[int, float], ...] = ((0, 16.0),)
) -> dict[str, Any]:
    return {
        "chargingProfileId": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "startSchedule": "2030-01-01T08:00:00Z",
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [
                {"startPeriod": start, "limit": limit} for start, limit in periods
            ],
        },
    }


async def set_profile(system: CentralSystem, connector_id: int, profile: dict[str, Any]) -> str:
    answer = await system.result(
        STATION, "SetChargingProfile", {"connectorId": connector_id, "csChargingProfiles": profile}
    )
    return str(answer["status"])


async def test_accepted_profile_is_installed_and_shapes_the_composite_schedule(
    central_system: CentralSystem,
) -> None:
    config = station_config(central_system.url, start_time=START)
    async with running(config) as simulator:
        station = simulator.stations[STATION]
        status = await set_profile(central_system, 0, tx_default(periods=((0, 16.0), (1800, 10.0))))
        reported = await central_system.result(
            STATION,
            "GetCompositeSchedule",
            {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
        )
        installed = station.installed_profiles

    assert status == "Accepted"
    assert [(p.connector_id, p.profile.charging_profile_id) for p in installed] == [(0, 1)]
    start = parse_datetime(reported["scheduleStart"])
    expected = composite_schedule(
        installed,
        1,
        start,
        3600,
        ChargingRateUnit.W,
        number_of_connectors=2,
        supply=SupplyConfig(voltage=230.0, phases=3),
        station_max_w=22080.0,
    )
    assert reported == expected.to_ocpp()
    # 16 A and then 10 A on three phases of 230 V, from the virtual clock's 08:00.
    limits = [p["limit"] for p in reported["chargingSchedule"]["chargingSchedulePeriod"]]
    assert limits == [11040.0, 6900.0]
    assert START <= start < START.replace(second=5)


async def test_composite_schedule_defaults_to_watts_and_rejects_unknown_connectors(
    central_system: CentralSystem,
) -> None:
    async with running(station_config(central_system.url, connectors=2)):
        default_unit = await central_system.result(
            STATION, "GetCompositeSchedule", {"connectorId": 1, "duration": 60}
        )
        missing = await central_system.result(
            STATION, "GetCompositeSchedule", {"connectorId": 3, "duration": 60}
        )

    assert default_unit["chargingSchedule"]["chargingRateUnit"] == "W"
    assert missing == {"status": "Rejected"}


@pytest.mark.parametrize(
    ("connector_id", "profile"),
    [
        pytest.param(
            0, tx_default(stack_level=9), id="stack-level-above-ChargeProfileMaxStackLevel"
        ),
        pytest.param(0, tx_default(periods=((10, 16.0),)), id="first-startPeriod-not-0"),
        pytest.param(0, tx_default(periods=((0, -1.0),)), id="negative-limit"),
        pytest.param(3, tx_default(), id="connector-beyond-NumberOfConnectors"),
        pytest.param(
            1,
            {**tx_default(), "chargingProfilePurpose": "ChargePointMaxProfile"},
            id="ChargePointMaxProfile-on-a-connector",
        ),
        pytest.param(
            1,
            {**tx_default(), "chargingProfilePurpose": "TxProfile", "transactionId": 99},
            id="TxProfile-without-that-transaction",
        ),
    ],
)
async def test_invalid_profile_is_rejected_and_not_installed(
    central_system: CentralSystem, connector_id: int, profile: dict[str, Any]
) -> None:
    async with running(station_config(central_system.url, max_stack_level=8)) as simulator:
        status = await set_profile(central_system, connector_id, profile)
        installed = simulator.stations[STATION].installed_profiles

    assert status == "Rejected"
    assert installed == ()


async def test_clear_answers_accepted_then_unknown_once_nothing_matches(
    central_system: CentralSystem,
) -> None:
    async with running(station_config(central_system.url)) as simulator:
        await set_profile(central_system, 0, tx_default(profile_id=7))
        await set_profile(central_system, 0, tx_default(profile_id=8, stack_level=1))
        first = await central_system.result(STATION, "ClearChargingProfile", {"id": 7})
        again = await central_system.result(STATION, "ClearChargingProfile", {"id": 7})
        left = [
            p.profile.charging_profile_id for p in simulator.stations[STATION].installed_profiles
        ]

    assert first == {"status": "Accepted"}
    assert again == {"status": "Unknown"}
    assert left == [8]


async def test_a_station_that_ignores_profiles_acknowledges_but_keeps_no_limit(
    central_system: CentralSystem,
) -> None:
    config = station_config(central_system.url, ignore_profile_rate=1.0, max_power_w=22080.0)
    async with running(config) as simulator:
        status = await set_profile(central_system, 0, tx_default(periods=((0, 6.0),)))
        reported = await central_system.result(
            STATION, "GetCompositeSchedule", {"connectorId": 1, "duration": 600}
        )
        installed = simulator.stations[STATION].installed_profiles

    assert status == "Accepted"
    assert installed == ()
    periods = reported["chargingSchedule"]["chargingSchedulePeriod"]
    assert [p["limit"] for p in periods] == [22080.0]  # the station maximum, not 6 A


async def test_reject_rate_one_refuses_every_valid_profile(central_system: CentralSystem) -> None:
    async with running(station_config(central_system.url, reject_rate=1.0)) as simulator:
        status = await set_profile(central_system, 0, tx_default())
        installed = simulator.stations[STATION].installed_profiles

    assert status == "Rejected"
    assert installed == ()
