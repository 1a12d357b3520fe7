"""The planner's first slot completes a need: its last 0.1 A step and its last bit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.domain.allocation import Circuit, Session, Site
from app.domain.lp import LinearProgram, Solver, Stage
from app.domain.phasors import Grid, violations
from app.domain.planner import Horizon, Need, PlanRequest, plan

AT = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
FIVE_MINUTES = Horizon(step_s=300, horizon_s=300)
KWH_PER_A = 230.0 / 1000 * 300 / 3600  # one 5-minute slot at 230 V


def _fixed(values: list[float]) -> Solver:
    def solver(lp: LinearProgram, stages: Sequence[Stage], time_limit_s: float) -> list[float]:
        return values + [0.0] * (lp.num_col - len(values))
    return solver


def _one_car(limit_a: float) -> Site:
    return Site((Circuit("main", None, (limit_a,) * 3),),
                (Session("car", "main", ("L1",), 6, 32),))


def test_the_slot_that_completes_a_need_rounds_to_the_step_above_it() -> None:
    # The LP completes 10.37 A worth of need now. Floored to 10.3 A the car would be left
    # 1.3 Wh short: too little for a re-plan to see, the car (or a simulator) calls it full.
    needs = {"car": Need(10.37 * KWH_PER_A, AT + timedelta(hours=1))}
    planned = plan(PlanRequest(_one_car(32.0), AT, needs, horizon=FIVE_MINUTES),
                   _fixed([10.37]))
    assert planned.sessions["car"].limit_a == 10.4
    assert planned.sessions["car"].shortfall_kwh == 0.0


def test_the_step_above_a_need_stays_within_the_limits() -> None:
    needs = {"car": Need(10.37 * KWH_PER_A, AT + timedelta(hours=1))}
    planned = plan(PlanRequest(_one_car(10.35), AT, needs, horizon=FIVE_MINUTES),
                   _fixed([10.35]))
    assert planned.sessions["car"].limit_a == 10.3


def test_the_step_above_a_need_keeps_every_phasor_row() -> None:
    # Line-to-line under a delta-wye transformer: bc's need is 8.07 A now; across primary
    # limits around what 8 A + 8.1 A take, the step up is taken where the polygon rows
    # allow it and never where they do not.
    grid = Grid(frozenset({"ab", "bc"}), {"tx": 4.0})
    kwh_per_a = 230.0 * 3 ** 0.5 / 1000 * 300 / 3600
    needs = {"ab": Need(40.0, AT + timedelta(hours=8)),
             "bc": Need(8.07 * kwh_per_a, AT + timedelta(hours=1))}
    sent = set()
    for hundredths in range(390, 420):
        site = Site((Circuit("tx", None, (hundredths / 100,) * 3),
                     Circuit("sec", "tx", (100.0,) * 3)),
                    (Session("ab", "sec", ("L1", "L2"), 6, 8),
                     Session("bc", "sec", ("L2", "L3"), 6, 32)))
        planned = plan(PlanRequest(site, AT, needs, grid, horizon=FIVE_MINUTES),
                       _fixed([8.0, 8.07]))
        limits = {k: v.limit_a for k, v in planned.sessions.items()}
        assert violations(site, grid, limits, AT) == []
        assert all(v == 0.0 or v >= 6.0 for v in limits.values())
        assert all(abs(v * 10 - round(v * 10)) < 1e-9 for v in limits.values())
        sent.add(limits["bc"])
    assert 8.1 in sent and 8.0 in sent


TEN_MINUTES = Horizon(step_s=300, horizon_s=600)


def _last_bit_site() -> Site:
    return Site((Circuit("main", None, (32.0,) * 3),), (
        Session("car", "main", ("L1",), 6, 32), Session("other", "main", ("L1",), 6, 32)))


def _last_bit(other: Need, next_slot_a: float) -> dict[str, float]:
    # The car's last 0.05 kWh is 2.6 A in its last 5 minutes, below its 6 A minimum; the
    # LP gave the other 29.4 A of the circuit now and next_slot_a in the next slot.
    needs = {"car": Need(0.05, AT + timedelta(minutes=5)), "other": other}
    planned = plan(PlanRequest(_last_bit_site(), AT, needs, horizon=TEN_MINUTES),
                   _fixed([2.6, 29.4, next_slot_a]))
    return {k: v.limit_a for k, v in planned.sessions.items()}


def test_a_last_bit_lowers_a_less_urgent_session_to_get_its_minimum() -> None:
    # Rows full, rounded to 0, the car would leave without it; the other, with hours to
    # spare and room in the next slot, makes room now and takes it back later.
    assert _last_bit(Need(20.0, AT + timedelta(hours=4)), 0.0) == {"car": 6.0, "other": 26.0}


def test_a_last_bit_is_not_paid_for_where_the_limits_bind_all_along() -> None:
    # The LP's plan fills the circuit in the next slot too: what the other gave up now it
    # could not take back, and the minimum's excess over the car's last bit would be lost.
    # (The other gets what rounding freed, handed on.)
    assert _last_bit(Need(20.0, AT + timedelta(hours=4)), 32.0) == {"car": 0.0, "other": 32.0}


def test_a_last_bit_does_not_lower_a_more_urgent_session() -> None:
    other = Need(20.8, AT + timedelta(hours=2, minutes=50))  # less laxity than the car
    assert _last_bit(other, 0.0) == {"car": 0.0, "other": 32.0}
