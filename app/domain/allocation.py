"""Site load management: share a grid connection among the charging sessions below it.

Inputs at an instant: a tree of :class:`Circuit` (a site's grid connection is a root; any
depth) and the :class:`Session` s below it. A circuit limits, on every grid phase L1-L3, the
sum of the currents of the sessions drawing on that phase anywhere below it plus its own
``other_load_a`` (what its meter sees that is not a managed session; a child's unmanaged
load is counted by the child and, being on the parent's meter too, by the parent's own
``other_load_a``). Its capacity for sessions on phase p is ``max_current_a[p] - margin_a -
other_load_a[p]``. ``max_power_w`` limits the sum of session power (current x supply
voltage x phases drawn on) plus the other load's power; ``max_imbalance_a`` limits the
largest minus the smallest phase load. A time window (``limits``) replaces the circuit's
limits while it runs; overlapping windows: the lowest wins.

The rule:

1. **Admission, min-or-zero.** Sessions are taken by priority desc, weight desc,
   plugged_in_at asc, id asc. A session is admitted only if its minimum fits, after the
   earlier admissions, on each of its phases of every circuit from its own up to the root,
   and within their kW and imbalance limits; otherwise it gets 0 and its binding names the
   first limit that did not fit (its own circuit first, then up; phases L1-L3, then kW,
   then imbalance). No limit ever lies strictly between 0 and the minimum: IEC 61851-1
   takes a signal below 6 A as "pause".
2. **Weighted water level, tier by tier.** Highest priority first, every admitted session
   of the tier gets ``clamp(weight x level, minimum, cap)``; the level rises until a limit
   binds, which freezes the sessions that raise it (an imbalance limit between phases p
   and q binds only sessions on p and not q, so never a session on all three phases);
   this goes on until all are frozen. Meanwhile the lower tiers hold their minimum; then
   the next tier shares what is left. The result is weighted max-min fair under nested
   per-phase limits: 50 A, two 32 A cars of weights 1 and 2 -> 18 and 32.
3. **Quantize.** Each limit is floored to 0.1 A (the schema's ``multipleOf 0.1``, OCPP 1.6
   errata §3.71); then leftover 0.1 A steps are given back, at most one per session, in
   admission order, wherever every limit still holds: 35 A, three cars -> 11.7, 11.7, 11.6.
4. **Over time.** :func:`timeline` solves at ``at`` and at every window boundary inside the
   horizon; each session gets periods (equal neighbours merged).
5. **Binding constraint.** Each session's limit says what stops it: ``"garage L2"``,
   ``"main kW"``, ``"site imbalance"``, ``"cap"`` (its own maximum or demand cap), the
   ``source`` of the cap window that caps it when that is the lowest of its caps (say
   ``"profile 7 (plan 12)"``), or ``"not admitted: main L1"`` (``"not admitted:
   profile 7 (plan 12)"``). Limits binding at the same level: its own cap first, then the
   nearest circuit, in the order above.
6. **Safe share.** Per session, the minimum over the circuits above it that have a
   ``connector_count`` of (their smallest phase limit in force, less the margin) /
   ``connector_count``, floored to 0.1 A; 0 when below the session's minimum; ``None``
   when no circuit above has a ``connector_count``. It is what a charger may fall back to
   when the controller is gone: every connector of the circuit at once stays within it.

A session's cap is the lowest of its ``max_current_a``, its ``demand_cap_a`` and what its
``cap_windows`` allow at the instant (what other owners' profiles allow the connector),
but never below its minimum: an admitted session is never offered less than the minimum.
A cap window below the minimum pauses the session (``"not admitted: "`` and the window's
``source``), and the
boundaries of cap windows are breakpoints of :func:`timeline` like those of limit windows. The
minimum is rounded up and the cap down to 0.1 A before the solve.

Everything here is pure: time is a parameter, nothing is read from the clock.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

__all__ = [
    "PHASES",
    "PHASE_ROTATIONS",
    "Allocation",
    "CapWindow",
    "Circuit",
    "CircuitLoad",
    "LimitWindow",
    "Period",
    "Session",
    "SessionLimit",
    "Site",
    "allocate",
    "circuit_shares",
    "safe_share",
    "grid_phases",
    "timeline",
]

PHASES = ("L1", "L2", "L3")
# A station's L1, L2, L3 wired to grid phases R (L1), S (L2), T (L3), in this order.
PHASE_ROTATIONS: Mapping[str, tuple[int, int, int]] = {
    "RST": (0, 1, 2),
    "RTS": (0, 2, 1),
    "SRT": (1, 0, 2),
    "STR": (1, 2, 0),
    "TRS": (2, 0, 1),
    "TSR": (2, 1, 0),
}
_EPS = 1e-6  # amperes (or watts) a float comparison forgives
_STEP = 0.1  # OCPP 1.6 errata §3.71: limits carry at most one decimal

PhaseValues = tuple[float, float, float]


def grid_phases(rotation: str, station_phases: Iterable[int]) -> tuple[str, ...]:
    """The grid phases a session draws on, from the station phases (1-3) it uses.

    ``station_phases`` are the station's own phase numbers (1 for a single-phase car, 1-3 for
    a three-phase one); ``rotation`` is how the station is wired (``"RST"`` is straight).
    """
    mapping = PHASE_ROTATIONS[rotation]
    grid = {mapping[phase - 1] for phase in station_phases}
    return tuple(PHASES[index] for index in sorted(grid))


@dataclass(frozen=True)
class LimitWindow:
    """Limits that replace a circuit's own over [start, end)."""

    start: datetime
    end: datetime
    max_current_a: PhaseValues
    max_power_w: float | None = None

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Circuit:
    """A node of the tree: a grid connection (``parent`` None), a feeder, a sub-panel."""

    id: str
    parent: str | None
    max_current_a: PhaseValues
    max_power_w: float | None = None
    max_imbalance_a: float | None = None
    margin_a: float = 0.0
    other_load_a: PhaseValues = (0.0, 0.0, 0.0)
    connector_count: int | None = None
    limits: tuple[LimitWindow, ...] = ()

    def limits_at(self, at: datetime) -> tuple[PhaseValues, float | None]:
        """The per-phase current and power limits in force at ``at``.

        A running window replaces the circuit's own limits; of overlapping windows, the
        lowest value wins.
        """
        running = [w for w in self.limits if w.covers(at)]
        if not running:
            return self.max_current_a, self.max_power_w
        current = _triple(min(w.max_current_a[p] for w in running) for p in range(3))
        powers = [w.max_power_w for w in running if w.max_power_w is not None]
        return current, min(powers) if powers else self.max_power_w


