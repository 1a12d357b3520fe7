"""A simulated station boots, announces its connectors and answers configuration requests."""

from __future__ import annotations

from tests.e2e.harness import eventually
from tests.integration.conftest_simulator import (
    CentralSystem,
    central_system,
    running,
    station_config,
)

__all__ = ["central_system"]


async def test_station_boots_as_chargeplan_py_sim_and_reports_every_connector(
    central_system: CentralSystem,
) -> None:
    async with running(station_config(central_system.url, connectors=2)) as simulator:
        station = simulator.stations["PY-SIM-0001"]
        statuses = await central_system.wait_for("PY-SIM-0001", "StatusNotification", count=3)

    assert station.boot_accepted is False  # stopped: no longer connected
    boot = central_system.calls("PY-SIM-0001", "BootNotification")[0]
    assert boot == {
        "chargePointModel": "PY-SIM",
        "chargePointVendor": "chargeplan",
        "chargePointSerialNumber": "PY-SIM-0001",
        "firmwareVersion": "1.0.0",
    }
    assert [(s["connectorId"], s["status"]) for s in statuses] == [
        (0, "Available"),
        (1, "Available"),
        (2, "Available"),
    ]


async def test_get_configuration_lists_smart_charging_limits_and_unknown_keys(
    central_system: CentralSystem,
) -> None:
    config = station_config(central_system.url, max_stack_level=5, max_periods=12, connectors=3)
    async with running(config):
        answer = await central_system.result(
            "PY-SIM-0001",
            "GetConfiguration",
            {"key": ["ChargeProfileMaxStackLevel", "NumberOfConnectors", "NoSuchKey"]},
        )
        everything = await central_system.result("PY-SIM-0001", "GetConfiguration", {})

    assert answer["configurationKey"] == [
        {"key": "ChargeProfileMaxStackLevel", "readonly": True, "value": "5"},
        {"key": "NumberOfConnectors", "readonly": True, "value": "3"},
    ]
    assert answer["unknownKey"] == ["NoSuchKey"]
    values = {item["key"]: item["value"] for item in everything["configurationKey"]}
    assert values["SupportedFeatureProfiles"] == (
        "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"
    )
    assert values["ChargingScheduleMaxPeriods"] == "12"
    assert values["ChargingScheduleAllowedChargingRateUnit"] == "Current,Power"
    assert values["ConnectorSwitch3to1PhaseSupported"] == "false"
    assert values["HeartbeatInterval"] == "300"  # the interval the central system gave
    assert "unknownKey" not in everything


async def test_change_configuration_applies_writable_keys_only(
    central_system: CentralSystem,
) -> None:
    async with running(station_config(central_system.url)):
        station = "PY-SIM-0001"
        writable = await central_system.result(
            station, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}
        )
        readonly = await central_system.result(
            station, "ChangeConfiguration", {"key": "NumberOfConnectors", "value": "4"}
        )
        unknown = await central_system.result(
            station, "ChangeConfiguration", {"key": "NoSuchKey", "value": "1"}
        )
        not_a_number = await central_system.result(
            station, "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "x"}
        )
        after = await central_system.result(
            station, "GetConfiguration", {"key": ["HeartbeatInterval", "NumberOfConnectors"]}
        )

    assert writable == {"status": "Accepted"}
    assert readonly == {"status": "Rejected"}
    assert unknown == {"status": "NotSupported"}
    assert not_a_number == {"status": "Rejected"}
    assert [item["value"] for item in after["configurationKey"]] == ["60", "2"]


async def test_two_hundred_stations_connect_and_boot(
    central_system: CentralSystem,
) -> None:
    # How fast is for the bench (storm); that all of them boot is for this test.
    config = station_config(central_system.url, stations=200, id_prefix="LOAD-")
    async with running(config) as simulator:
        # On a loaded machine a first attempt can time out; the station then reconnects.
        await eventually(lambda: all(s.boot_accepted for s in simulator.stations.values()),
                         timeout=120)
        booted = [s.station_id for s in simulator.stations.values() if s.boot_accepted]

    assert len(booted) == 200
    assert booted[0] == "LOAD-0001" and booted[-1] == "LOAD-0200"
    assert len({s for s, a, _ in central_system.received if a == "BootNotification"}) == 200
