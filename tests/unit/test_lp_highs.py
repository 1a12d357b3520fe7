"""HiGHS solves the planner's staged LPs; a warm start changes the time, never the answer."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import lp_highs, plan_model
from app.domain.allocation import Circuit, Session, Site
from app.domain.lp import LARGE, LinearProgram, Stage
from app.domain.lp_highs import HighsSolver, solve
from app.domain.phasors import Grid
from app.domain.planner import (
    EARLY,
    LATE,
    LATE_S,
    Horizon,
    Need,
    PlanRequest,
    PricePeriod,
    Tariff,
    plan,
)

AT = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)


def _lp(capacity: float) -> LinearProgram:
    lp = LinearProgram()
    x, y = lp.add_col(0.0, 10.0), lp.add_col(0.0, 10.0)
    lp.add_row([x, y], [1.0, 1.0], -1e30, capacity)
    return lp


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(1.0, 25.0), min_size=2, max_size=5))
def test_a_warm_start_gives_the_cold_answer(capacities: list[float]) -> None:
    warm = HighsSolver()
    stages = [Stage("total", ([0, 1], [1.0, 1.0]), True, ([0, 1], [1.0, 1.0])),
              Stage("prefer x", ([0], [1.0]), True)]
    for capacity in capacities:  # every LP has the same shape: the basis is reused
        x, y = warm(_lp(capacity), stages, 5.0)
        cold_x, cold_y = solve(_lp(capacity), stages, 5.0)
        # the same optimum of each stage (within the 1e-6 relative hold of the first)
        assert math.isclose(x + y, cold_x + cold_y, rel_tol=1e-5)
        assert math.isclose(x, cold_x, rel_tol=1e-5)


def test_fairness_is_left_out_when_every_need_is_met() -> None:
    site = Site((Circuit("main", None, (32.0,) * 3),), (
        Session("a", "main", ("L1",), 6, 16), Session("b", "main", ("L1",), 6, 16)))
    needs = {s.id: Need(2.0, AT + timedelta(hours=2)) for s in site.sessions}
    ran: list[str] = []

    def spy(lp: LinearProgram, stages: list[Stage], time_limit_s: float) -> list[float]:
        values = [0.0] * lp.num_col
        for stage in stages:
            if stage.needless is not None and stage.needless(values):
                continue
            values = solve(lp, [*(s for s in stages if s.name in ran), stage], time_limit_s)
            ran.append(stage.name)
        return values

    planned = plan(PlanRequest(site, AT, needs, Grid(), horizon=Horizon(horizon_s=4 * 3600)),
                   spy)
    assert planned.decided_by == "planner"
    assert "fairness" not in ran


def test_a_stated_need_is_not_left_short_by_rounding_below_the_minimum() -> None:
    # 20 kWh at 8-10 A on three phases is 11 slots of 15 minutes at 10 A and one at
    # about 6 A: below the car's minimum. The opportunistic session makes room for 8 A.
    site = Site((Circuit("main", None, (32.0,) * 3),), (
        Session("van", "main", ("L1", "L2", "L3"), 8, 10),
        Session("car", "main", ("L1", "L2", "L3"), 6, 32)))
    needs = {"van": Need(20.0, AT + timedelta(hours=6)),
             "car": Need(170.0, AT + timedelta(hours=8), stated=False)}
    planned = plan(PlanRequest(site, AT, needs, Grid(), horizon=Horizon(horizon_s=24 * 3600)))
    assert planned.decided_by == "planner"
    van = planned.sessions["van"]
    assert van.planned_kwh is not None and van.planned_kwh >= 20.0
    assert van.shortfall_kwh == 0
    for row in planned.currents:
        assert row[0] == 0 or 8 <= row[0] <= 10
        assert row[1] == 0 or 6 <= row[1] <= 32
        assert row[0] + row[1] <= 32 + 1e-9


def test_a_stated_need_comes_before_as_much_as_another_can_take() -> None:
    site = Site((Circuit("main", None, (16.0,) * 3),), (
        Session("van", "main", ("L1", "L2", "L3"), 6, 16),
        Session("car", "main", ("L1", "L2", "L3"), 6, 16)))
    needs = {"van": Need(20.0, AT + timedelta(hours=2)),
             "car": Need(40.0, AT + timedelta(hours=2), stated=False)}
    planned = plan(PlanRequest(site, AT, needs, Grid(), horizon=Horizon(horizon_s=4 * 3600)))
    # 16 A on three phases for 2 h is 22 kWh: the van's 20 first, the car the rest.
    assert planned.sessions["van"].shortfall_kwh == 0
    assert planned.sessions["car"].planned_kwh is not None
    assert planned.sessions["car"].planned_kwh < 3


def test_a_stated_need_charges_first_when_nothing_says_otherwise() -> None:
    # Both fit in any order (the van needs 3.5 h of the circuit in 8): without prices its
    # energy is not put off behind a session without a need.
    site = Site((Circuit("main", None, (20.0,) * 3),), (
        Session("van", "main", ("L1", "L2", "L3"), 6, 32),
        Session("other", "main", ("L1", "L2", "L3"), 6, 32)))
    needs = {"van": Need(48.0, AT + timedelta(hours=8))}
    planned = plan(PlanRequest(site, AT, needs, Grid(), horizon=Horizon(horizon_s=24 * 3600)))
    assert planned.decided_by == "planner"
    assert planned.sessions["van"].limit_a == 20.0
    assert planned.sessions["van"].shortfall_kwh == 0
    assert planned.sessions["other"].limit_a == 0.0


def test_a_column_held_for_pricing_joins_when_it_makes_room() -> None:
    # A large LP (LARGE columns: the high tier by its own columns, then priced). x is the
    # first stage's, y a lower tier's; x - y <= 1 (an imbalance row): held at 0, y keeps
    # x at 1, so pricing must let y in for the optimum x = 10.
    lp = LinearProgram()
    x, y = lp.add_col(0.0, 10.0), lp.add_col(0.0, 10.0)
    for _ in range(LARGE):
        lp.add_col(0.0, 1.0)
    lp.add_row([x, y], [1.0, -1.0], -1e30, 1.0)
    stages = [Stage("high", ([x], [1.0]), True, ([x], [1.0]), priced=[y]),
              Stage("low", ([y], [-1.0]), True, ([y], [-1.0]))]
    values = solve(lp, stages, 30.0)
    # held to 0 it would be 1; the second stage may spend the hold's slack (1e-6 relative)
    assert math.isclose(values[x], 10.0, abs_tol=1e-4)
    assert math.isclose(values[y], 9.0, abs_tol=1e-4)


def test_a_first_stage_that_needs_a_held_column_is_solved_on_the_whole_lp() -> None:
    # x - y <= -1: with y held at 0 there is no solution at all
    lp = LinearProgram()
    x, y = lp.add_col(0.0, 10.0), lp.add_col(0.0, 10.0)
    for _ in range(LARGE):
        lp.add_col(0.0, 1.0)
    lp.add_row([x, y], [1.0, -1.0], -1e30, -1.0)
    values = solve(lp, [Stage("high", ([x], [1.0]), True, priced=[y])], 30.0)
    assert math.isclose(values[x], 9.0, abs_tol=1e-4)


def _priced_request() -> PlanRequest:
    # Four cars on 40 A, more need than fits, hourly prices that fall and rise again:
    # the cost stage has a choice of hours, and "sooner" a choice within the cheap ones.
    site = Site((Circuit("main", None, (40.0,) * 3),), tuple(
        Session(f"c{k}", "main", ("L1", "L2", "L3"), 6, 16 + 4 * k) for k in range(4)))
    needs = {f"c{k}": Need(12.0 + 6 * k, AT + timedelta(hours=3 + k)) for k in range(4)}
    prices = tuple(PricePeriod(AT + timedelta(hours=h), AT + timedelta(hours=h + 1),
                               (0.3, 0.2, 0.2, 0.25, 0.4, 0.3, 0.35, 0.3)[h]) for h in range(8))
    return PlanRequest(site, AT, needs, Grid(), tariff=Tariff(prices),
                       horizon=Horizon(horizon_s=8 * 3600))


def _value(objective: tuple[list[int], list[float]], values: list[float]) -> float:
    index, coef = objective
    return sum(values[i] * c for i, c in zip(index, coef, strict=True))


def test_sooner_folded_into_cost_keeps_the_energy_and_the_least_cost(
        monkeypatch: pytest.MonkeyPatch) -> None:
    request = _priced_request()
    model = plan_model.build(request, LATE_S)
    sequential = plan_model.stages(model, request, EARLY, LATE)
    monkeypatch.setattr(plan_model, "LARGE", 0)  # what a depot's plan gets
    folded = plan_model.stages(model, request, EARLY, LATE)
    assert [s.name for s in sequential] == [
        "energy (stated needs, priority 0)", "cost", "sooner", "fairness"]
    assert [s.name for s in folded] == [
        "energy (stated needs, priority 0)", "cost, then sooner", "fairness"]
    energy, cost, sooner, _fairness = sequential
    cost_only = solve(model.lp, [energy, cost], 10.0)
    exact = solve(model.lp, sequential, 10.0)
    got = solve(model.lp, folded, 10.0)
    assert math.isclose(_value(energy.objective, got), _value(energy.objective, exact),
                        rel_tol=2e-6)
    least = _value(cost.objective, cost_only)
    assert _value(cost.objective, got) <= least / (1 - plan_model.FOLD) + 1e-9
    # never less early than what the cost stage alone ends on
    assert _value(sooner.objective, got) >= _value(sooner.objective, cost_only) - 1e-6


def test_sooner_is_not_folded_where_a_slot_costs_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    request = _priced_request()
    free = replace(request.tariff.prices[0], price_per_kwh=0.0)
    request = replace(request, tariff=Tariff((free, *request.tariff.prices[1:])))
    model = plan_model.build(request, LATE_S)
    monkeypatch.setattr(plan_model, "LARGE", 0)
    names = [s.name for s in plan_model.stages(model, request, EARLY, LATE)]
    assert "cost" in names and "sooner" in names


def test_a_stated_need_charges_first_when_sooner_is_folded_into_cost(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The same two sessions as above, flat prices, solved as a large LP is: the first
    # tier by its own columns, then priced; sooner folded into cost.
    monkeypatch.setattr(plan_model, "LARGE", 0)
    monkeypatch.setattr(lp_highs, "LARGE", 0)
    site = Site((Circuit("main", None, (20.0,) * 3),), (
        Session("van", "main", ("L1", "L2", "L3"), 6, 32),
        Session("other", "main", ("L1", "L2", "L3"), 6, 32)))
    needs = {"van": Need(48.0, AT + timedelta(hours=8))}
    flat = (PricePeriod(AT, AT + timedelta(hours=24), 0.3),)
    request = PlanRequest(site, AT, needs, Grid(), tariff=Tariff(flat),
                          horizon=Horizon(horizon_s=24 * 3600))
    model = plan_model.build(request, LATE_S)
    assert "cost, then sooner" in [s.name for s in plan_model.stages(model, request, EARLY, LATE)]
    planned = plan(request)
    assert planned.decided_by == "planner"
    # the interior point method ends a hair inside its bounds: 19.99... A floors to 19.9
    assert planned.sessions["van"].limit_a >= 19.9
    assert planned.sessions["van"].shortfall_kwh == 0
    assert planned.sessions["other"].limit_a == 0.0
