"""A live plan: its timeline fitted to ChargingScheduleMaxPeriods, and why a car falls
short (app/domain/live_plan.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.allocation import Circuit, LimitWindow, Period, Session, Site
from app.domain.live_plan import fit_periods, shortfall_reason
from app.domain.planner import Horizon, Need, PlanRequest, plan
from app.services.load.circuit_plans import aligned_horizon

AT = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)


def limit_at(periods: tuple[Period, ...] | list[Period], t: int) -> float:
    return [p.limit_a for p in periods if p.start_s <= t][-1]


def test_a_timeline_that_fits_is_sent_as_it_is() -> None:
    periods = [Period(0, 10.0), Period(900, 16.0), Period(1800, 0.0)]
    assert fit_periods(periods, 3, 3600) == tuple(periods)


def test_merging_takes_the_lower_limit_and_loses_the_least_energy_first() -> None:
    periods = [Period(0, 16.0), Period(900, 15.0), Period(1800, 32.0), Period(2700, 6.0)]
    # 16 -> 15 over 900 s loses the least: merged into 15 A from 0.
    assert fit_periods(periods, 3, 3600) == (
        Period(0, 15.0), Period(1800, 32.0), Period(2700, 6.0))


@given(st.lists(st.sampled_from([0.0, 6.0, 7.5, 10.0, 16.0, 32.0]), min_size=1,
                max_size=40),
       st.integers(min_value=1, max_value=12))
def test_a_fitted_timeline_never_passes_the_plan_and_keeps_min_or_zero(
        values: list[float], most: int) -> None:
    periods = [Period(i * 900, v) for i, v in enumerate(values)]
    fitted = fit_periods(periods, most, len(values) * 900)
    assert len(fitted) <= most
    assert fitted[0].start_s == 0
    for t in range(0, len(values) * 900, 450):
        assert limit_at(fitted, t) <= limit_at(periods, t)
    assert all(p.limit_a == 0.0 or p.limit_a >= 6.0 for p in fitted)


def test_slots_follow_the_clock_so_replans_share_their_boundaries() -> None:
    slots = aligned_horizon(AT + timedelta(seconds=100), 900, 3600).slots()
    assert slots[:2] == [(0, 800), (800, 900)]
    later = aligned_horizon(AT + timedelta(seconds=160), 900, 3600).slots()
    assert later[:2] == [(0, 740), (740, 900)]
    assert aligned_horizon(AT, 900, 3600).slots() == [(0, 900), (900, 900), (1800, 900),
                                                     (2700, 900)]


def test_a_car_falls_short_because_the_site_is_at_its_limit_in_a_window() -> None:
    # 64 A (both at their maximum) until 17:00, then 12 A (a grid operator's window).
    main = Circuit("main", None, (64.0, 64.0, 64.0), limits=(
        LimitWindow(AT + timedelta(hours=1), AT + timedelta(hours=5), (12.0, 12.0, 12.0)),))
    cars = tuple(Session(f"EV{n}", "main", ("L1", "L2", "L3"), 6.0, 32.0) for n in (1, 2))
    site = Site((main,), cars)
    needs = {s.id: Need(60.0, AT + timedelta(hours=5)) for s in cars}
    request = PlanRequest(site, AT, needs, horizon=Horizon(900, 6 * 3600))
    planned = plan(request)
    assert planned.decided_by == "planner"
    assert planned.sessions["EV1"].shortfall_kwh is not None
    assert planned.sessions["EV1"].shortfall_kwh > 1
    reason = shortfall_reason(site, AT, planned.slots, planned.currents, "EV1",
                              AT + timedelta(hours=5))
    assert reason == "site at its limit 17:00-21:00 (main L1)"


def test_a_car_alone_falls_short_by_its_own_maximum() -> None:
    site = Site((Circuit("main", None, (100.0, 100.0, 100.0)),),
                (Session("EV1", "main", ("L1",), 6.0, 16.0),))
    departure = AT + timedelta(hours=1)
    planned = plan(PlanRequest(site, AT, {"EV1": Need(20.0, departure)},
                               horizon=Horizon(900, 7200)))
    reason = shortfall_reason(site, AT, planned.slots, planned.currents, "EV1", departure)
    assert reason == "its own maximum (16 A) until its departure 17:00 is not enough"
