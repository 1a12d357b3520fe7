"""The planner's linear program as arrays, built in one pass; and the rounding of its answer.

:mod:`app.domain.planner` says what is decided; this module builds it with numpy (imported
when the first plan is made, as :mod:`app.domain.lp_highs` imports HiGHS), so that the
model of 1,000 sessions x 96 slots takes a fraction of a second, and so that the LP stays
sparse:

- **Columns**: one per session and slot in which it may charge (slot-major: all of slot
  0's sessions, then slot 1's, ...), then the model's own.
- **Line currents as columns, per class of load** (aggregation): each row of a circuit
  (:func:`~app.domain.phasors.line_rows`) is linear in the currents below it, and the
  loads below a circuit fall into few *classes*: those that every row of that circuit
  and of the circuits above it sees alike, up to a factor (on Caltech's network: the three
  line pairs; on a depot's sub-panel: three-phase loads and each single phase). A circuit
  whose loads form fewer classes than they are gets one column per class and slot, the
  sum of its loads of that class (an equality row); its rows and the circuits above it
  take those columns instead of every session. Each session then sits in one row per
  slot besides its own, instead of every row of every circuit above it: a dense grid row
  of 1,000 sessions becomes a row of a few class columns.
- **Rows that cannot bind** (every column at its upper bound still holds them) are left
  out, slot by slot; so are the class columns of a circuit when neither it nor any
  circuit above binds in that slot.

The rounding (min-or-zero, 0.1 A, never up, repair of the rows rounding breaks) and the
hand-on of what rounding freed run on the same arrays: every row's coefficient per
session (``coef``) and its right-hand side per slot (``rhs``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from app.domain.allocation import Session, Site
from app.domain.lp import LARGE, LinearProgram, Sparse, Stage
from app.domain.phasors import Row, line_rows, row_limit, session_power_w

if TYPE_CHECKING:
    from app.domain.planner import PlanRequest

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

__all__ = ["Model", "build", "every_need_met", "hand_on", "per_slot", "rounded", "stages"]

_EPS = 1e-9
# Class columns (see the module doc); False builds every row over the sessions themselves.
AGGREGATE = True
_INF = math.inf


@dataclass
class Model:
    """The LP and what the rounding needs to read its answer."""

    lp: LinearProgram
    slots: list[tuple[int, int]]
    col: Ints  # (slots, sessions): the column of a session in a slot, -1 where none
    kwh: Floats  # (slots, sessions): kWh per ampere counted by the departure
    kw: Floats  # (sessions,): kW per ampere
    minimum: Floats  # (sessions,): the lowest current that is not a pause
    upper: Floats  # (slots, sessions): the highest current (0 where no column)
    coef: Floats  # (rows, sessions): every limit row's coefficient per session
    rhs: Floats  # (slots, rows): its right-hand side in the slot (inf: not in force)
    late: Bools  # (slots, sessions): a slot that ends within ``late_s`` of the departure
    need: Floats  # (sessions,): kWh still needed; nan without a need
    energy_col: Ints  # (sessions,): kWh by the departure (at most the need)
    power_col: Ints | None  # (slots,): kW of the sessions, with prices or a demand charge
    price: Floats  # (slots,): price per kW over the slot
    share_col: int | None
    peak_col: int | None


# --- columns -----------------------------------------------------------------------------


def _window_starts(site: Site) -> list[datetime]:
    points = {w.start for c in site.circuits for w in c.limits}
    points.update(cw.start for s in site.sessions for cw in s.cap_windows)
    return sorted(points)


def _instants(start: datetime, end: datetime, starts: Sequence[datetime]) -> list[datetime]:
    """The slot's start and every window start inside it: where what is in force changes."""
    first = bisect.bisect_right(starts, start)
    last = bisect.bisect_left(starts, end)
    return [start, *starts[first:last]]


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


# --- the model ---------------------------------------------------------------------------


