"""Line currents as phasors: line-to-line loads, delta-wye transformers, and the linear
inner approximation a linear program can use.

The model (the one acnportal's ``caltech_acn`` uses for a 208 V US site):

1. **Line-to-neutral** sessions draw their current on each line they use, in phase with
   that line's voltage: L1 at 0°, L2 at −120°, L3 at +120°. When every load on a line is
   line-to-neutral, the phasors on that line share one angle and the line's magnitude is
   the plain per-line sum :mod:`app.domain.allocation` uses.
2. **Line-to-line** sessions draw between two lines, in phase with the line-to-line
   voltage: L1-L2 ("AB") at +30°, L2-L3 ("BC") at −90°, L3-L1 ("CA") at +150°. Current
   ``I∠θ`` flows out of the first line of the pair and back on the second, so it adds
   ``+I∠θ`` to the first line and ``−I∠θ`` to the second: two equal loads sharing a line
   at 120° give √3·I on it, not 2·I. Such a load sees √3 times the line-to-neutral voltage.
3. A circuit may be a **delta-wye transformer** of ratio N: its limits apply to its
   primary line currents ``(I_a − I_c)/N, (I_b − I_a)/N, (I_c − I_b)/N`` of the phasor
   line currents below it, and the circuits above it see those primary currents.
4. A circuit's ``other_load_a`` is in phase with its line (line-to-neutral), on the side
   its limits apply to.

:func:`violations` is the exact check (magnitudes of phasor sums). :func:`line_rows`
gives, per circuit and line, linear rows ``sum(coef x current) <= rhs`` whose feasible set
lies inside the exact one: a line whose phasors all share one angle keeps its exact
linear sum; any other line gets the inscribed regular ``K``-gon, ``Re(z·e^{−iθ_j}) <=
L·cos(π/K)``, which loses at most ``1 − cos(π/K)`` of the capacity (0.86 % at K = 24).
Half-planes that no non-negative combination of the line's phasors can reach are left out.
When a line carries no other load and its phasors' angles lie within an arc shorter than
a half turn (Caltech's secondary lines: 60°, its primary lines: 120°), every non-negative
combination stays in that cone, so only the sides facing the cone are kept: the arc cut
into pieces of at most 360°/K, one side each (4 rows instead of 15 for a 60° arc, the
same loss bound).

``max_power_w`` counts each session's current times its voltage (√3·V for line-to-line,
V per phase drawn otherwise); ``max_imbalance_a`` compares per-line arithmetic sums (what
the water level compares), the exact check the same.

Pure: stdlib only, no I/O.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.allocation import PHASES, Circuit, PhaseValues, Session, Site

__all__ = [
    "K_SIDES",
    "LINE_TO_LINE",
    "LINE_TO_NEUTRAL",
    "Grid",
    "Row",
    "capacity_lost",
    "line_loads",
    "line_rows",
    "session_power_w",
    "session_vectors",
    "violations",
]

LINE_TO_NEUTRAL = "line-to-neutral"
LINE_TO_LINE = "line-to-line"
# 1 - cos(pi/24) = 0.0086: the polygon keeps at least 99 % of every line's capacity.
K_SIDES = 24
_EPS = 1e-6
_LINE_ANGLE = (0.0, -120.0, 120.0)
# The pair a line-to-line load sits on -> (out line, back line, angle in degrees).
_PAIRS: Mapping[frozenset[str], tuple[int, int, float]] = {
    frozenset(("L1", "L2")): (0, 1, 30.0),
    frozenset(("L2", "L3")): (1, 2, -90.0),
    frozenset(("L3", "L1")): (2, 0, 150.0),
}

Vector = tuple[complex, complex, complex]


def _unit(degrees: float) -> complex:
    return cmath.rect(1.0, math.radians(degrees))


@dataclass(frozen=True)
class Grid:
    """What the allocation model does not say: which sessions are wired line-to-line and
    which circuits are delta-wye transformers (circuit id -> ratio)."""

    line_to_line: frozenset[str] = frozenset()
    transformers: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for circuit_id, ratio in self.transformers.items():
            if not ratio > 0:
                raise ValueError(f"circuit {circuit_id}: transformer ratio must be above 0")

    @property
    def plain(self) -> bool:
        """No line-to-line load and no transformer: the per-line sums are exact."""
        return not self.line_to_line and not self.transformers


def _own_vector(session: Session, grid: Grid) -> Vector:
    lines = [0j, 0j, 0j]
    if session.id in grid.line_to_line:
        pair = _PAIRS.get(frozenset(session.phases))
        if pair is None or len(session.phases) != 2:
            raise ValueError(f"session {session.id}: line-to-line needs two lines")
        out, back, angle = pair
        lines[out] += _unit(angle)
        lines[back] -= _unit(angle)
    else:
        for phase in session.phases:
            p = PHASES.index(phase)
            lines[p] += _unit(_LINE_ANGLE[p])
    return (lines[0], lines[1], lines[2])


def _primary(vector: Vector, ratio: float) -> Vector:
    a, b, c = vector
    return ((a - c) / ratio, (b - a) / ratio, (c - b) / ratio)


def session_vectors(site: Site, grid: Grid) -> dict[str, dict[str, Vector]]:
    """Per session, per circuit from its own up to the root: the line currents (phasors)
    one ampere of the session puts on what that circuit's limits apply to."""
    vectors: dict[str, dict[str, Vector]] = {}
    for session in site.sessions:
        vector = _own_vector(session, grid)
        chain: dict[str, Vector] = {}
        for circuit_id in site.ancestors(session.circuit):
            ratio = grid.transformers.get(circuit_id)
            if ratio is not None:
                vector = _primary(vector, ratio)
            chain[circuit_id] = vector
        vectors[session.id] = chain
    return vectors


