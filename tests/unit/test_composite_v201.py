"""OCPP 2.0.1 composite schedules worked out by hand, as GetCompositeScheduleResponse shows
them: one rule per test."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.composite import ActiveTransaction, EvseTransaction, composite_schedule
from app.domain.installation import InstalledProfile
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
)
from app.domain.profiles_v201 import (
    ChargingProfile201,
    ChargingProfilePurpose201,
    ChargingSchedule201,
    ChargingSchedulePeriod201,
    EvseProfile,
    from_v16,
)
from app.domain.protocol_rules import V201
from tests.unit.test_composite_properties import valid_profiles

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
A = ChargingRateUnit.A
W = ChargingRateUnit.W
MAX = ChargingProfilePurpose201.CHARGING_STATION_MAX_PROFILE
EXTERNAL = ChargingProfilePurpose201.CHARGING_STATION_EXTERNAL_CONSTRAINTS
TXDEFAULT = ChargingProfilePurpose201.TX_DEFAULT_PROFILE
TX = ChargingProfilePurpose201.TX_PROFILE


def profile(profile_id: int, purpose: ChargingProfilePurpose201,
            periods: Sequence[tuple[int, float] | tuple[int, float, int]], *, stack: int = 0,
            unit: ChargingRateUnit = A, duration: int | None = None,
            transaction_id: str | None = None) -> ChargingProfile201:
    schedule = ChargingSchedule201(
        charging_rate_unit=unit, periods=tuple(ChargingSchedulePeriod201(*p) for p in periods),
        duration=duration, start_schedule=T0, id=1)
    return ChargingProfile201(profile_id, stack, purpose, ChargingProfileKind.ABSOLUTE,
                              (schedule,), transaction_id)


def answer(held: Sequence[EvseProfile], evse_id: int, unit: ChargingRateUnit = A, *,
           transactions: Sequence[EvseTransaction] = (), evses: int = 2) -> dict[str, Any]:
    """The GetCompositeScheduleResponse a 2.0.1 station gives for one hour from T0."""
    return composite_schedule(held, evse_id, T0, 3600, unit, transactions=transactions,
                              number_of_connectors=evses, rules=V201).to_ocpp()


def limits(payload: dict[str, Any]) -> list[tuple[int, float]]:
    periods = payload["schedule"]["chargingSchedulePeriod"]
    return [(p["startPeriod"], p["limit"]) for p in periods]


def test_the_answer_is_a_2_0_1_composite_schedule_for_the_evse() -> None:
    held = [EvseProfile(0, profile(1, MAX, [(0, 32.0)]))]

    assert answer(held, 1) == {
        "status": "Accepted",
        "schedule": {"evseId": 1, "duration": 3600, "scheduleStart": "2026-03-02T08:00:00Z",
                     "chargingRateUnit": "A",
                     "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32.0}]},
    }


def test_external_constraints_and_the_station_maximum_combine_as_a_minimum() -> None:
    held = [EvseProfile(0, profile(1, MAX, [(0, 32.0), (2400, 10.0)])),
            EvseProfile(0, profile(2, EXTERNAL, [(0, 40.0), (1200, 16.0)], duration=1800))]

    # 32 under 40, then the grid's 16 A, then 32 again when it ends, then the maximum's 10.
    assert limits(answer(held, 1)) == [(0, 32.0), (1200, 16.0), (1800, 32.0), (2400, 10.0)]
    # The station's own draw is capped by both too.
    assert limits(answer(held, 0)) == [(0, 32.0), (1200, 16.0), (1800, 32.0), (2400, 10.0)]


def test_external_constraints_on_one_evse_cap_that_evse_only() -> None:
    held = [EvseProfile(0, profile(1, TXDEFAULT, [(0, 16.0)])),
            EvseProfile(2, profile(2, EXTERNAL, [(0, 6.0)]))]

    assert limits(answer(held, 1)) == [(0, 16.0)]
    assert limits(answer(held, 2)) == [(0, 6.0)]
    assert limits(answer(held, 0)) == [(0, 22.0)]


def test_tx_profile_overrules_tx_default_whatever_the_stack_levels() -> None:
    held = [EvseProfile(0, profile(1, TXDEFAULT, [(0, 16.0)], stack=5)),
            EvseProfile(1, profile(2, TX, [(0, 10.0)], stack=0, transaction_id="tx-1"))]
    running = [EvseTransaction("tx-1", 1, T0)]

    assert limits(answer(held, 1, transactions=running)) == [(0, 10.0)]
    # EVSE 2 has no transaction: the TxDefaultProfile applies.
    assert limits(answer(held, 2, transactions=running)) == [(0, 16.0)]


def test_a_tx_profile_of_another_transaction_does_not_apply() -> None:
    held = [EvseProfile(0, profile(1, TXDEFAULT, [(0, 16.0)])),
            EvseProfile(1, profile(2, TX, [(0, 10.0)], transaction_id="tx-old"))]

    running = [EvseTransaction("tx-new", 1, T0)]
    assert limits(answer(held, 1, transactions=running)) == [(0, 16.0)]


def test_evse_0_tx_default_applies_to_every_evse_unless_an_evse_has_its_own() -> None:
    held = [EvseProfile(0, profile(1, TXDEFAULT, [(0, 16.0)])),
            EvseProfile(2, profile(2, TXDEFAULT, [(0, 8.0)]))]

    assert limits(answer(held, 1)) == [(0, 16.0)]
    assert limits(answer(held, 2)) == [(0, 8.0)]
    # EVSE 0 is what the whole station draws: the sum of its EVSEs ...
    assert limits(answer(held, 0)) == [(0, 24.0)]
    # ... capped by the station maximum.
    capped = [*held, EvseProfile(0, profile(3, MAX, [(0, 20.0)]))]
    assert limits(answer(capped, 0)) == [(0, 20.0)]


def test_watt_and_ampere_profiles_are_converted_before_the_minimum() -> None:
    # 11 kW on 3 x 230 V is 15.9 A per phase; a 20 A TxDefault is 13,800 W.
    held = [EvseProfile(0, profile(1, MAX, [(0, 11000.0)], unit=W)),
            EvseProfile(1, profile(2, TXDEFAULT, [(0, 20.0)]))]

    assert limits(answer(held, 1, A)) == [(0, 15.9)]
    assert limits(answer(held, 1, W)) == [(0, 11000.0)]
    # A value is never the other unit's number: 20 (A) is not below 11000 (W).
    assert answer(held, 1, A)["schedule"]["chargingRateUnit"] == "A"


def test_a_single_phase_watt_limit_converts_with_its_own_number_of_phases() -> None:
    held = [EvseProfile(1, profile(1, TXDEFAULT, [(0, 3680.0, 1)], unit=W))]

    assert answer(held, 1, A)["schedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.0, "numberPhases": 1}]


@settings(max_examples=100, deadline=None)
@given(
    cap=valid_profiles(ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE),
    defaults=st.lists(valid_profiles(ChargingProfilePurpose.TX_DEFAULT_PROFILE), max_size=3),
    tx=valid_profiles(ChargingProfilePurpose.TX_PROFILE),
    unit=st.sampled_from(list(ChargingRateUnit)),
    evse=st.integers(0, 2),
)
def test_a_converted_1_6_profile_set_gives_the_same_composite_in_2_0_1(
    cap: tuple[ChargingProfile, int], defaults: list[tuple[ChargingProfile, int]],
    tx: tuple[ChargingProfile, int], unit: ChargingRateUnit, evse: int,
) -> None:
    generated = [cap, (tx[0], 1), *((p, min(c, 2)) for p, c in defaults)]
    tx_id = tx[0].transaction_id or 0
    v16 = [InstalledProfile(c, p) for p, c in generated]
    v201 = [EvseProfile(c, from_v16(p, transaction_id=str(tx_id), sent_at=T0))
            for p, c in generated]
    began = T0 - timedelta(minutes=5)

    old = composite_schedule(v16, evse, T0, 4 * 3600, unit, number_of_connectors=2,
                             transactions=[ActiveTransaction(tx_id, 1, began)])
    new = composite_schedule(v201, evse, T0, 4 * 3600, unit, number_of_connectors=2,
                             transactions=[EvseTransaction(str(tx_id), 1, began)], rules=V201)

    assert new.to_ocpp()["schedule"]["chargingSchedulePeriod"] == (
        old.to_ocpp()["chargingSchedule"]["chargingSchedulePeriod"])