class _Entries:
    """The LP's non-zeros, gathered as arrays and sorted into rows once."""

    def __init__(self) -> None:
        self.rows: list[Ints] = []
        self.cols: list[Ints] = []
        self.values: list[Floats] = []
        self.row_lower: list[Floats] = []
        self.row_upper: list[Floats] = []
        self.num_row = 0
        self.col_lower: list[Floats] = []
        self.col_upper: list[Floats] = []
        self.num_col = 0

    def new_cols(self, count: int, lower: float | Floats, upper: float | Floats) -> Ints:
        ids = np.arange(self.num_col, self.num_col + count, dtype=np.int64)
        self.col_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (count,)))
        self.col_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (count,)))
        self.num_col += count
        return ids

    def new_rows(self, count: int, lower: float | Floats, upper: float | Floats) -> Ints:
        ids = np.arange(self.num_row, self.num_row + count, dtype=np.int64)
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (count,)))
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (count,)))
        self.num_row += count
        return ids

    def add(self, rows: Ints, cols: Ints, values: Floats) -> None:
        self.rows.append(rows.ravel())
        self.cols.append(cols.ravel())
        self.values.append(values.ravel())

    def program(self) -> LinearProgram:
        rows = np.concatenate([np.zeros(0, np.int64), *self.rows])
        cols = np.concatenate([np.zeros(0, np.int64), *self.cols])
        values = np.concatenate([np.zeros(0), *self.values])
        keep = values != 0.0
        rows, cols, values = rows[keep], cols[keep], values[keep]
        order = np.argsort(rows, kind="stable")
        starts = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=self.num_row))))
        return LinearProgram(
            col_lower=np.concatenate([np.zeros(0), *self.col_lower]).tolist(),
            col_upper=np.concatenate([np.zeros(0), *self.col_upper]).tolist(),
            row_start=starts.tolist(),
            a_index=cols[order].tolist(),
            a_value=values[order].tolist(),
            row_lower=np.concatenate([np.zeros(0), *self.row_lower]).tolist(),
            row_upper=np.concatenate([np.zeros(0), *self.row_upper]).tolist(),
        )


@dataclass
class _Source:
    """What a circuit's rows see below it: a session, or a class column of a circuit
    below; ``vector``: its coefficient in every row (valid for the rows of the circuit it
    enters and of those above); ``cols``: its column per slot (-1: none)."""

    vector: Floats
    cols: Ints
    lower: Floats  # per slot: the least and the most it can be
    upper: Floats


def build(request: PlanRequest, late_s: float = 0.0) -> Model:
    site, at, grid = request.site, request.at, request.grid
    sessions = site.sessions
    n = len(sessions)
    slots = request.horizon.slots()
    count = len(slots)
    start = np.array([s for s, _ in slots], dtype=np.float64)
    end = start + np.array([length for _, length in slots], dtype=np.float64)
    kw = np.array([session_power_w(s, grid, site.supply_voltage_v) / 1000 for s in sessions])
    minimum = np.array([math.ceil(s.min_current_a * 10 - 1e-6) / 10 for s in sessions])
    need = np.array([request.needs[s.id].energy_kwh if s.id in request.needs else np.nan
                     for s in sessions])
    departure = np.array([
        (request.needs[s.id].departure - at).total_seconds() if s.id in request.needs
        else _INF for s in sessions])
    # Slots are at most a day of seconds: the float sums are exact.
    hours = np.maximum(0.0, np.minimum(end[:, None], departure[None, :])
                       - start[:, None]) / 3600
    starts = _window_starts(site)
    instants = [
        _instants(at + timedelta(seconds=float(s)), at + timedelta(seconds=float(e)), starts)
        for s, e in zip(start, end, strict=True)] if starts else None
    cap = np.empty((count, n))
    for i, session in enumerate(sessions):
        if session.cap_windows and instants is not None:
            cap[:, i] = [_cap_over(session, moments) for moments in instants]
        else:
            cap[:, i] = _cap_over(session, ())
    exists = (departure[None, :] > start[:, None]) & (cap >= minimum[None, :] - _EPS)
    entries = _Entries()
    col = np.full((count, n), -1, dtype=np.int64)
    upper = np.where(exists, cap, 0.0)
    col[exists] = entries.new_cols(int(exists.sum()), 0.0, upper[exists])
    kwh = kw[None, :] * hours * exists
    late = exists & (end[:, None] > departure[None, :] - late_s)

    rows = line_rows(site, grid)
    coef = np.zeros((len(rows), n))
    for r, row in enumerate(rows):
        for i, c in row.members:
            coef[r, i] = c
    rhs = _right_hand_sides(site, at, rows, instants, count)
    reach = upper @ np.maximum(coef, 0.0).T
    binding = np.isfinite(rhs) & (reach > rhs + _EPS)
    _limit_rows(entries, site, rows, coef, rhs, binding, col, upper)

    energy_col = _energy_columns(entries, col, kwh, need)
    share_col = peak_col = None
    needy = np.flatnonzero(need > 0)
    if np.any(~np.isnan(need)):
        share_col = int(entries.new_cols(1, 0.0, 1.0)[0])
    if share_col is not None and needy.size:
        # share x need <= energy: the share of every need delivered (fairness)
        fair = entries.new_rows(needy.size, -_INF, 0.0)
        entries.add(fair, np.full(needy.size, share_col), need[needy])
        entries.add(fair, energy_col[needy], np.full(needy.size, -1.0))
    tariff = request.tariff
    price = np.array([
        tariff.price_over(at + timedelta(seconds=s), at + timedelta(seconds=s + length))
        * length / 3600 for s, length in slots]) if tariff.prices else np.zeros(count)
    power_col = None
    if tariff.prices or tariff.demand_charge_per_kw > 0:
        power_col = _power_columns(entries, col, kw)
    if tariff.demand_charge_per_kw > 0 and power_col is not None:
        from app.domain.planner import root_other_kw

        peak_col = int(entries.new_cols(1, tariff.peak_so_far_kw, _INF)[0])
        peak_rows = entries.new_rows(count, -_INF, -root_other_kw(site))
        entries.add(peak_rows, power_col, np.ones(count))
        entries.add(peak_rows, np.full(count, peak_col), np.full(count, -1.0))
    return Model(entries.program(), slots, col, kwh, kw, minimum, upper, coef, rhs, late, need,
                 energy_col, power_col, price, share_col, peak_col)


