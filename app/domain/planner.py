"""Plan ahead: each car's energy by its departure, at the lowest cost, inside every limit.

Inputs: the :class:`~app.domain.allocation.Site` the water level shares, plus per session
what it still needs (:class:`Need`: kWh by a departure), how it is wired and which
circuits are transformers (:class:`~app.domain.phasors.Grid`), prices and a demand charge
(:class:`Tariff`), and the slots (:class:`Horizon`: the first starts at ``at``; slots may
grow with distance from now). Each session's current per slot is a column of one linear
program; the objectives, in strict order:

1. **Never above a limit** (hard rows): in every slot, every circuit's per-phase limits
   (the lowest of the windows in force at any instant of the slot, less the margin and
   the other load), ``max_power_w``, ``max_imbalance_a``; each session's maximum, demand
   cap and cap windows (a cap window below its minimum pauses it for that slot). Lines
   that carry phasors of more than one angle (line-to-line loads, transformers) get the
   inscribed polygon of :mod:`app.domain.phasors`, so every plan is feasible under the
   exact phasor model.
2. **The most energy by each departure**, priority tier by tier, highest first; sessions
   without needs form the lowest tier and take "as much as they can". Each session's
   energy counts up to its need. Within a tier, energy earlier in the horizon weighs up to
   ``EARLY`` (relatively) more, so that an early leaver is not starved; this can cost at
   most that share of the tier's energy.
3. **The least cost**: energy bought at the slot's price plus ``demand_charge_per_kw``
   times the plan's peak at the root above ``peak_so_far_kw``.
4. **Fairness**: the largest common share of each need delivered.

The order is kept by **sequential LPs** (:class:`~app.domain.lp.Stage`): each stage
optimises its objective, then holds what it reached (within a relative 1e-6) while the
later stages run. The LP is built here with the standard library; the solver is passed in
(:func:`app.domain.lp_highs.solve`, imported lazily: the one non-stdlib import of the
domain).

Min-or-zero (IEC 61851-1 Annex A: below 6 A a car pauses) is not linear: the relaxation
is rounded per slot, never up: a value below the session's minimum becomes 0, any other
is floored to 0.1 A (OCPP 1.6 errata §3.71). Lowering one current can raise a phasor sum
(two loads at 120° partly cancel), so the rounded slot is checked against its rows and a
broken row is repaired by lowering its largest contributor further until all hold. What
rounding the first slot (the one sent now) freed is then handed on: other sessions are
raised, most urgent first (least laxity), within every row, never to between 0 and their
minimum, by no more power in all than rounding took (so an LP value of 4 A that rounds
to 0 lets a neighbour at 10 A on a 14 A line go to 14 A).

When the solver fails (missing, infeasible, out of its ``time_limit_s``) the water level
decides (:func:`~app.domain.allocation.timeline` on a site whose limits are made safe for
the per-line sums it uses) and ``decided_by`` says ``"water level: <why>"``. A site where
no session has a need is the water level's, unchanged.

Pure: time is passed in; nothing is read from a clock; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from app.domain.allocation import (
    Allocation,
    Circuit,
    Period,
    PhaseValues,
    Session,
    Site,
    allocate,
    timeline,
)
from app.domain.lp import LinearProgram, SolveFailed, Solver, Stage
from app.domain.phasors import Grid, Row, line_rows, row_limit, session_power_w

__all__ = [
    "EARLY",
    "Horizon",
    "Need",
    "Plan",
    "PlanRequest",
    "PricePeriod",
    "SessionPlan",
    "Tariff",
    "plan",
    "safe_site",
]

EARLY = 1e-4  # the most energy earlier delivery may weigh more than later delivery
_EPS = 1e-9


@dataclass(frozen=True)
class Need:
    """Energy a session still needs, by when it leaves (UTC)."""

    energy_kwh: float
    departure: datetime


@dataclass(frozen=True)
class PricePeriod:
    start: datetime
    end: datetime
    price_per_kwh: float


@dataclass(frozen=True)
class Tariff:
    prices: tuple[PricePeriod, ...] = ()
    demand_charge_per_kw: float = 0.0
    peak_so_far_kw: float = 0.0

    def price_over(self, start: datetime, end: datetime) -> float:
        """The time-weighted mean price of [start, end) (0 where no period covers)."""
        total = 0.0
        for p in self.prices:
            overlap = (min(end, p.end) - max(start, p.start)).total_seconds()
            if overlap > 0:
                total += overlap * p.price_per_kwh
        return total / (end - start).total_seconds()


@dataclass(frozen=True)
class Horizon:
    """Slots of ``step_s`` over ``horizon_s``; the first ``fine_for_s`` in ``fine_step_s``."""

    step_s: int = 900
    horizon_s: int = 86_400
    fine_step_s: int | None = None
    fine_for_s: int = 0

    def slots(self) -> list[tuple[int, int]]:
        """(start_s, length_s) of every slot."""
        slots: list[tuple[int, int]] = []
        start = 0
        while start < self.horizon_s:
            fine = self.fine_step_s is not None and start < self.fine_for_s
            length = self.fine_step_s if fine and self.fine_step_s else self.step_s
            if fine:
                length = min(length, self.fine_for_s - start)
            length = min(length, self.horizon_s - start)
            slots.append((start, length))
            start += length
        return slots


@dataclass(frozen=True)
class PlanRequest:
    site: Site
    at: datetime
    needs: Mapping[str, Need] = field(default_factory=dict)
    grid: Grid = field(default_factory=Grid)
    tariff: Tariff = field(default_factory=Tariff)
    horizon: Horizon = field(default_factory=Horizon)
    time_limit_s: float = 2.0


@dataclass(frozen=True)
class SessionPlan:
    session_id: str
    limit_a: float  # the first slot's: what is sent now
    periods: tuple[Period, ...]
    planned_kwh: float | None  # by the departure; None without a need
    shortfall_kwh: float | None


@dataclass(frozen=True)
class Plan:
    at: datetime
    sessions: Mapping[str, SessionPlan]
    planned_cost: float
    planned_peak_kw: float
    decided_by: str
    # Per slot (start_s, length_s) and the rounded currents in session order.
    slots: tuple[tuple[int, int], ...] = ()
    currents: tuple[tuple[float, ...], ...] = ()


# --- building the LP ---------------------------------------------------------------------


@dataclass
class _Build:
    lp: LinearProgram
    slots: list[tuple[int, int]]
    # column of (session index, slot) or absent
    cols: dict[tuple[int, int], int]
    kwh_per_a: dict[tuple[int, int], float]  # energy counted towards the need (or any)
    kw_per_a: list[float]
    rows_by_slot: list[list[tuple[list[int], list[float], float]]]
    minimum: list[float]
    peak_col: int | None
    share_col: int | None
    # Per session with a need above 0: its energy's columns, kWh per ampere, and the need.
    needs: list[tuple[list[int], list[float], float]] = field(default_factory=list)


def _instants(start: datetime, end: datetime, site: Site) -> list[datetime]:
    points = {start}
    for circuit in site.circuits:
        for w in circuit.limits:
            if start < w.start < end:
                points.add(w.start)
    for session in site.sessions:
        for cw in session.cap_windows:
            if start < cw.start < end:
                points.add(cw.start)
    return sorted(points)


def _cap_over(session: Session, instants: Sequence[datetime]) -> float:
    cap = min(session.max_current_a,
              session.demand_cap_a if session.demand_cap_a is not None else math.inf)
    for t in instants:
        outside = session.cap_at(t)
        if outside is not None:
            if outside < session.min_current_a - _EPS:
                return 0.0  # a cap window below the minimum pauses it
            cap = min(cap, outside)
    return math.floor(cap * 10 + 1e-6) / 10


def _build(request: PlanRequest) -> _Build:
    site, at, grid = request.site, request.at, request.grid
    slots = request.horizon.slots()
    voltage = site.supply_voltage_v
    sessions = site.sessions
    count = len(sessions)
    lp = LinearProgram()
    kw_per_a = [session_power_w(s, grid, voltage) / 1000 for s in sessions]
    minimum = [math.ceil(s.min_current_a * 10 - 1e-6) / 10 for s in sessions]
    departure = [request.needs[s.id].departure if s.id in request.needs else None
                 for s in sessions]
    cols: dict[tuple[int, int], int] = {}
    kwh: dict[tuple[int, int], float] = {}
    rows = _SlotRows(site, line_rows(site, grid))
    rows_by_slot: list[list[tuple[list[int], list[float], float]]] = []
    for t, (start_s, length_s) in enumerate(slots):
        start = at + timedelta(seconds=start_s)
        end = start + timedelta(seconds=length_s)
        instants = _instants(start, end, site)
        col_of = [-1] * count
        for i, session in enumerate(sessions):
            hours = length_s / 3600
            leaves = departure[i]
            if leaves is not None:
                if leaves <= start:
                    continue
                if leaves < end:
                    hours = (leaves - start).total_seconds() / 3600
            cap = _cap_over(session, instants)
            if cap < minimum[i] - _EPS:
                continue
            col_of[i] = cols[(i, t)] = lp.add_col(0.0, cap)
            kwh[(i, t)] = kw_per_a[i] * hours
        rows_by_slot.append(rows.place(lp, instants, col_of))
    build = _Build(lp, slots, cols, kwh, kw_per_a, rows_by_slot, minimum, None, None)
    _need_rows(build, request)
    return build


class _SlotRows:
    """The site's rows (:func:`~app.domain.phasors.line_rows`), placed slot by slot on the
    columns of the sessions that may charge in it. A row that cannot bind (every column at
    its upper bound still holds it) is left out."""

    def __init__(self, site: Site, rows: Sequence[Row]) -> None:
        self.rows = rows
        self.circuits = {c.id: c for c in site.circuits}
        self.members = [[(i, c) for i, c in row.members if c != 0.0] for row in rows]
        self.coef = [dict(m) for m in self.members]

    def place(
        self, lp: LinearProgram, instants: Sequence[datetime], col_of: Sequence[int]
    ) -> list[tuple[list[int], list[float], float]]:
        limits = {cid: [c.limits_at(when) for when in instants]
                  for cid, c in self.circuits.items()}
        active = [i for i, col in enumerate(col_of) if col >= 0]
        placed: list[tuple[list[int], list[float], float]] = []
        for r, row in enumerate(self.rows):
            circuit = self.circuits[row.circuit]
            limit = min(row_limit(row, circuit, at) for at in limits[row.circuit])
            if math.isinf(limit):
                continue
            rhs = row.rhs(limit)
            if len(active) < len(self.members[r]):
                coef = self.coef[r]
                pairs = [(i, coef[i]) for i in active if i in coef]
            else:
                pairs = [(i, c) for i, c in self.members[r] if col_of[i] >= 0]
            reach = sum(c * lp.col_upper[col_of[i]] for i, c in pairs if c > 0)
            if reach <= rhs + _EPS:
                continue  # cannot bind (it holds with every column at its upper bound)
            index = [col_of[i] for i, _ in pairs]
            value = [c for _, c in pairs]
            lp.add_row(index, value, -math.inf, rhs)
            placed.append((index, value, rhs))
        return placed


def _need_rows(build: _Build, request: PlanRequest) -> None:
    lp = build.lp
    sessions = request.site.sessions
    by_session: dict[int, list[int]] = {}
    for (i, _t), col in build.cols.items():
        by_session.setdefault(i, []).append(col)
    energy_cols = {col: build.kwh_per_a[key] for key, col in build.cols.items()}
    needy = [i for i, s in enumerate(sessions) if s.id in request.needs]
    if needy:
        build.share_col = lp.add_col(0.0, 1.0)
    for i in needy:
        need = request.needs[sessions[i].id].energy_kwh
        cols = by_session.get(i, [])
        lp.add_row(cols, [energy_cols[c] for c in cols], -math.inf, max(need, 0.0))
        if need > 0:
            build.needs.append((cols, [energy_cols[c] for c in cols], need))
        if need > 0 and build.share_col is not None:
            # share x need <= energy: the share of every need delivered (fairness)
            lp.add_row([build.share_col, *cols], [need, *(-energy_cols[c] for c in cols)],
                       -math.inf, 0.0)
    tariff = request.tariff
    if tariff.demand_charge_per_kw > 0:
        build.peak_col = lp.add_col(tariff.peak_so_far_kw, math.inf)
        other_kw = _root_other_kw(request.site)
        per_slot: dict[int, list[int]] = {}
        for (_i, t), col in build.cols.items():
            per_slot.setdefault(t, []).append(col)
        col_kw = {col: build.kw_per_a[i] for (i, _t), col in build.cols.items()}
        for cols in per_slot.values():
            lp.add_row([*cols, build.peak_col], [*(col_kw[c] for c in cols), -1.0],
                       -math.inf, -other_kw)


def _root_other_kw(site: Site) -> float:
    return sum(site.supply_voltage_v * sum(c.other_load_a) / 1000
               for c in site.circuits if c.parent is None)


def _stages(build: _Build, request: PlanRequest) -> list[Stage]:
    sessions = request.site.sessions
    horizon_s = max(1, request.horizon.horizon_s)
    tiers: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(sessions):
        # needs first by priority; sessions without needs last, by priority
        key = (1 if s.id in request.needs else 0, s.priority)
        tiers.setdefault(key, []).append(i)
    stages: list[Stage] = []
    for key in sorted(tiers, reverse=True):
        members = set(tiers[key])
        obj_i: list[int] = []
        obj_v: list[float] = []
        keep_v: list[float] = []
        for (i, t), col in build.cols.items():
            if i in members:
                start_s, length_s = build.slots[t]
                early = 1.0 + EARLY * (1.0 - (start_s + length_s / 2) / horizon_s)
                obj_i.append(col)
                obj_v.append(build.kwh_per_a[(i, t)] * early)
                keep_v.append(build.kwh_per_a[(i, t)])
        if obj_i:
            stages.append(Stage(f"energy (tier {key[1]})", (obj_i, obj_v), True,
                                (obj_i, keep_v)))
    cost = _cost_objective(build, request)
    if cost[0]:
        stages.append(Stage("cost", cost, False, cost))
    if build.share_col is not None:
        stages.append(Stage("fairness", ([build.share_col], [1.0]), True,
                            needless=lambda values: _every_need_met(build, values)))
    return stages


def _every_need_met(build: _Build, values: Sequence[float]) -> bool:
    """Fairness shares out shortfalls; with none (the energy stages met every need) it
    could only move energy between equally served sessions, so it is left out."""
    return all(
        sum(values[c] * k for c, k in zip(cols, kwh, strict=True)) >= need * (1 - 1e-6) - 1e-6
        for cols, kwh, need in build.needs)


def _cost_objective(build: _Build, request: PlanRequest) -> tuple[list[int], list[float]]:
    tariff = request.tariff
    index: list[int] = []
    value: list[float] = []
    if tariff.prices:
        prices = [
            tariff.price_over(request.at + timedelta(seconds=start_s),
                              request.at + timedelta(seconds=start_s + length_s))
            for start_s, length_s in build.slots]
        for (i, t), col in build.cols.items():
            if prices[t]:
                index.append(col)
                value.append(prices[t] * build.kw_per_a[i] * build.slots[t][1] / 3600)
    if build.peak_col is not None:
        index.append(build.peak_col)
        value.append(tariff.demand_charge_per_kw)
    return index, value


# --- rounding ----------------------------------------------------------------------------


def _round_slot(
    build: _Build, t: int, values: Sequence[float], count: int
) -> list[float]:
    """Min-or-zero and 0.1 A, never up; then every row of the slot holds again."""
    rounded = [0.0] * count
    col_of: dict[int, int] = {}
    for i in range(count):
        col = build.cols.get((i, t))
        if col is None:
            continue
        col_of[col] = i
        v = values[col]
        rounded[i] = 0.0 if v < build.minimum[i] - 1e-7 else math.floor(v * 10 + 1e-7) / 10
        rounded[i] = min(rounded[i], build.lp.col_upper[col])
    for _ in range(100 * count + 100):
        broken = None
        for index, value, rhs in build.rows_by_slot[t]:
            load = sum(rounded[col_of[c]] * v for c, v in zip(index, value, strict=True))
            if load > rhs + 1e-7:
                broken = (index, value)
                break
        if broken is None:
            return rounded
        index, value = broken
        worst = max(
            ((rounded[col_of[c]] * v, col_of[c]) for c, v in zip(index, value, strict=True)
             if v > 0 and rounded[col_of[c]] > 0),
            default=None,
        )
        if worst is None:
            break
        i = worst[1]
        lowered = round(rounded[i] - 0.1, 1)
        rounded[i] = lowered if lowered >= build.minimum[i] - 1e-9 else 0.0
    return [0.0] * count  # pragma: no cover - all zero holds every row with rhs >= 0


def _hand_on(
    build: _Build, request: PlanRequest, values: Sequence[float], rounded: list[float]
) -> list[float]:
    """What rounding the first slot freed, handed on: sessions are raised in order of
    need (a need before none, higher priority, least laxity, earliest departure), each as
    far as every row of the slot, its own cap and its need allow, never to between 0 and
    its minimum, and all of them together by no more power than rounding took away (the
    LP's cost and peak choices stand)."""
    sessions = request.site.sessions
    slot_h = build.slots[0][1] / 3600 if build.slots else 0.0
    col_of = {i: col for (i, t), col in build.cols.items() if t == 0}
    budget_kw = sum((values[col] - rounded[i]) * build.kw_per_a[i] for i, col in col_of.items())
    if budget_kw <= 1e-6 or slot_h <= 0:
        return rounded
    rows = build.rows_by_slot[0]
    session_of = {col: i for i, col in col_of.items()}
    load = [sum(rounded[session_of[c]] * v for c, v in zip(index, value, strict=True))
            for index, value, _rhs in rows]
    rows_of: dict[int, list[tuple[int, float]]] = {}
    for r, (index, value, _rhs) in enumerate(rows):
        for c, v in zip(index, value, strict=True):
            if v > 0:
                rows_of.setdefault(session_of[c], []).append((r, v))
    for i in sorted(col_of, key=lambda i: _urgency(request, build, i)):
        kw = build.kw_per_a[i]
        top = build.lp.col_upper[col_of[i]]
        need = request.needs.get(sessions[i].id)
        if need is not None:
            top = min(top, max(0.0, need.energy_kwh) / (kw * slot_h) if kw > 0 else 0.0)
        room = min((rows[r][2] - load[r]) / v for r, v in rows_of.get(i, [])) \
            if rows_of.get(i) else math.inf
        raised = min(top, rounded[i] + room, rounded[i] + budget_kw / kw if kw > 0 else 0.0)
        raised = math.floor(raised * 10 + 1e-7) / 10
        if raised <= rounded[i] or raised < build.minimum[i] - 1e-9:
            continue
        for r, v in rows_of.get(i, []):
            load[r] += (raised - rounded[i]) * v
        budget_kw -= (raised - rounded[i]) * kw
        rounded[i] = raised
    return rounded


def _urgency(request: PlanRequest, build: _Build, i: int) -> tuple[int, int, float, float, int]:
    """Sort key, most urgent first: a need, priority, laxity (hours to spare charging at
    the maximum), departure."""
    session = request.site.sessions[i]
    need = request.needs.get(session.id)
    if need is None:
        return (1, -session.priority, math.inf, math.inf, i)
    hours_left = (need.departure - request.at).total_seconds() / 3600
    full_kw = build.kw_per_a[i] * session.max_current_a
    laxity = hours_left - (need.energy_kwh / full_kw if full_kw > 0 else math.inf)
    return (0, -session.priority, laxity, hours_left, i)


# --- the plan ----------------------------------------------------------------------------


def plan(request: PlanRequest, solver: Solver | None = None) -> Plan:
    """The plan of the module's rule; the water level decides when the solver cannot."""
    site = request.site
    if not any(s.id in request.needs for s in site.sessions) and request.grid.plain:
        return _water_level(request, "no session has needs")
    if solver is None:
        try:
            from app.domain.lp_highs import solve as solver_fn
        except ImportError as error:  # pragma: no cover
            return _water_level(request, f"no LP solver ({error})")
        solver = solver_fn
    build = _build(request)
    try:
        values = solver(build.lp, _stages(build, request), request.time_limit_s)
    except SolveFailed as error:
        return _water_level(request, str(error))
    count = len(site.sessions)
    currents = [_round_slot(build, t, values, count) for t in range(len(build.slots))]
    if currents:
        currents[0] = _hand_on(build, request, values, currents[0])
    return _assemble(request, build.slots, currents, "planner")


def _assemble(
    request: PlanRequest, slots: Sequence[tuple[int, int]],
    currents: Sequence[Sequence[float]], decided_by: str,
) -> Plan:
    site, at, tariff = request.site, request.at, request.tariff
    voltage = site.supply_voltage_v
    kw = [session_power_w(s, request.grid, voltage) / 1000 for s in site.sessions]
    other_kw = _root_other_kw(site)
    cost = 0.0
    peak = 0.0
    for t, (start_s, length_s) in enumerate(slots):
        load_kw = sum(currents[t][i] * kw[i] for i in range(len(kw)))
        peak = max(peak, load_kw + other_kw)
        start = at + timedelta(seconds=start_s)
        if tariff.prices:
            price = tariff.price_over(start, start + timedelta(seconds=length_s))
            cost += price * load_kw * length_s / 3600
    cost += tariff.demand_charge_per_kw * max(0.0, peak - tariff.peak_so_far_kw)
    sessions: dict[str, SessionPlan] = {}
    for i, session in enumerate(site.sessions):
        need = request.needs.get(session.id)
        periods: list[Period] = []
        delivered = 0.0
        for t, (start_s, length_s) in enumerate(slots):
            value = currents[t][i]
            if not periods or periods[-1].limit_a != value:
                periods.append(Period(start_s, value))
            if need is not None:
                start = at + timedelta(seconds=start_s)
                end = min(start + timedelta(seconds=length_s), need.departure)
                hours = max(0.0, (end - start).total_seconds() / 3600)
                delivered += value * kw[i] * hours
        planned = None if need is None else round(delivered, 3)
        shortfall = None if need is None else round(max(0.0, need.energy_kwh - delivered), 3)
        sessions[session.id] = SessionPlan(
            session.id, currents[0][i] if currents else 0.0, tuple(periods), planned, shortfall)
    return Plan(at, sessions, round(cost, 4), round(peak, 3), decided_by, tuple(slots),
                tuple(tuple(row) for row in currents))


def safe_site(site: Site, grid: Grid) -> Site:
    """The site with limits the water level's per-line sums keep safe under the phasor
    model: a line-to-line load counted on both its lines and at 2·V per ampere (above its
    |phasor| and √3·V); a transformer of ratio N limits its secondary per-line sums to
    N/2 of its limit (``|I_a − I_c|/N <= (S_a + S_c)/N``), and so does every circuit above
    it when N < 2."""
    if not grid.transformers:
        return site
    factor: dict[str, float] = {}
    for circuit_id, ratio in grid.transformers.items():
        factor[circuit_id] = min(factor.get(circuit_id, math.inf), ratio / 2)
        for above in site.ancestors(circuit_id)[1:]:
            factor[above] = min(factor.get(above, math.inf), min(1.0, ratio / 2))
    circuits = []
    for c in site.circuits:
        f = factor.get(c.id, 1.0)
        if f == 1.0:
            circuits.append(c)
            continue
        windows = tuple(
            replace(w, max_current_a=_scaled(w.max_current_a, c, f)) for w in c.limits)
        circuits.append(replace(c, max_current_a=_scaled(c.max_current_a, c, f), margin_a=0.0,
                                other_load_a=(0.0, 0.0, 0.0), limits=windows))
    return replace(site, circuits=tuple(circuits))


def _scaled(limit: PhaseValues, c: Circuit, f: float) -> PhaseValues:
    a, b, d = (max(0.0, (m - c.margin_a - o) * f)
               for m, o in zip(limit, c.other_load_a, strict=True))
    return (a, b, d)


def _water_level(request: PlanRequest, why: str) -> Plan:
    site = safe_site(request.site, request.grid)
    slots = request.horizon.slots()
    first, periods = timeline(site, request.at, request.horizon.horizon_s)
    currents = [[0.0] * len(site.sessions) for _ in slots]
    for i, session in enumerate(site.sessions):
        series = periods[session.id]
        for t, (start_s, _length) in enumerate(slots):
            value = 0.0
            for p in series:
                if p.start_s <= start_s:
                    value = p.limit_a
            need = request.needs.get(session.id)
            if need is not None and request.at + timedelta(seconds=start_s) >= need.departure:
                value = 0.0
            currents[t][i] = value
    result = _assemble(request, slots, currents, f"water level: {why}")
    # The first slot is the water level's own answer, to the letter.
    sessions = {
        k: replace(v, limit_a=first.sessions[k].limit_a) for k, v in result.sessions.items()
    }
    return replace(result, sessions=sessions)


def water_level_allocation(request: PlanRequest) -> Allocation:
    """The water level's answer at ``at`` on the safe site (what the fallback sends)."""
    return allocate(safe_site(request.site, request.grid), request.at)
