"""The car's chosen schedule against what was sent for its EVSE (OCPP 2.0.1
NotifyEVChargingSchedule), one rule per test."""

from __future__ import annotations

from datetime import timedelta

from app.domain.composite import (
    ActiveTransaction,
    CompositeAnswer,
    Convention,
    Point,
    SupplyConfig,
    composite_answer,
)
from app.domain.ev_schedule import (
    EvSchedule,
    ScheduleCheck,
    check_ev_schedule,
    offered_periods,
)
from app.domain.installation import InstalledProfile
from app.domain.profiles import ChargingRateUnit, ChargingSchedule, ChargingSchedulePeriod
from tests.unit.test_composite_schedule import T0, TX, TXDEFAULT, A, W, on, profile

SUPPLY = SupplyConfig(voltage=230, phases=3)
RUNNING = (ActiveTransaction(7, 1, T0),)


def chosen(periods: list[tuple[int, float]], unit: ChargingRateUnit = A, *,
           after_s: int = 0, duration: int | None = None) -> EvSchedule:
    return EvSchedule(T0 + timedelta(seconds=after_s), ChargingSchedule(
        unit, tuple(ChargingSchedulePeriod(start, limit) for start, limit in periods),
        duration=duration))


def check(car: EvSchedule, installed: list[InstalledProfile]) -> ScheduleCheck:
    allowed = composite_answer(installed, 1, car.time_base, car.window_s(), car.unit,
                               transactions=RUNNING, supply=SUPPLY)
    return check_ev_schedule(car, allowed)


# 16 A for the first hour of transaction 7, then 10 A.
TX_16_THEN_10 = on(1, profile(1, TX, [(0, 16), (3600, 10)], unit=A, transaction_id=7))


def test_a_schedule_at_or_below_the_tx_profile_fits() -> None:
    result = check(chosen([(0, 16), (3600, 8)], duration=7200), TX_16_THEN_10)
    assert result.fits and result.bounded


def test_one_period_over_in_amperes_names_its_period_instant_and_excess() -> None:
    result = check(chosen([(0, 16), (3600, 12)], duration=7200), TX_16_THEN_10)
    assert result.excess is not None
    assert (result.excess.period, result.excess.at, result.excess.over) == (
        1, T0 + timedelta(hours=1), 2.0)
    assert "period 1 asks 12 A" in result.excess.describe()


def test_in_amperes_a_period_on_more_phases_than_allowed_is_over() -> None:
    one_phase = on(1, profile(1, TX, [(0, 16, 1)], unit=A, transaction_id=7))
    three = EvSchedule(T0, ChargingSchedule(A, (ChargingSchedulePeriod(0, 16, 3),),
                                            duration=3600))
    result = check(three, one_phase)
    assert result.excess is not None and result.excess.phases == (3, 1)
    assert "16 A on 3 phases" in result.excess.describe()
    single = EvSchedule(T0, ChargingSchedule(A, (ChargingSchedulePeriod(0, 16, 1),),
                                             duration=3600))
    assert check(single, one_phase).fits
    # Not given, a car's period is on 3 phases (the spec's default): over as well.
    assert not check(chosen([(0, 10)], duration=3600), one_phase).fits
    # Three phases allowed (the default), one phase used: fits.
    assert check(single, TX_16_THEN_10).fits


def test_watts_are_checked_against_an_ampere_profile_converted_with_its_phases() -> None:
    # 16 A x 230 V x 3 = 11,040 W; 10 A = 6,900 W.
    fits = check(chosen([(0, 11040), (3600, 6900)], W, duration=7200), TX_16_THEN_10)
    assert fits.fits
    over = check(chosen([(0, 11040), (3600, 7400)], W, duration=7200), TX_16_THEN_10)
    assert over.excess is not None
    assert (over.excess.period, over.excess.allowed, over.excess.over) == (1, 6900.0, 500.0)


def test_a_schedule_starting_later_is_read_from_its_own_time_base() -> None:
    # Half an hour into the profile: 16 A for 30 min more, then 10 A.
    within = chosen([(0, 16), (1800, 10)], after_s=1800, duration=3600)
    assert check(within, TX_16_THEN_10).fits
    stays_at_16 = check(chosen([(0, 16)], after_s=1800, duration=3600), TX_16_THEN_10)
    assert stays_at_16.excess is not None
    assert (stays_at_16.excess.period, stays_at_16.excess.at, stays_at_16.excess.over) == (
        0, T0 + timedelta(hours=1), 6.0)


def test_the_last_period_runs_on_when_the_schedule_has_no_duration() -> None:
    result = check(chosen([(0, 16)]), TX_16_THEN_10)
    assert result.excess is not None and result.excess.at == T0 + timedelta(hours=1)


def test_an_evse_nothing_was_sent_for_is_not_bounded() -> None:
    other_evse = on(2, profile(2, TXDEFAULT, [(0, 6)], unit=A))
    result = check(chosen([(0, 32)]), other_evse)
    assert result.fits and not result.bounded


def _allowed(*points: tuple[int, float | None]) -> CompositeAnswer:
    return CompositeAnswer(1, T0, 3600, ChargingRateUnit.A,
                           Convention.STRICT, tuple(Point(s, v, None) for s, v in points), 0.0)


def test_an_offer_keeps_to_what_is_allowed_and_the_car_maximum() -> None:
    got = offered_periods(_allowed((0, 20.0), (600, None), (1200, 12.34)),
                          ceiling=16.0, car_minimum=6.0)
    assert [(p.start_period, p.limit) for p in got] == [(0, 16.0), (1200, 12.3)]


def test_an_offer_pauses_instead_of_going_below_the_car_minimum() -> None:
    got = offered_periods(_allowed((0, 4.0), (600, 0.0), (900, 8.0)),
                          ceiling=16.0, car_minimum=6.0)
    assert [(p.start_period, p.limit) for p in got] == [(0, 0.0), (900, 8.0)]


def test_nothing_is_offered_where_nothing_bounds_and_no_ceiling_is_known() -> None:
    assert offered_periods(_allowed((0, None)), ceiling=None, car_minimum=None) == ()