@dataclass(frozen=True)
class CapWindow:
    """A cap on one session over [start, end); ``source`` names what sets it (say
    ``"profile 7 (plan 12)"``), the binding of a session it caps."""

    start: datetime
    end: datetime
    max_current_a: float
    source: str = "cap"


@dataclass(frozen=True)
class Session:
    """One transaction on one connector, below circuit ``circuit``."""

    id: str
    circuit: str
    phases: tuple[str, ...]  # grid phases drawn on: "L1", "L2", "L3"
    min_current_a: float
    max_current_a: float
    demand_cap_a: float | None = None
    weight: float = 1.0
    priority: int = 0
    plugged_in_at: datetime | None = None
    # What others allow the connector over time (e.g. the composite of the other profiles
    # a charger holds): [start, end) -> amperes. A cap below the minimum pauses it.
    cap_windows: tuple[CapWindow, ...] = ()

    def cap_at(self, at: datetime) -> float | None:
        window = self.cap_window_at(at)
        return None if window is None else window.max_current_a

    def cap_window_at(self, at: datetime) -> CapWindow | None:
        """The lowest cap window running at ``at`` (the first of equals)."""
        running = [w for w in self.cap_windows if w.start <= at < w.end]
        return min(running, key=lambda w: w.max_current_a) if running else None

    def __post_init__(self) -> None:
        if not self.phases or any(p not in PHASES for p in self.phases):
            raise ValueError(f"session {self.id}: phases must be some of L1, L2, L3")
        if self.min_current_a <= 0 or self.max_current_a < self.min_current_a:
            raise ValueError(f"session {self.id}: needs 0 < min_current_a <= max_current_a")
        if self.weight <= 0:
            raise ValueError(f"session {self.id}: weight must be greater than 0")