def session_power_w(session: Session, grid: Grid, voltage: float) -> float:
    """Watts per ampere of the session."""
    if session.id in grid.line_to_line:
        return math.sqrt(3) * voltage
    return voltage * len(session.phases)


def _other(circuit: Circuit) -> Vector:
    o = circuit.other_load_a
    return (o[0] * _unit(0.0), o[1] * _unit(-120.0), o[2] * _unit(120.0))


def line_loads(
    site: Site, grid: Grid, currents: Mapping[str, float],
    vectors: Mapping[str, Mapping[str, Vector]] | None = None,
) -> dict[str, Vector]:
    """Per circuit: its three phasor line currents (other load included)."""
    vectors = vectors if vectors is not None else session_vectors(site, grid)
    loads = {c.id: list(_other(c)) for c in site.circuits}
    for session in site.sessions:
        amps = currents.get(session.id, 0.0)
        if amps:
            for circuit_id, vector in vectors[session.id].items():
                for p in range(3):
                    loads[circuit_id][p] += amps * vector[p]
    return {k: (v[0], v[1], v[2]) for k, v in loads.items()}


def violations(
    site: Site, grid: Grid, currents: Mapping[str, float], at: datetime,
    tolerance_a: float = 1e-6,
) -> list[str]:
    """The exact check: every limit broken by ``currents`` (session id -> amperes) at ``at``,
    named as the water level names them (``"main L1"``, ``"main kW"``, ...); empty when
    the currents are feasible."""
    loads = line_loads(site, grid, currents)
    sums = _arithmetic_sums(site, grid, currents)
    power = _powers(site, grid, currents)
    broken: list[str] = []
    for circuit in site.circuits:
        limit, max_power = circuit.limits_at(at)
        broken.extend(
            f"{circuit.id} {PHASES[p]}" for p in range(3)
            if abs(loads[circuit.id][p]) > limit[p] - circuit.margin_a + tolerance_a)
        other_w = site.supply_voltage_v * sum(circuit.other_load_a)
        if max_power is not None and power[circuit.id] + other_w > max_power + tolerance_a:
            broken.append(f"{circuit.id} kW")
        if circuit.max_imbalance_a is not None:
            s = [sums[circuit.id][p] + circuit.other_load_a[p] for p in range(3)]
            if max(s) - min(s) > circuit.max_imbalance_a + tolerance_a:
                broken.append(f"{circuit.id} imbalance")
    return broken