def _right_hand_sides(
    site: Site, at: datetime, rows: Sequence[Row],
    instants: Sequence[Sequence[datetime]] | None, count: int,
) -> Floats:
    """(slots, rows): the lowest right-hand side in force at any instant of the slot."""
    rhs = np.full((count, len(rows)), _INF)
    circuits = {c.id: c for c in site.circuits}
    for r, row in enumerate(rows):
        circuit = circuits[row.circuit]
        if not circuit.limits or instants is None:
            limit = row_limit(row, circuit, circuit.limits_at(at))
            if not math.isinf(limit):
                rhs[:, r] = row.rhs(limit)
            continue
        for t, moments in enumerate(instants):
            limit = min(row_limit(row, circuit, circuit.limits_at(m)) for m in moments)
            if not math.isinf(limit):
                rhs[t, r] = row.rhs(limit)
    return rhs


def _limit_rows(
    entries: _Entries, site: Site, rows: Sequence[Row], coef: Floats, rhs: Floats,
    binding: Bools, col: Ints, upper: Floats,
) -> None:
    """Every binding row of every circuit, on class columns where a circuit's loads form
    fewer classes than they are (see the module doc), bottom-up."""
    count = col.shape[0]
    circuits = site.circuits
    position = {c.id: k for k, c in enumerate(circuits)}
    rows_of: dict[str, list[int]] = {c.id: [] for c in circuits}
    for r, row in enumerate(rows):
        rows_of[row.circuit].append(r)
    up = {c.id: np.zeros(len(rows), dtype=bool) for c in circuits}
    binds = {c.id: binding[:, rows_of[c.id]].any(axis=1) if rows_of[c.id]
             else np.zeros(count, dtype=bool) for c in circuits}
    needed: dict[str, Bools] = {}
    for c in circuits:
        mask = np.zeros(count, dtype=bool)
        for above in site.ancestors(c.id):
            up[c.id][rows_of[above]] = True
            mask |= binds[above]
        needed[c.id] = mask
    sources: dict[str, list[_Source]] = {c.id: [] for c in circuits}
    for i, session in enumerate(site.sessions):
        top = np.where(col[:, i] >= 0, upper[:, i], 0.0)
        sources[session.circuit].append(_Source(coef[:, i], col[:, i], np.zeros(count), top))
    depth = {c.id: len(site.ancestors(c.id)) for c in circuits}
    for c in sorted(circuits, key=lambda c: (-depth[c.id], position[c.id])):
        own = [s for s in sources[c.id] if np.any(s.vector[up[c.id]] != 0.0)]
        classes = _classes(own, up[c.id])
        lifted = own
        if AGGREGATE and rows_of[c.id] and len(classes) < len(own):
            lifted = _class_columns(entries, classes, needed[c.id], up[c.id], count)
        _circuit_rows(entries, rows_of[c.id], lifted, rhs, binding)
        if c.parent is not None:
            sources[c.parent].extend(lifted)