@dataclass(frozen=True)
class Site:
    """A tree (or forest) of circuits and the sessions below them."""

    circuits: tuple[Circuit, ...]
    sessions: tuple[Session, ...] = ()
    supply_voltage_v: float = 230.0

    def __post_init__(self) -> None:
        ids = [c.id for c in self.circuits]
        if len(set(ids)) != len(ids):
            raise ValueError("circuit ids must be unique")
        known = set(ids)
        for circuit in self.circuits:
            if circuit.parent is not None and circuit.parent not in known:
                raise ValueError(f"circuit {circuit.id}: unknown parent {circuit.parent}")
        parents = {c.id: c.parent for c in self.circuits}
        for start in ids:
            seen = {start}
            node = parents[start]
            while node is not None:
                if node in seen:
                    raise ValueError(f"circuit {start}: its parents form a cycle")
                seen.add(node)
                node = parents[node]
        session_ids = [s.id for s in self.sessions]
        if len(set(session_ids)) != len(session_ids):
            raise ValueError("session ids must be unique")
        for session in self.sessions:
            if session.circuit not in known:
                raise ValueError(f"session {session.id}: unknown circuit {session.circuit}")

    @cached_property
    def _parents(self) -> dict[str, str | None]:
        return {c.id: c.parent for c in self.circuits}

    def ancestors(self, circuit_id: str) -> tuple[str, ...]:
        """``circuit_id`` and the circuits above it, nearest first."""
        parents = self._parents
        chain: list[str] = []
        node: str | None = circuit_id
        while node is not None:
            chain.append(node)
            node = parents[node]
        return tuple(chain)


@dataclass(frozen=True)
class SessionLimit:
    """A session's share: ``limit_a`` (0 when not admitted) and what binds it."""

    session_id: str
    limit_a: float
    binding: str
    admitted: bool
    safe_share_a: float | None


@dataclass(frozen=True)
class CircuitLoad:
    """A circuit's per-phase load (sessions at their limits plus other load) and headroom."""

    circuit_id: str
    limit_a: PhaseValues  # in force, less the margin
    load_a: PhaseValues
    headroom_a: PhaseValues


@dataclass(frozen=True)
class Allocation:
    """The solve at one instant."""

    at: datetime
    sessions: Mapping[str, SessionLimit]
    circuits: Mapping[str, CircuitLoad]


@dataclass(frozen=True)
class Period:
    """From ``start_s`` seconds after the solve's ``at``, the session's limit."""

    start_s: int
    limit_a: float


# --- the solve -------------------------------------------------------------------------


@dataclass
class _Constraint:
    """``sum(coef x current) <= capacity`` over some sessions; ``name`` is what it is called."""

    name: str
    capacity: float
    members: list[tuple[int, float]] = field(default_factory=list)
    load: float = 0.0  # at level ``ref``
    slope: float = 0.0  # d load / d level
    ref: float = 0.0
    version: int = 0

    def load_at(self, level: float) -> float:
        return self.load + self.slope * (level - self.ref)


@dataclass(frozen=True)
class _Prepared:
    sessions: tuple[Session, ...]  # in admission order
    minimum: tuple[float, ...]
    cap: tuple[float, ...]
    # sessions whose outside cap at this instant is below their minimum: paused
    blocked: tuple[bool, ...]
    # what a session stopped by its cap is bound by: "cap" (its own maximum or demand
    # cap), or the source of the outside cap window when that is the lowest
    cap_source: tuple[str, ...]
    constraints: tuple[_Constraint, ...]
    # per session: (constraint index, coef), in naming order (nearest circuit first)
    incidence: tuple[tuple[tuple[int, float], ...], ...]


