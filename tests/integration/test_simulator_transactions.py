"""Remote start with a TxProfile, remote stop, and what the transaction leaves behind."""

from __future__ import annotations

from typing import Any

from app.domain.profiles import ChargingProfilePurpose
from tests.integration.conftest_simulator import (
    CentralSystem,
    central_system,
    running,
    station_config,
)

__all__ = ["central_system"]

STATION = "PY-SIM-0001"


def tx_profile(amps: float, **extra: Any) -> dict[str, Any]:
    return {
        "chargingProfileId": 40,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": amps}],
        },
        **extra,
    }


async def test_remote_start_with_a_tx_profile_charges_within_it_until_remote_stop(
    central_system: CentralSystem,
) -> None:
    config = station_config(central_system.url, ev_max_power_w=11000.0)
    async with running(config) as simulator:
        station = simulator.stations[STATION]
        answer = await central_system.result(
            STATION,
            "RemoteStartTransaction",
            {"idTag": "CARD-1", "connectorId": 1, "chargingProfile": tx_profile(8.0)},
        )
        [start] = await central_system.wait_for(STATION, "StartTransaction")
        await central_system.wait_until(
            lambda: any(
                s["status"] == "Charging"
                for s in central_system.calls(STATION, "StatusNotification")
            )
        )
        installed = station.installed_profiles
        power = station.metered_power_w(1)
        transaction_id = station.transactions[1].transaction_id

        stop = await central_system.result(
            STATION, "RemoteStopTransaction", {"transactionId": transaction_id}
        )
        [stopped] = await central_system.wait_for(STATION, "StopTransaction")
        left = station.installed_profiles

    assert answer == {"status": "Accepted"}
    assert (start["connectorId"], start["idTag"]) == (1, "CARD-1")
    # OCPP 1.6 errata §3.41: the profile is bound to the transaction the remote start made.
    assert [(p.profile.purpose, p.profile.transaction_id) for p in installed] == [
        (ChargingProfilePurpose.TX_PROFILE, transaction_id)
    ]
    assert power == 8.0 * 230.0 * 3  # 8 A on three phases, below the EV's 11 kW
    assert stop == {"status": "Accepted"}
    assert (stopped["transactionId"], stopped["reason"]) == (transaction_id, "Remote")
    assert left == ()  # a TxProfile ends with its transaction


async def test_remote_start_refuses_a_tx_profile_that_names_a_transaction(
    central_system: CentralSystem,
) -> None:
    async with running(station_config(central_system.url)) as simulator:
        answer = await central_system.result(
            STATION,
            "RemoteStartTransaction",
            {
                "idTag": "CARD-1",
                "connectorId": 1,
                "chargingProfile": tx_profile(8.0, transactionId=5),
            },
        )
        heartbeat = await central_system.result(
            STATION, "TriggerMessage", {"requestedMessage": "Heartbeat"}
        )
        await central_system.wait_for(STATION, "Heartbeat")
        transactions = dict(simulator.stations[STATION].transactions)

    assert answer == {"status": "Rejected"}
    assert heartbeat == {"status": "Accepted"}
    assert central_system.calls(STATION, "StartTransaction") == []
    assert transactions == {}


async def test_remote_stop_of_an_unknown_transaction_is_rejected(
    central_system: CentralSystem,
) -> None:
    async with running(station_config(central_system.url)):
        answer = await central_system.result(
            STATION, "RemoteStopTransaction", {"transactionId": 12345}
        )

    assert answer == {"status": "Rejected"}