def _classes(
    own: Sequence[_Source], up: Bools
) -> list[tuple[Floats, list[tuple[_Source, float]]]]:
    """Sources whose vectors (on the rows of ``up``) are equal up to a factor: (the class's
    vector, [(source, its factor)])."""
    groups: dict[bytes, tuple[Floats, list[tuple[_Source, float]]]] = {}
    for source in own:
        seen = source.vector[up]
        k = int(np.argmax(np.abs(seen)))
        factor = float(seen[k])
        unit = np.where(up, source.vector / factor, 0.0)
        key = np.round(unit[up], 9).tobytes()
        if key not in groups:
            groups[key] = (unit, [])
        groups[key][1].append((source, factor))
    return list(groups.values())


def _class_columns(
    entries: _Entries, classes: Sequence[tuple[Floats, list[tuple[_Source, float]]]],
    needed: Bools, up: Bools, count: int,
) -> list[_Source]:
    """One column per class and slot where the circuit is needed and the class has a
    load: the sum of its loads times their factors (an equality row)."""
    lifted: list[_Source] = []
    for unit, members in classes:
        cols = np.stack([m.cols for m, _ in members], axis=1)  # (slots, members)
        factors = np.array([f for _, f in members])
        present = (cols >= 0) & needed[:, None]
        made = present.any(axis=1)
        own = np.full(count, -1, dtype=np.int64)
        slots = np.flatnonzero(made)
        low = np.stack([m.lower for m, _ in members], axis=1) * factors[None, :]
        high = np.stack([m.upper for m, _ in members], axis=1) * factors[None, :]
        lower = np.where(present, np.minimum(low, high), 0.0).sum(axis=1)
        upper = np.where(present, np.maximum(low, high), 0.0).sum(axis=1)
        own[slots] = entries.new_cols(slots.size, lower[slots], upper[slots])
        define = np.full(count, -1, dtype=np.int64)
        define[slots] = entries.new_rows(slots.size, 0.0, 0.0)
        t_of, m_of = np.nonzero(present)
        entries.add(define[t_of], cols[t_of, m_of], -factors[m_of])
        entries.add(define[slots], own[slots], np.ones(slots.size))
        lifted.append(_Source(unit, own, np.where(made, lower, 0.0),
                              np.where(made, upper, 0.0)))
    return lifted


def _circuit_rows(
    entries: _Entries, rows: Sequence[int], lifted: Sequence[_Source], rhs: Floats,
    binding: Bools,
) -> None:
    if not rows or not lifted:
        for r in rows:  # nothing below: a row only binds when its limit is below 0
            slots = np.flatnonzero(binding[:, r])
            entries.new_rows(slots.size, -_INF, rhs[slots, r])
        return
    cols = np.stack([s.cols for s in lifted], axis=1)  # (slots, sources)
    vectors = np.stack([s.vector for s in lifted], axis=1)  # (rows, sources)
    for r in rows:
        slots = np.flatnonzero(binding[:, r])
        if not slots.size:
            continue
        ids = entries.new_rows(slots.size, -_INF, rhs[slots, r])
        placed = cols[slots]
        present = (placed >= 0) & (vectors[r] != 0.0)[None, :]
        k_of, m_of = np.nonzero(present)
        entries.add(ids[k_of], placed[k_of, m_of], vectors[r, m_of])


def _energy_columns(entries: _Entries, col: Ints, kwh: Floats, need: Floats) -> Ints:
    """Per session, its energy by the departure as a column (at most its need): the rows
    that count energy (what a stage keeps, fairness) take one column, not every slot."""
    n = col.shape[1]
    energy = entries.new_cols(n, 0.0, np.where(np.isnan(need), _INF, np.maximum(need, 0.0)))
    rows = entries.new_rows(n, 0.0, 0.0)
    t_of, i_of = np.nonzero(col >= 0)
    entries.add(rows[i_of], col[t_of, i_of], kwh[t_of, i_of])
    entries.add(rows, energy, np.full(n, -1.0))
    return energy


def _power_columns(entries: _Entries, col: Ints, kw: Floats) -> Ints:
    """Per slot, the sessions' kW as a column: cost and peak take one column per slot."""
    count = col.shape[0]
    power = entries.new_cols(count, 0.0, _INF)
    rows = entries.new_rows(count, 0.0, 0.0)
    t_of, i_of = np.nonzero(col >= 0)
    entries.add(rows[t_of], col[t_of, i_of], kw[i_of])
    entries.add(rows, power, np.full(count, -1.0))
    return power


# --- the stages --------------------------------------------------------------------------