def _admission_key(session: Session) -> tuple[float, float, float, str]:
    plugged = session.plugged_in_at.timestamp() if session.plugged_in_at else math.inf
    return (-session.priority, -session.weight, plugged, session.id)


def _floor_step(value: float) -> float:
    return math.floor(value * 10 + _EPS) / 10


def _ceil_step(value: float) -> float:
    return math.ceil(value * 10 - _EPS) / 10


def _prepare(site: Site, at: datetime) -> _Prepared:
    ordered = tuple(sorted(site.sessions, key=_admission_key))
    voltage = site.supply_voltage_v
    constraints: list[_Constraint] = []
    # per circuit: the constraint indices in naming order, and how a session enters each
    per_circuit: dict[str, list[tuple[int, str, int, int]]] = {}
    for circuit in site.circuits:
        current, power = circuit.limits_at(at)
        other = circuit.other_load_a
        entries: list[tuple[int, str, int, int]] = []
        for p in range(3):
            entries.append((len(constraints), "phase", p, -1))
            capacity = current[p] - circuit.margin_a - other[p]
            constraints.append(_Constraint(f"{circuit.id} {PHASES[p]}", capacity))
        if power is not None:
            entries.append((len(constraints), "power", -1, -1))
            constraints.append(_Constraint(f"{circuit.id} kW", power - voltage * sum(other)))
        if circuit.max_imbalance_a is not None:
            for p in range(3):
                for q in range(3):
                    if p != q:
                        entries.append((len(constraints), "imbalance", p, q))
                        capacity = circuit.max_imbalance_a - (other[p] - other[q])
                        constraints.append(_Constraint(f"{circuit.id} imbalance", capacity))
        per_circuit[circuit.id] = entries

    incidence: list[tuple[tuple[int, float], ...]] = []
    # Sessions on one circuit drawing the same phases enter the same constraints with the
    # same coefficients: worked out once per (circuit, phases), not once per session.
    rows: dict[tuple[str, tuple[str, ...]], tuple[tuple[int, float], ...]] = {}
    for index, session in enumerate(ordered):
        key = (session.circuit, session.phases)
        row = rows.get(key)
        if row is None:
            drawn = {PHASES.index(p) for p in session.phases}
            row = rows[key] = tuple(
                (k, coef)
                for circuit_id in site.ancestors(session.circuit)
                for k, kind, p, q in per_circuit[circuit_id]
                if (coef := _coefficient(kind, p, q, drawn, voltage)) != 0.0)
        for k, coef in row:
            constraints[k].members.append((index, coef))
        incidence.append(row)
    minimum = tuple(_ceil_step(s.min_current_a) for s in ordered)
    windows = [s.cap_window_at(at) for s in ordered]
    outside = [None if w is None else w.max_current_a for w in windows]
    cap_source = tuple(
        w.source if w is not None and w.max_current_a <= min(
            s.max_current_a,
            s.demand_cap_a if s.demand_cap_a is not None else s.max_current_a) + _EPS
        else "cap"
        for s, w in zip(ordered, windows, strict=True))
    cap = tuple(
        max(
            m,
            _floor_step(
                min(
                    s.max_current_a,
                    s.demand_cap_a if s.demand_cap_a is not None else s.max_current_a,
                    o if o is not None else s.max_current_a,
                )
            ),
        )
        for s, m, o in zip(ordered, minimum, outside, strict=True)
    )
    blocked = tuple(o is not None and o < m - _EPS for m, o in zip(minimum, outside, strict=True))
    return _Prepared(ordered, minimum, cap, blocked, cap_source, tuple(constraints),
                     tuple(incidence))


def _coefficient(kind: str, p: int, q: int, drawn: set[int], voltage: float) -> float:
    if kind == "phase":
        return 1.0 if p in drawn else 0.0
    if kind == "power":
        return voltage * len(drawn)
    return float((p in drawn) - (q in drawn))


