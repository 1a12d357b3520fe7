"""HiGHS solves the planner's staged LPs; a warm start changes the time, never the answer."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.allocation import Circuit, Session, Site
from app.domain.lp import LinearProgram, Stage
from app.domain.lp_highs import HighsSolver, solve
from app.domain.phasors import Grid
from app.domain.planner import Horizon, Need, PlanRequest, plan

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