def stages(
    model: Model, request: PlanRequest, early: float, late: float = 0.0
) -> list[Stage]:
    """Energy tier by tier (earlier energy weighs up to ``early`` more; energy in a slot
    of ``model.late`` weighs ``late`` less, and the stage holds it so), cost, fairness."""
    sessions = request.site.sessions
    horizon_s = max(1, request.horizon.horizon_s)
    weight = np.array([1.0 + early * (1.0 - (s + length / 2) / horizon_s)
                       for s, length in model.slots])
    tiers: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(sessions):
        # stated needs first, then "as much as it can take", then no need; each by priority
        tiers.setdefault((_standing(request, s.id), s.priority), []).append(i)
    result: list[Stage] = []
    exists = model.col >= 0
    large = model.lp.num_col >= LARGE
    for key in sorted(tiers, reverse=True):
        member = np.zeros(len(sessions), dtype=bool)
        member[tiers[key]] = True
        mask = exists & member[None, :]
        if not mask.any():
            continue
        discount = 1.0 - late * model.late[mask]
        objective = (model.kwh[mask] * discount
                     * np.broadcast_to(weight[:, None], mask.shape)[mask])
        keep = model.energy_col[member].tolist()
        held = mask & model.late if late else np.zeros_like(mask)
        # the first tier of a large LP by its own columns, the others priced in (lp.Stage)
        priced = model.col[exists & ~member[None, :]].tolist() if large and not result else []
        result.append(Stage(
            f"energy ({_TIER_NAMES[key[0]]}, priority {key[1]})",
            (model.col[mask].tolist(), objective.tolist()), True,
            (keep + model.col[held].tolist(),
             [1.0] * len(keep) + (-late * model.kwh[held]).tolist()), priced=priced))
    cost = _cost_objective(model, request)
    sooner = _sooner_objective(model, request)
    folded = _cost_and_sooner(model, cost, sooner) if large else None
    if folded is not None:
        result.append(Stage("cost, then sooner", folded, False, cost, optional=True))
        sooner = ([], [])
    elif cost[0]:
        result.append(Stage("cost", cost, False, cost, optional=True))
    if sooner[0]:
        result.append(Stage("sooner", sooner, True, sooner, optional=True))
    if model.share_col is not None:
        result.append(Stage("fairness", ([model.share_col], [1.0]), True,
                            needless=lambda values: every_need_met(model, values),
                            optional=True))
    return result


# What the "sooner" stage weighs each standing by (stated needs, as much as it can take,
# no need): far enough apart that a later start of a higher standing is never bought
# with an earlier one of a lower.
_SOONER = {2: 1.0, 1: 1e-3, 0: 1e-6}


def _sooner_objective(model: Model, request: PlanRequest) -> Sparse:
    """Energy as early as the energy and the cost already decided allow, a stated need's
    first: every kWh weighs from 1 at the start of the horizon down to 0 at its end.

    With every session's energy held (and the cost, where prices are given), what is left
    is when the energy comes. Without this stage the energy stage of a lower standing,
    whose own early weighting moves its energy forward, can move a stated need's energy
    back as far as its departure allows: a car that said it needs 48 kWh by 21:30 waited
    three hours at 0 A while a car without a need took the whole circuit."""
    horizon_s = max(1, request.horizon.horizon_s)
    soon = np.array([1.0 - (start + length / 2) / horizon_s for start, length in model.slots])
    standing = np.array([_SOONER[_standing(request, s.id)] for s in request.site.sessions])
    mask = model.col >= 0
    if not mask.any():
        return ([], [])
    weights = model.kwh * soon[:, None] * standing[None, :]
    return (model.col[mask].tolist(), weights[mask].tolist())


# How far folding "sooner" into the cost stage may move the cost, at most (relative): the
# scale at which the energy stages already trade energy for earliness (planner.EARLY).
# Smaller is not more exact in practice: the interior point method stops at a relative
# gap of about 1e-8 of the objective, and a tiebreak worth less than that is left
# unresolved (on a depot's plan: at 5e-7 the fold reached 1.1 % less earliness than the
# sequential stage, at 1e-5 0.54 % less, at 1e-4 0.06 % less).
FOLD = 1e-4