def _admit(prep: _Prepared) -> tuple[list[bool], list[str]]:
    loads = [0.0] * len(prep.constraints)
    admitted: list[bool] = []
    binding: list[str] = []
    for index, row in enumerate(prep.incidence):
        need = prep.minimum[index]
        if prep.blocked[index]:
            admitted.append(False)
            binding.append(f"not admitted: {prep.cap_source[index]}")
            continue
        failed = next(
            (
                k
                for k, coef in row
                if coef > 0 and loads[k] + coef * need > prep.constraints[k].capacity + _EPS * coef
            ),
            None,
        )
        if failed is None:
            for k, coef in row:
                loads[k] += coef * need
            admitted.append(True)
            binding.append("")
        else:
            admitted.append(False)
            binding.append(f"not admitted: {prep.constraints[failed].name}")
    return admitted, binding


class _Fill:
    """The water level of one tier, raised event by event (all piecewise linear)."""

    def __init__(self, prep: _Prepared, values: list[float], tier: list[int]) -> None:
        self.prep = prep
        self.values = values
        self.level = 0.0
        self.active = set(tier)
        self.rising: set[int] = set()  # active sessions in the linear part of their clamp
        self.frozen_by: dict[int, str] = {}
        self.session_events: list[tuple[float, int, int]] = []  # (level, 0 enter/1 cap, i)
        self.limit_events: list[tuple[float, int, int]] = []  # (level, version, k)
        for constraint in prep.constraints:
            constraint.load = sum(values[i] * coef for i, coef in constraint.members)
            constraint.slope = 0.0
            constraint.ref = 0.0
            constraint.version = 0
        for i in tier:
            weight = prep.sessions[i].weight
            if prep.cap[i] <= prep.minimum[i] + _EPS:
                self._freeze(i, self.prep.cap_source[i])
            else:
                heapq.heappush(self.session_events, (prep.minimum[i] / weight, 0, i))
        self._freeze_tight(range(len(prep.constraints)))

    def run(self) -> dict[int, str]:
        while self.active:
            level = self._next_level()
            self.level = level
            entering: list[int] = []
            capped: list[int] = []
            while self.session_events and self.session_events[0][0] <= level + 1e-9:
                _, kind, i = heapq.heappop(self.session_events)
                if i in self.active:
                    (capped if kind else entering).append(i)
            tight: list[int] = []
            while self.limit_events and self.limit_events[0][0] <= level + 1e-9:
                _, version, k = heapq.heappop(self.limit_events)
                if self.prep.constraints[k].version == version:
                    tight.append(k)
            for i in entering:
                self._start_rising(i)
            for i in capped:
                self._freeze(i, self.prep.cap_source[i])
            self._freeze_tight(tight)
        return self.frozen_by

    def _next_level(self) -> float:
        candidates = []
        if self.session_events:
            candidates.append(self.session_events[0][0])
        while self.limit_events:
            at, version, k = self.limit_events[0]
            if self.prep.constraints[k].version == version:
                candidates.append(at)
                break
            heapq.heappop(self.limit_events)
        return max(self.level, min(candidates))

    def _value(self, i: int) -> float:
        weight = self.prep.sessions[i].weight
        return min(max(weight * self.level, self.prep.minimum[i]), self.prep.cap[i])

    def _change_slope(self, k: int, delta: float) -> None:
        constraint = self.prep.constraints[k]
        constraint.load = constraint.load_at(self.level)
        constraint.ref = self.level
        constraint.slope += delta
        constraint.version += 1
        if constraint.slope > 1e-12:
            room = constraint.capacity - constraint.load
            at = self.level + max(room, 0.0) / constraint.slope
            heapq.heappush(self.limit_events, (at, constraint.version, k))

    def _start_rising(self, i: int) -> None:
        session = self.prep.sessions[i]
        self.rising.add(i)
        for k, coef in self.prep.incidence[i]:
            self._change_slope(k, coef * session.weight)
        heapq.heappush(self.session_events, (self.prep.cap[i] / session.weight, 1, i))

    def _freeze(self, i: int, reason: str) -> None:
        self.values[i] = self._value(i)
        self.active.discard(i)
        self.frozen_by[i] = reason
        if i in self.rising:
            self.rising.discard(i)
            weight = self.prep.sessions[i].weight
            for k, coef in self.prep.incidence[i]:
                self._change_slope(k, -coef * weight)

    def _freeze_tight(self, candidates: Iterable[int]) -> None:
        constraints = self.prep.constraints
        tight = {
            k
            for k in candidates
            if constraints[k].load_at(self.level) >= constraints[k].capacity - _EPS
        }
        if not tight:
            return
        hit = sorted(
            {
                i
                for k in tight
                for i, coef in constraints[k].members
                if coef > 0 and i in self.active
            }
        )
        for i in hit:
            name = next(
                constraints[k].name for k, coef in self.prep.incidence[i] if coef > 0 and k in tight
            )
            self._freeze(i, name)


