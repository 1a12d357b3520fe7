"""An EV on a simulated station never draws more than the composite limit in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.composite import composite_schedule
from app.domain.installation import InstalledProfile
from app.domain.profiles import ChargingRateUnit, parse_datetime
from app.domain.schedule_comparison import limit_at
from app.domain.units import SupplyConfig
from app.simulator import SimulatedStation
from tests.integration.conftest_simulator import (
    CentralSystem,
    central_system,
    running,
    station_config,
)

__all__ = ["central_system"]

STATION = "PY-SIM-0001"
START = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
EV_MAX_W = 11000.0
STATION_MAX_W = 22080.0


@dataclass(frozen=True)
class Change:
    """Profiles installed from ``settled`` on; samples in [asked, settled) are ambiguous."""

    asked: datetime
    settled: datetime
    installed: tuple[InstalledProfile, ...]


def profile(purpose: str, profile_id: int, periods: list[tuple[int, float]]) -> dict[str, Any]:
    return {
        "chargingProfileId": profile_id,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "startSchedule": "2030-01-01T08:00:00Z",
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": s, "limit": a} for s, a in periods],
        },
    }


def expected_limit_w(
    station: SimulatedStation, installed: tuple[InstalledProfile, ...], at: datetime
) -> float:
    schedule = composite_schedule(
        installed,
        1,
        at.replace(microsecond=0),
        2,
        ChargingRateUnit.W,
        transactions=station.active_transactions(),
        number_of_connectors=1,
        supply=SupplyConfig(voltage=230.0, phases=3),
        station_max_w=STATION_MAX_W,
    )
    limit = limit_at(schedule.to_ocpp(), at)
    assert limit is not None
    return limit


def sampled(payload: dict[str, Any], measurand: str) -> float:
    values = payload["meterValue"][0]["sampledValue"]
    return next(float(v["value"]) for v in values if v["measurand"] == measurand)


async def test_metered_power_follows_changing_profiles_and_never_exceeds_the_limit(
    central_system: CentralSystem,
) -> None:
    config = station_config(
        central_system.url,
        connectors=1,
        start_time=START,
        auto_charge=True,
        ev_max_power_w=EV_MAX_W,
        max_power_w=STATION_MAX_W,
        meter_interval=0.05,
    )
    async with running(config) as simulator:
        station = simulator.stations[STATION]
        changes = [Change(START, START, ())]

        async def change(action: str, payload: dict[str, Any]) -> None:
            asked = station.clock.now()
            answer = await central_system.result(STATION, action, payload)
            assert answer["status"] == "Accepted"
            changes.append(Change(asked, station.clock.now(), station.installed_profiles))

        async def reach(seconds: float) -> None:
            def reached() -> bool:
                samples = central_system.calls(STATION, "MeterValues")
                last = samples[-1]["meterValue"][0]["timestamp"] if samples else None
                return last is not None and parse_datetime(last) >= START + timedelta(
                    seconds=seconds
                )

            await central_system.wait_until(reached)

        await central_system.wait_for(STATION, "StartTransaction")
        await reach(0.3)
        # 32 A (above the EV), then 10 A from 08:00:01, 6 A from 08:00:02.
        default = profile("TxDefaultProfile", 1, [(0, 32.0), (1, 10.0), (2, 6.0)])
        await change("SetChargingProfile", {"connectorId": 0, "csChargingProfiles": default})
        await reach(1.4)
        cap = profile("ChargePointMaxProfile", 2, [(0, 8.0)])
        await change("SetChargingProfile", {"connectorId": 0, "csChargingProfiles": cap})
        await reach(1.8)
        await change("ClearChargingProfile", {"id": 2})
        await reach(2.5)
        samples = central_system.calls(STATION, "MeterValues")

    checked: list[float] = []
    for payload in samples:
        at = parse_datetime(payload["meterValue"][0]["timestamp"])
        if any(c.asked <= at < c.settled for c in changes):
            continue
        installed = [c for c in changes if c.settled <= at][-1].installed
        limit = expected_limit_w(station, installed, at)
        power = sampled(payload, "Power.Active.Import")
        assert power <= limit, (at, power, limit)
        assert power >= min(EV_MAX_W, limit) - 0.1, (at, power, limit)
        assert sampled(payload, "Current.Offered") <= limit / 690.0
        checked.append(power)

    # The draw went through every regime: EV maximum, 10 A, 8 A cap, 6 A.
    assert {EV_MAX_W, 6900.0, 5520.0, 4140.0} <= set(checked)
    energies = [sampled(p, "Energy.Active.Import.Register") for p in samples]
    assert energies == sorted(energies) and energies[-1] > energies[0]
