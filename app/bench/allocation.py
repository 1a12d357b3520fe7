"""Allocation bench: one solve of a depot's circuit tree, in process (no server involved);
and one plan ahead of the same depot (``plan_*``: sessions x 96 slots of 15 minutes).

The tree has three levels: a 5,000 A grid connection with kW and imbalance limits and a
limit window, 10 feeders of 630 A, 100 sub-panels of 63 A, and ``sessions`` sessions
spread over the sub-panels: a third on one phase (spread over L1-L3), weights 1 and 2,
one in ten with a higher priority, one in four with a demand cap. Seeded: every run
solves the same site.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.bench import stats
from app.bench.scenarios import Figure, Outcome
from app.domain.allocation import Circuit, LimitWindow, Session, Site, allocate

AT = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
FEEDERS = 10
PANELS_PER_FEEDER = 10
REPEATS = 30


def depot(sessions: int, seed: int = 14) -> Site:
    rng = random.Random(seed)
    window = LimitWindow(AT - timedelta(hours=1), AT + timedelta(hours=2), (4500.0,) * 3)
    circuits = [Circuit("grid", None, (5000.0,) * 3, max_power_w=3_300_000.0,
                        max_imbalance_a=150.0, other_load_a=(120.0, 90.0, 60.0),
                        connector_count=sessions, limits=(window,))]
    panels: list[str] = []
    for f in range(FEEDERS):
        circuits.append(Circuit(f"feeder{f}", "grid", (630.0,) * 3))
        for p in range(PANELS_PER_FEEDER):
            panels.append(f"panel{f}.{p}")
            circuits.append(Circuit(panels[-1], f"feeder{f}", (63.0,) * 3))
    cars = []
    for n in range(sessions):
        phases = ("L1", "L2", "L3") if n % 3 else (("L1",), ("L2",), ("L3",))[n // 3 % 3]
        cars.append(Session(
            id=f"s{n}", circuit=panels[n % len(panels)], phases=phases, min_current_a=6.0,
            max_current_a=rng.choice((16.0, 32.0)),
            demand_cap_a=rng.choice((None, None, None, 10.0)),
            weight=rng.choice((1.0, 2.0)), priority=1 if n % 10 == 0 else 0,
            plugged_in_at=AT - timedelta(minutes=rng.randint(0, 600))))
    return Site(tuple(circuits), tuple(cars))


def allocation_solve(sessions: int) -> Outcome:
    site = depot(sessions)
    allocate(site, AT)  # warm-up
    times_ms: list[float] = []
    cpu_began = time.process_time()
    for _ in range(REPEATS):
        began = time.perf_counter()
        solved = allocate(site, AT)
        times_ms.append((time.perf_counter() - began) * 1000)
    cpu_ms = (time.process_time() - cpu_began) * 1000 / REPEATS
    times_ms.sort()
    admitted = sum(1 for s in solved.sessions.values() if s.admitted)
    planned = plan_solve(sessions).figures
    return Outcome({
        **planned,
        "sessions": sessions,
        "admitted": admitted,
        "solve_p50_ms": stats.rounded(stats.percentile(times_ms, 0.5), 1),
        "solve_max_ms": stats.rounded(times_ms[-1], 1),
        "solve_cpu_ms": stats.rounded(cpu_ms, 1),
    })


def plan_solve(sessions: int, slots: int = 96, time_limit_s: float = 120.0) -> Outcome:
    """One plan of the same depot, every session with a need and a departure within the
    day, hourly prices, ``slots`` slots of 15 minutes: the planner's LP at depot size."""
    from app.domain.lp import LinearProgram, Stage
    from app.domain.lp_highs import HighsSolver
    from app.domain.planner import Horizon, Need, PlanRequest, PricePeriod, Tariff, plan

    site = depot(sessions)
    rng = random.Random(3)
    needs = {s.id: Need(rng.uniform(5, 60), AT + timedelta(minutes=rng.randint(60, 1440)))
             for s in site.sessions}
    prices = tuple(PricePeriod(AT + timedelta(hours=h), AT + timedelta(hours=h + 1),
                               0.2 + 0.1 * (h % 5)) for h in range(slots // 4 + 1))
    request = PlanRequest(site, AT, needs, tariff=Tariff(prices),
                          horizon=Horizon(900, 900 * slots), time_limit_s=time_limit_s)
    marks: list[tuple[str, float]] = []
    highs = HighsSolver(warm=False,
                        on_stage=lambda name: marks.append((name, time.process_time())))

    def solver(lp: LinearProgram, stages: Sequence[Stage], time_limit_s: float) -> list[float]:
        marks.append(("", time.process_time()))
        return highs(lp, stages, time_limit_s)

    began = time.perf_counter()
    cpu_began = time.process_time()
    planned = plan(request, solver)
    cpu_s = time.process_time() - cpu_began
    return Outcome({
        "plan_sessions": sessions,
        "plan_slots": slots,
        "plan_s": stats.rounded(time.perf_counter() - began, 2),
        # CPU seconds: what the plan costs whatever else the machine runs
        "plan_cpu_s": stats.rounded(cpu_s, 2),
        "plan_build_cpu_s": stats.rounded(marks[0][1] - cpu_began, 2) if marks else None,
        **_stage_cpu_s(marks),
        "plan_kwh": stats.rounded(sum(p.planned_kwh or 0.0 for p in planned.sessions.values()), 1),
        "plan_cost": stats.rounded(planned.planned_cost, 2),
        "plan_by_planner": int(planned.decided_by == "planner"),  # 0: the water level
    })


def _stage_cpu_s(marks: Sequence[tuple[str, float]]) -> dict[str, Figure]:
    """CPU seconds per kind of stage from (name of the stage solved, CPU then) marks; None
    for a kind not solved (a large LP folds sooner into cost and leaves fairness out)."""
    spent: dict[str, float] = {}
    first_tier = True
    for (_, before), (name, after) in itertools.pairwise(marks):
        if name.startswith("energy"):
            kind = "first_tier" if first_tier else "other_tiers"
            first_tier = False
        else:
            kind = name.split(",")[0]  # "cost, then sooner" is the cost stage
        spent[kind] = spent.get(kind, 0.0) + after - before
    return {f"plan_{kind}_cpu_s": stats.rounded(spent[kind], 2) if kind in spent else None
            for kind in _STAGE_KINDS}


_STAGE_KINDS = ("first_tier", "other_tiers", "cost", "sooner", "fairness")