def _arithmetic_sums(
    site: Site, grid: Grid, currents: Mapping[str, float]
) -> dict[str, list[float]]:
    sums = {c.id: [0.0, 0.0, 0.0] for c in site.circuits}
    for session in site.sessions:
        amps = currents.get(session.id, 0.0)
        for circuit_id in site.ancestors(session.circuit):
            for phase in session.phases:
                sums[circuit_id][PHASES.index(phase)] += amps
    return sums


def _powers(site: Site, grid: Grid, currents: Mapping[str, float]) -> dict[str, float]:
    power = {c.id: 0.0 for c in site.circuits}
    for session in site.sessions:
        watts = currents.get(session.id, 0.0) * session_power_w(
            session, grid, site.supply_voltage_v)
        for circuit_id in site.ancestors(session.circuit):
            power[circuit_id] += watts
    return power


@dataclass(frozen=True)
class Row:
    """``sum(coef x current of session) <= limit x scale - offset`` for one circuit line
    (or kW, or imbalance) whose limit in force is ``limit`` (less the margin)."""

    name: str
    circuit: str
    kind: str  # "line" (limit: the phase's current), "power", "imbalance"
    phase: int
    members: tuple[tuple[int, float], ...]  # (session index in site.sessions, coef)
    scale: float
    offset: float

    def rhs(self, limit: float) -> float:
        return limit * self.scale - self.offset


def _collinear(phasors: Iterable[complex]) -> complex | None:
    """The common unit direction when every non-zero phasor shares one angle."""
    direction: complex | None = None
    for z in phasors:
        if abs(z) < 1e-12:
            continue
        unit = z / abs(z)
        if direction is None:
            direction = unit
        elif abs(unit - direction) > 1e-9:
            return None
    return direction


def line_rows(site: Site, grid: Grid, sides: int = K_SIDES) -> list[Row]:
    """The linear inner approximation of every circuit's limits (see the module doc)."""
    vectors = session_vectors(site, grid)
    index = {s.id: i for i, s in enumerate(site.sessions)}
    members: dict[str, list[list[tuple[int, complex]]]] = {
        c.id: [[], [], []] for c in site.circuits}
    for session in site.sessions:
        for circuit_id, vector in vectors[session.id].items():
            for p in range(3):
                if abs(vector[p]) > 1e-12:
                    members[circuit_id][p].append((index[session.id], vector[p]))
    below: dict[str, list[Session]] = {c.id: [] for c in site.circuits}
    for session in site.sessions:
        for circuit_id in vectors[session.id]:
            below[circuit_id].append(session)
    rows: list[Row] = []
    for circuit in site.circuits:
        other = _other(circuit)
        for p in range(3):
            rows.extend(_phase_rows(circuit, p, members[circuit.id][p], other[p], sides))
        rows.extend(_power_and_imbalance_rows(site, grid, circuit, index, below[circuit.id]))
    return rows


def _phase_rows(
    circuit: Circuit, p: int, phasors: Sequence[tuple[int, complex]], other: complex,
    sides: int,
) -> list[Row]:
    name = f"{circuit.id} {PHASES[p]}"
    offset = circuit.margin_a
    direction = _collinear([z for _, z in phasors] + [other])
    if direction is not None or not phasors:
        # One angle: the magnitude is the plain sum, exactly linear.
        coefs = tuple((i, abs(z)) for i, z in phasors)
        return [Row(name, circuit.id, "line", p, coefs, 1.0, offset + abs(other))]
    if abs(other) < 1e-12:
        arc = _arc([z for _, z in phasors])
        if arc is not None:
            return _arc_rows(name, circuit.id, p, phasors, offset, arc, sides)
    rows = []
    scale = math.cos(math.pi / sides)
    for j in range(sides):
        turn = _unit(-360.0 * j / sides)
        coefs = tuple((i, (z * turn).real) for i, z in phasors)
        shift = (other * turn).real
        if all(c <= 1e-12 for _, c in coefs) and shift <= 0:
            continue  # no non-negative currents reach this side
        rows.append(Row(name, circuit.id, "line", p, coefs, scale, offset * scale + shift))
    return rows