def _quantize(prep: _Prepared, values: list[float], admitted: list[bool]) -> list[int]:
    """Limits in tenths of an ampere: floored, then one step back each where it fits."""
    tenths = [
        math.floor(v * 10 + _EPS) if ok else 0 for v, ok in zip(values, admitted, strict=True)
    ]
    _restore_imbalance(prep, tenths, admitted)
    loads = [0.0] * len(prep.constraints)
    for i, row in enumerate(prep.incidence):
        for k, coef in row:
            loads[k] += coef * tenths[i] / 10
    for i, row in enumerate(prep.incidence):
        if not admitted[i] or (tenths[i] + 1) / 10 > prep.cap[i] + _EPS:
            continue
        fits = all(
            loads[k] + coef * _STEP <= prep.constraints[k].capacity + _EPS * max(coef, 1.0)
            for k, coef in row
            if coef > 0
        )
        if fits:
            tenths[i] += 1
            for k, coef in row:
                loads[k] += coef * _STEP
    return tenths


def _restore_imbalance(prep: _Prepared, tenths: list[int], admitted: list[bool]) -> None:
    """Flooring lowers every load, but an imbalance limit counts a session on the other
    phase negatively: flooring that session can push the imbalance past its limit. Step
    back the sessions that raise a constraint that no longer holds, the one furthest above
    its minimum first (the later admitted on a tie), until every constraint holds. It
    ends: at the minimums every constraint held, since admission checked them."""
    lowest = [math.ceil(m * 10 - _EPS) for m in prep.minimum]
    while True:
        loads = [0.0] * len(prep.constraints)
        for i, row in enumerate(prep.incidence):
            for k, coef in row:
                loads[k] += coef * tenths[i] / 10
        broken = {
            k for k, constraint in enumerate(prep.constraints)
            if loads[k] > constraint.capacity + _EPS
        }
        if not broken:
            return
        raisers = [
            i for i, row in enumerate(prep.incidence)
            if admitted[i] and tenths[i] > lowest[i]
            and any(coef > 0 and k in broken for k, coef in row)
        ]
        if not raisers:
            return
        tenths[max(raisers, key=lambda i: (tenths[i] - lowest[i], i))] -= 1


def _round1(value: float) -> float:
    return math.floor(value * 10 + 0.5 + 1e-9) / 10 + 0.0


def circuit_shares(site: Site, at: datetime) -> dict[str, float | None]:
    """Per circuit: the smallest ``(phase limit - margin) / connector_count`` above it."""
    own: dict[str, float | None] = {}
    for circuit in site.circuits:
        if circuit.connector_count:
            current, _ = circuit.limits_at(at)
            own[circuit.id] = (min(current) - circuit.margin_a) / circuit.connector_count
        else:
            own[circuit.id] = None
    shares: dict[str, float | None] = {}
    for circuit in site.circuits:
        found = [v for c in site.ancestors(circuit.id) if (v := own[c]) is not None]
        shares[circuit.id] = min(found) if found else None
    return shares


def safe_share(share: float | None, minimum: float) -> float | None:
    """A circuit's share (see :func:`circuit_shares`) as a session of ``minimum`` may take
    it: floored to 0.1 A, 0 below the minimum, None where no circuit counts connectors."""
    if share is None:
        return None
    floored = _floor_step(share)
    return floored if floored >= minimum - _EPS else 0.0