def _cost_and_sooner(model: Model, cost: Sparse, sooner: Sparse) -> Sparse | None:
    """The cost stage with the sooner stage folded in, as a tiebreak too small to move
    the cost by more than ``FOLD`` of it; None where that cannot be bounded (no cost
    stage, a slot at a price of 0 or below, no sooner objective).

    Every kWh bought costs at least the lowest price p and counts at most 1 in the sooner
    objective (its weights are at most 1 per kWh), so ``sooner <= cost / p``. The folded
    objective ``cost - FOLD * p * sooner`` is then least at a plan whose cost is at most
    ``c* / (1 - FOLD)``, ``c*`` the least cost. On a depot's plan (1,000 sessions x 96
    slots) the sequential sooner stage took 134 interior point iterations (13.5 s of CPU)
    after the cost stage's 48; the folded stage takes 61 (5.8 s), its cost 2e-9 (relative)
    above the cost stage's alone where the sequential stages spent their whole hold
    (1e-6), its earliness 0.06 % below the sequential stages'."""
    if not cost[0] or not sooner[0] or model.power_col is None:
        return None
    lengths_h = np.array([length for _start, length in model.slots], dtype=np.float64) / 3600
    per_kwh = model.price / np.maximum(lengths_h, 1e-12)
    if np.any(lengths_h <= 0) or np.any(per_kwh <= 0):
        return None
    weight = FOLD * float(per_kwh.min())
    index, coef = sooner
    return (list(cost[0]) + list(index), list(cost[1]) + [-weight * c for c in coef])


def every_need_met(model: Model, values: Sequence[float]) -> bool:
    """Fairness shares out shortfalls; with none (the energy stages met every need) it
    could only move energy between equally served sessions, so it is left out."""
    energy = (per_slot(model, values) * model.kwh).sum(axis=0)
    positive = model.need > 0
    return bool(np.all(energy[positive] >= model.need[positive] * (1 - 1e-6) - 1e-6))


def _cost_objective(model: Model, request: PlanRequest) -> tuple[list[int], list[float]]:
    index: list[int] = []
    value: list[float] = []
    if model.power_col is not None:
        priced = model.price != 0.0
        index = model.power_col[priced].tolist()
        value = model.price[priced].tolist()
    if model.peak_col is not None:
        index.append(model.peak_col)
        value.append(request.tariff.demand_charge_per_kw)
    return index, value


# --- rounding ----------------------------------------------------------------------------


def per_slot(model: Model, values: Sequence[float]) -> Floats:
    """(slots, sessions): the LP's currents as they are (0 where no column)."""
    solved = np.asarray(values, dtype=np.float64)
    per_slot = np.zeros(model.col.shape)
    exists = model.col >= 0
    per_slot[exists] = solved[model.col[exists]]
    return per_slot


def rounded(model: Model, values: Sequence[float]) -> Floats:
    """(slots, sessions): min-or-zero and 0.1 A, never up; then every row holds again."""
    solved = per_slot(model, values)
    result = np.where(solved < model.minimum[None, :] - 1e-7, 0.0,
                      np.floor(solved * 10 + 1e-7) / 10)
    result = np.minimum(np.maximum(result, 0.0), model.upper)
    loads = result @ model.coef.T
    broken = np.isfinite(model.rhs) & (loads > model.rhs + 1e-7)
    for t in np.flatnonzero(broken.any(axis=1)):
        result[t] = _repair(model, int(t), result[t])
    return result


def _repair(model: Model, t: int, amps: Floats) -> Floats:
    """Lower the largest contributor of a broken row by 0.1 A (to 0 below its minimum)
    until every row of the slot holds (a phasor sum can grow when one load drops)."""
    amps = amps.copy()
    rhs = model.rhs[t]
    finite = np.isfinite(rhs)
    loads = model.coef @ amps  # moved by one column per step (see _make_room)
    for _ in range(100 * len(amps) + 100):
        broken = np.flatnonzero(finite & (loads > rhs + 1e-7))
        if not broken.size:
            return amps
        share = np.where((model.coef[broken[0]] > 0) & (amps > 0),
                         model.coef[broken[0]] * amps, -1.0)
        i = int(np.argmax(share))
        if share[i] <= 0:
            break
        lowered = round(float(amps[i]) - 0.1, 1)
        new = lowered if lowered >= model.minimum[i] - 1e-9 else 0.0
        loads += (new - amps[i]) * model.coef[:, i]
        amps[i] = new
    return np.zeros_like(amps)  # pragma: no cover - all zero holds every row with rhs >= 0