def _arc(phasors: Sequence[complex]) -> tuple[float, float] | None:
    """(first angle, span) in radians of the shortest arc holding every phasor's angle,
    when it is shorter than a half turn; else None."""
    angles = sorted(cmath.phase(z) % math.tau for z in phasors if abs(z) > 1e-12)
    if not angles:
        return None
    gaps = [(angles[(k + 1) % len(angles)] - angles[k]) % math.tau
            for k in range(len(angles))]
    if len(angles) == 1:
        gaps = [math.tau]
    widest = max(range(len(gaps)), key=gaps.__getitem__)
    span = math.tau - gaps[widest]
    if span >= math.pi - 1e-9:
        return None
    return angles[(widest + 1) % len(angles)], span


def _arc_rows(
    name: str, circuit_id: str, p: int, phasors: Sequence[tuple[int, complex]],
    offset: float, arc: tuple[float, float], sides: int,
) -> list[Row]:
    """Non-negative currents keep the line's phasor sum inside the cone of its phasors: the
    polygon needs only the sides facing that cone. The arc is cut into pieces of at most
    2π/``sides``, one side per piece: the same loss bound with a fraction of the rows."""
    first, span = arc
    pieces = max(1, math.ceil(span / (math.tau / sides) - 1e-9))
    width = span / pieces
    scale = math.cos(width / 2)
    rows = []
    for j in range(pieces):
        turn = cmath.rect(1.0, -(first + (j + 0.5) * width))
        coefs = tuple((i, (z * turn).real) for i, z in phasors)
        rows.append(Row(name, circuit_id, "line", p, coefs, scale, offset * scale))
    return rows


def _power_and_imbalance_rows(
    site: Site, grid: Grid, circuit: Circuit, index: Mapping[str, int],
    below: Sequence[Session],
) -> list[Row]:
    rows: list[Row] = []
    voltage = site.supply_voltage_v
    if circuit.max_power_w is not None or any(w.max_power_w for w in circuit.limits):
        coefs = tuple((index[s.id], session_power_w(s, grid, voltage)) for s in below)
        rows.append(Row(f"{circuit.id} kW", circuit.id, "power", -1, coefs, 1.0,
                        voltage * sum(circuit.other_load_a)))
    if circuit.max_imbalance_a is not None:
        other = circuit.other_load_a
        for p in range(3):
            for q in range(3):
                if p == q:
                    continue
                coefs = tuple(
                    (index[s.id], (PHASES[p] in s.phases) - (PHASES[q] in s.phases) + 0.0)
                    for s in below)
                coefs = tuple(m for m in coefs if m[1] != 0.0)
                rows.append(Row(f"{circuit.id} imbalance", circuit.id, "imbalance", p, coefs,
                                1.0, other[p] - other[q]))
    return rows


def row_limit(row: Row, circuit: Circuit, limits: tuple[PhaseValues, float | None]) -> float:
    """The limit a row's ``rhs`` scales, of ``limits`` (what ``circuit.limits_at`` gives
    for an instant; inf: no limit)."""
    current, power = limits
    if row.kind == "line":
        return current[row.phase]
    if row.kind == "power":
        return power if power is not None else math.inf
    return circuit.max_imbalance_a if circuit.max_imbalance_a is not None else math.inf


def capacity_lost(sides: int = K_SIDES) -> float:
    """The share of a line's capacity the polygon may give up, in the worst direction."""
    return 1.0 - math.cos(math.pi / sides)
