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
2. **The most energy by each departure**, priority tier by tier, highest first: stated
   needs first, then "as much as it can take" by a circuit's default dwell, then sessions
   without needs, each of the three by priority. Each session's
   energy counts up to its need. Within a tier, energy earlier in the horizon weighs up to
   ``EARLY`` (relatively) more, so that an early leaver is not starved; energy in the last
   ``LATE_S`` before a departure weighs ``LATE`` less and the stage holds it so, so that
   the cost stage cannot put energy off to the last hour; each can cost at most its share
   of the tier's energy.
3. **The least cost**: energy bought at the slot's price plus ``demand_charge_per_kw``
   times the plan's peak at the root above ``peak_so_far_kw``.
4. **Fairness**: the largest common share of each need delivered.

The order is kept by **sequential LPs** (:class:`~app.domain.lp.Stage`): each stage
optimises its objective, then holds what it reached (within a relative 1e-6) while the
later stages run. The LP is built as arrays by :mod:`app.domain.plan_model` (numpy) and
solved by the solver passed in (:func:`app.domain.lp_highs.solve`); both are imported
when the first plan is made, so this module imports the standard library alone.

Min-or-zero (IEC 61851-1 Annex A: below 6 A a car pauses) is not linear: the relaxation
is rounded per slot, never up: a value below the session's minimum becomes 0, any other
is floored to 0.1 A (OCPP 1.6 errata §3.71). Lowering one current can raise a phasor sum
(two loads at 120° partly cancel), so the rounded slot is checked against its rows and a
broken row is repaired by lowering its largest contributor further until all hold. What
rounding the first slot (the one sent now) freed is then handed on: other sessions are
raised, most urgent first (least laxity), within every row, never to between 0 and their
minimum, by no more power in all than rounding took (so an LP value of 4 A that rounds
to 0 lets a neighbour at 10 A on a 14 A line go to 14 A). A need the first slot
completes gets the 0.1 A step above it, not below (a car left a few Wh short is called
full); a last bit below the minimum, in the car's last slot, gets the minimum, less
urgent sessions making room where the plan leaves them room to take it back later.

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
    Site,
    allocate,
    timeline,
)
from app.domain.lp import SolveFailed, Solver
from app.domain.phasors import Grid, session_power_w

__all__ = [
    "EARLY",
    "LATE",
    "LATE_S",
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
# Energy in the last LATE_S before a departure weighs LATE less (and the energy stages hold
# it so): of the plans with the most energy, one that does not count on the last hour, and
# the cost stage may not move energy into it to save money. A car that arrives meanwhile,
# or draws less than planned, would leave energy planned there undelivered.
LATE_S = 3600
LATE = 1e-3
_EPS = 1e-9


@dataclass(frozen=True)
class Need:
    """Energy a session still needs, by when it leaves (UTC). ``stated``: somebody said
    so (a driver, the id tag's defaults, its history, the car); False for "as much as it
    can take" by a circuit's default dwell, which ranks below every stated need of any
    priority, as a session without a need ranks below it."""

    energy_kwh: float
    departure: datetime
    stated: bool = True


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
    from app.domain import plan_model

    model = plan_model.build(request, LATE_S)
    try:
        values = solver(model.lp, plan_model.stages(model, request, EARLY, LATE),
                        request.time_limit_s)
    except SolveFailed as error:
        return _water_level(request, str(error))
    currents = plan_model.repacked(model, request, values,
                                   plan_model.rounded(model, values))
    if len(model.slots):
        currents[0] = plan_model.hand_on(model, request, values, currents[0])
    return _assemble(request, model.slots, currents.tolist(), "planner")


def _assemble(
    request: PlanRequest, slots: Sequence[tuple[int, int]],
    currents: Sequence[Sequence[float]], decided_by: str,
) -> Plan:
    site, at, tariff = request.site, request.at, request.tariff
    voltage = site.supply_voltage_v
    kw = [session_power_w(s, request.grid, voltage) / 1000 for s in site.sessions]
    other_kw = root_other_kw(site)
    seconds = [float(length_s) for _start_s, length_s in slots]
    prices = [
        tariff.price_over(at + timedelta(seconds=start_s),
                          at + timedelta(seconds=start_s + length_s)) if tariff.prices else 0.0
        for start_s, length_s in slots]
    loads = [sum(amps * k for amps, k in zip(row, kw, strict=True)) for row in currents]
    peak = max((load + other_kw for load in loads), default=0.0)
    cost = sum(p * load * s / 3600 for p, load, s in zip(prices, loads, seconds, strict=True))
    cost += tariff.demand_charge_per_kw * max(0.0, peak - tariff.peak_so_far_kw)
    sessions: dict[str, SessionPlan] = {}
    for i, session in enumerate(site.sessions):
        need = request.needs.get(session.id)
        periods: list[Period] = []
        delivered = 0.0
        leaves = math.inf if need is None else (need.departure - at).total_seconds()
        for t, (start_s, length_s) in enumerate(slots):
            value = currents[t][i]
            if not periods or periods[-1].limit_a != value:
                periods.append(Period(start_s, value))
            if value and start_s < leaves:
                delivered += value * kw[i] * (min(start_s + length_s, leaves) - start_s) / 3600
        planned = None if need is None else round(delivered, 3)
        shortfall = None if need is None else round(max(0.0, need.energy_kwh - delivered), 3)
        sessions[session.id] = SessionPlan(
            session.id, currents[0][i] if currents else 0.0, tuple(periods), planned, shortfall)
    return Plan(at, sessions, round(cost, 4), round(peak, 3), decided_by, tuple(slots),
                tuple(tuple(row) for row in currents))


def root_other_kw(site: Site) -> float:
    """kW the site's roots carry besides the sessions (their ``other_load_a``)."""
    return sum(site.supply_voltage_v * sum(c.other_load_a) / 1000
               for c in site.circuits if c.parent is None)


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