def allocate(site: Site, at: datetime) -> Allocation:
    """Every session's limit at ``at`` and every circuit's load: the rule of this module."""
    prep = _prepare(site, at)
    admitted, binding = _admit(prep)
    values = [m if ok else 0.0 for m, ok in zip(prep.minimum, admitted, strict=True)]
    tiers: dict[int, list[int]] = {}
    for i, session in enumerate(prep.sessions):
        if admitted[i]:
            tiers.setdefault(session.priority, []).append(i)
    for priority in sorted(tiers, reverse=True):
        for i, reason in _Fill(prep, values, tiers[priority]).run().items():
            binding[i] = reason
    tenths = _quantize(prep, values, admitted)

    shares = circuit_shares(site, at)
    limits = {}
    for i, session in enumerate(prep.sessions):
        limits[session.id] = SessionLimit(
            session_id=session.id,
            limit_a=tenths[i] / 10,
            binding=binding[i],
            admitted=admitted[i],
            safe_share_a=safe_share(shares[session.circuit], prep.minimum[i]),
        )
    return Allocation(
        at=at,
        sessions={s.id: limits[s.id] for s in site.sessions},
        circuits=_circuit_loads(site, at, prep, tenths),
    )


def _circuit_loads(
    site: Site, at: datetime, prep: _Prepared, tenths: Sequence[int]
) -> dict[str, CircuitLoad]:
    drawn: dict[str, list[float]] = {c.id: [0.0, 0.0, 0.0] for c in site.circuits}
    chains: dict[str, tuple[list[float], ...]] = {}
    for i, session in enumerate(prep.sessions):
        chain = chains.get(session.circuit)
        if chain is None:
            chain = chains[session.circuit] = tuple(
                drawn[c] for c in site.ancestors(session.circuit))
        amps = tenths[i] / 10
        for phase in session.phases:
            p = PHASES.index(phase)
            for totals in chain:
                totals[p] += amps
    loads = {}
    for circuit in site.circuits:
        current, _ = circuit.limits_at(at)
        load = [drawn[circuit.id][p] + circuit.other_load_a[p] for p in range(3)]
        limit = [current[p] - circuit.margin_a for p in range(3)]
        loads[circuit.id] = CircuitLoad(
            circuit_id=circuit.id,
            limit_a=_triple(_round1(v) for v in limit),
            load_a=_triple(_round1(v) for v in load),
            headroom_a=_triple(_round1(limit[p] - load[p]) for p in range(3)),
        )
    return loads


def _triple(values: Iterable[float]) -> PhaseValues:
    a, b, c = values
    return (a, b, c)


def breakpoints(site: Site, at: datetime, horizon_s: int) -> list[datetime]:
    """``at`` and every window boundary in (at, at + horizon), in order."""
    end = at + timedelta(seconds=horizon_s)
    points = {at}
    windows: list[LimitWindow | CapWindow] = [w for c in site.circuits for w in c.limits]
    windows += [w for s in site.sessions for w in s.cap_windows]
    for window in windows:
        points |= {t for t in (window.start, window.end) if at < t < end}
    return sorted(points)


def timeline(
    site: Site, at: datetime, horizon_s: int
) -> tuple[Allocation, dict[str, tuple[Period, ...]]]:
    """The solve at ``at`` and each session's periods over [at, at + horizon_s)."""
    if horizon_s <= 0:
        raise ValueError("horizon must be greater than 0")
    first: Allocation | None = None
    periods: dict[str, list[Period]] = {s.id: [] for s in site.sessions}
    for instant in breakpoints(site, at, horizon_s):
        solved = allocate(site, instant)
        if first is None:
            first = solved
        offset = int((instant - at).total_seconds())
        for session_id, share in solved.sessions.items():
            series = periods[session_id]
            if series and series[-1].limit_a == share.limit_a:
                continue
            if series and series[-1].start_s == offset:
                series[-1] = Period(offset, share.limit_a)
            else:
                series.append(Period(offset, share.limit_a))
    assert first is not None
    return first, {k: tuple(v) for k, v in periods.items()}