def repacked(model: Model, request: PlanRequest, values: Sequence[float],
             amps: Floats) -> Floats:
    """What rounding took from a need, given back where it can be.

    The LP knows no minimum, so a need's last part often lands in one slot below the
    car's minimum (5.9 A where 8 A is the least it takes), which rounding sets to 0: the
    plan would leave the car short by that slot's energy. Sessions with a need are
    taken most urgent first (as ``hand_on`` orders them); each is raised, in the slots
    where rounding took the most, to at least its minimum and by what it lost, each slot
    only if every row of that slot holds after lowering sessions that rank strictly below
    it (a lower standing or priority: energy tiers are strict), never to between 0 and a
    minimum. A slot where that cannot be done stays as rounding left it."""
    solved = per_slot(model, values)
    amps = amps.copy()
    exists = model.col >= 0
    lost = np.sum(np.maximum(solved - amps, 0.0) * model.kwh * exists, axis=0)
    sessions = request.site.sessions
    standing = np.array([_standing(request, s.id) for s in sessions])
    priority = np.array([s.priority for s in sessions])
    finite = np.isfinite(model.rhs)
    loads = amps @ model.coef.T  # (slots, rows), kept as slots change
    for i in sorted(range(len(sessions)), key=lambda i: _urgency(request, model, i)):
        if standing[i] == 0:
            break  # the sessions without a need come last
        if lost[i] < 0.01:
            continue
        below = (standing < standing[i]) | ((standing == standing[i]) & (priority < priority[i]))
        taken = (solved[:, i] - amps[:, i]) * exists[:, i]
        for t in np.argsort(-taken, kind="stable").tolist():
            if lost[i] < 0.01 or taken[t] <= 1e-6 or model.kwh[t, i] <= 0:
                break
            wanted = amps[t, i] + lost[i] / model.kwh[t, i]
            target = min(float(model.upper[t, i]),
                         math.ceil(max(float(model.minimum[i]), wanted) * 10 - 1e-7) / 10)
            if target <= amps[t, i] or target < model.minimum[i] - 1e-9:
                continue
            trial = amps[t].copy()
            trial[i] = target
            trial_loads = loads[t] + (target - amps[t, i]) * model.coef[:, i]
            if _make_room(model, t, trial, trial_loads, below, finite[t]):
                lost[i] -= (target - amps[t, i]) * model.kwh[t, i]
                amps[t] = trial
                loads[t] = trial_loads
    return amps


def _make_room(model: Model, t: int, amps: Floats, loads: Floats, below: Bools,
               finite: Bools) -> bool:
    """Lower the sessions of ``below`` (the lowest contributor of a broken row first, by
    0.1 A, to 0 below its minimum) until every row of slot ``t`` holds; False if they
    cannot. ``amps`` and ``loads`` (every row's load at ``amps``) are changed in place:
    each step moves the loads by one column of ``coef``, not a product over every row
    (the product was most of a depot plan's rounding: 7,351 calls, 0.7 s of CPU)."""
    rhs = model.rhs[t]
    for _ in range(100 * len(amps) + 100):
        broken = np.flatnonzero(finite & (loads > rhs + 1e-7))
        if not broken.size:
            return True
        row = model.coef[broken[0]]
        share = np.where((row > 0) & (amps > 0) & below, row * amps, -1.0)
        j = int(np.argmax(share))
        if share[j] <= 0:
            return False
        lowered = round(float(amps[j]) - 0.1, 1)
        new = lowered if lowered >= model.minimum[j] - 1e-9 else 0.0
        loads += (new - amps[j]) * model.coef[:, j]
        amps[j] = new
    return False


