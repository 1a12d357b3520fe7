"""The simulated 2.0.1 station and a profile sent on the stack level of one it holds:
Rejected (a central system SHALL NOT send it, K01.FR.06), or, with
``same_stack_replaces``, taken in place of the other as a 1.6 charger would."""

from __future__ import annotations

from app.domain.profiles import ChargingProfileKind, ChargingRateUnit
from app.domain.profiles_v201 import (
    ChargingProfile201,
    ChargingProfilePurpose201,
    ChargingSchedule201,
    ChargingSchedulePeriod201,
    EvseProfile,
)
from app.simulator.config import SimulatorConfig
from app.simulator.smart_charging_v201 import SmartCharging201


def tx_default(profile_id: int, limit_a: float) -> ChargingProfile201:
    schedule = ChargingSchedule201(ChargingRateUnit.A, (ChargingSchedulePeriod201(0, limit_a),),
                                   id=1)
    return ChargingProfile201(profile_id, 0, ChargingProfilePurpose201.TX_DEFAULT_PROFILE,
                              ChargingProfileKind.RELATIVE, (schedule,))


def station(*, same_stack_replaces: bool = False) -> SmartCharging201:
    held = SmartCharging201("S", SimulatorConfig(ocpp_version="2.0.1",
                                                 same_stack_replaces=same_stack_replaces))
    assert held.install(EvseProfile(1, tx_default(5, 16.0))) is None
    return held


def test_a_second_profile_on_a_held_stack_level_is_refused() -> None:
    found = station().check(tx_default(6, 10.0), 1, {})
    assert [(v.path, v.reference) for v in found] == [
        ("stackLevel", "OCPP 2.0.1 Part 2 K01.FR.06")]
    # The same id replaces (K01.FR.05); another EVSE is another place.
    assert station().check(tx_default(5, 10.0), 1, {}) == []
    assert station().check(tx_default(6, 10.0), 2, {}) == []


def test_a_lenient_station_takes_it_in_place_of_the_other() -> None:
    lenient = station(same_stack_replaces=True)
    assert lenient.check(tx_default(6, 10.0), 1, {}) == []
    assert lenient.install(EvseProfile(1, tx_default(6, 10.0))) is None
    assert [h.profile.charging_profile_id for h in lenient.held] == [6]