def hand_on(
    model: Model, request: PlanRequest, values: Sequence[float], amps: Floats
) -> Floats:
    """What rounding the first slot freed, handed on: sessions are raised in order of
    need (a need before none, higher priority, least laxity, earliest departure), each as
    far as every row of the slot, its own cap and its need allow, never to between 0 and
    its minimum, and all of them together by no more power than rounding took away (the
    LP's cost and peak choices stand).

    A need that the slot completes is raised to the 0.1 A step above it where every row
    allows, not floored below it (floored, the car would leave a few Wh short, too
    little for a re-plan to see: a simulator or a car calls it full); where the LP itself
    completes it in this slot, budget or not (the step is the LP's own energy).

    A session the LP charges now whose remaining need is less than its minimum for the
    slot (the last kWh of a car: 0.1 kWh is 6 A for 5 minutes at 208 V) is raised to its
    minimum, budget or not: rounded down to 0 it would never finish, and the car stops
    drawing when it is full. In its last slot before it leaves, where the rows have no
    room for that minimum (every session charges to the limits: the LP put the last bit
    off from plan to plan), sessions after it in that order (less urgent) are lowered to
    make it, as ``repacked`` lowers a lower tier: those alone that the LP's plan leaves
    room to take it back later (in their cap and every row, by their departure). Where
    the limits bind all along, the minimum's excess over the last bit would be lost to
    the others, and the car is left as it is."""
    if not model.slots or model.slots[0][1] <= 0:
        return amps
    slot_h = model.slots[0][1] / 3600
    first = per_slot(model, values)[0]
    has = model.col[0] >= 0
    budget_kw = float(np.sum(((first - amps) * model.kw)[has]))
    amps = amps.copy()
    rhs = model.rhs[0]
    finite = np.isfinite(rhs)
    coef = model.coef[finite]
    room_of = rhs[finite] - coef @ amps
    needs: Mapping[str, object] = request.needs
    order = sorted(np.flatnonzero(has).tolist(), key=lambda i: _urgency(request, model, i))
    recoverable: Floats | None = None
    for rank, i in enumerate(order):
        kw = float(model.kw[i])
        top = float(model.upper[0, i])
        finishing = completing = False
        session = request.site.sessions[i]
        if session.id in needs and kw > 0:
            wanted = max(0.0, request.needs[session.id].energy_kwh) / (kw * slot_h)
            finishing = 0 < wanted < model.minimum[i] and first[i] > 1e-6
            step_up = math.ceil(wanted * 10 - 1e-7) / 10
            # the LP completes the need now: its last 0.1 A step, budget or not
            completing = not finishing and step_up <= top and first[i] > step_up - 0.1
            top = min(top, model.minimum[i] if finishing else step_up)
        column = coef[:, i]
        rising = column > 0
        room = float(np.min(room_of[rising] / column[rising])) if rising.any() else _INF
        spare = _INF if finishing or completing else (budget_kw / kw if kw > 0 else 0.0)
        raised = math.floor(min(top, amps[i] + room, amps[i] + spare) * 10 + 1e-7) / 10
        last = not np.any(model.kwh[1:, i] > 0)  # no later slot before it leaves
        if finishing and last and raised < top - 1e-9 and amps[i] < top - 1e-9:
            if recoverable is None:
                recoverable = _room_later(model, per_slot(model, values))
            later = np.zeros(len(amps), dtype=bool)
            later[order[rank + 1:]] = True
            later &= recoverable >= top * model.kw * slot_h - 1e-9
            trial = amps.copy()
            trial[i] = top
            if _make_room(model, 0, trial, model.coef @ trial, later, finite):
                budget_kw -= float((trial - amps) @ model.kw)
                amps = trial
                room_of = rhs[finite] - coef @ amps
            continue
        if raised <= amps[i] or raised < model.minimum[i] - 1e-9:
            continue
        room_of -= (raised - amps[i]) * column
        budget_kw -= (raised - amps[i]) * kw
        amps[i] = raised
    return amps


def _room_later(model: Model, planned: Floats) -> Floats:
    """(sessions,): kWh each session could still take after the first slot, by its
    departure, within its cap and the room every row has left in the LP's own plan."""
    room = model.upper[1:] - planned[1:]
    slack = model.rhs[1:] - planned[1:] @ model.coef.T
    for k in np.flatnonzero(np.isfinite(model.rhs[1:]).any(axis=0)).tolist():
        members = model.coef[k] > 0
        room[:, members] = np.minimum(
            room[:, members], slack[:, k, None] / model.coef[k, members][None, :])
    taken: Floats = np.sum(np.maximum(room, 0.0) * model.kwh[1:], axis=0)
    return taken


_TIER_NAMES = {2: "stated needs", 1: "as much as it can take", 0: "no need"}


def _standing(request: PlanRequest, session_id: str) -> int:
    """2 for a stated need, 1 for "as much as it can take", 0 for none."""
    need = request.needs.get(session_id)
    return 0 if need is None else 2 if need.stated else 1


def _urgency(request: PlanRequest, model: Model, i: int) -> tuple[int, int, float, float, int]:
    """Sort key, most urgent first: a stated need, "as much as it can take", none; then
    priority, laxity (hours to spare charging at the maximum), departure."""
    session = request.site.sessions[i]
    need = request.needs.get(session.id)
    if need is None:
        return (2, -session.priority, math.inf, math.inf, i)
    hours_left = (need.departure - request.at).total_seconds() / 3600
    full_kw = float(model.kw[i]) * session.max_current_a
    laxity = hours_left - (need.energy_kwh / full_kw if full_kw > 0 else math.inf)
    return (2 - _standing(request, session.id), -session.priority, laxity, hours_left, i)


