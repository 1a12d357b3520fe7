"""What a car arriving at a station of a circuit may draw before its own share comes.

A car that plugs in draws what its charger's composite schedule allows a *new*
transaction until the circuit's TxProfile for it is installed: the TxDefaultProfiles
(OCPP 1.6 §3.13.1: a TxProfile overrules them only for its own transaction).
A station hung from a circuit holds one such default on connector 0, at its *arrival
allowance*, so that every car that may arrive at once fits what the circuits leave:

1. **Headroom.** Per circuit, from the solve at an instant: on each grid phase, its limit
   in force less the margin, its other load and its sessions' limits; with
   ``max_power_w``, the same in W; with ``max_imbalance_a``, per pair of phases.
2. **Every connector below it may start a session at once.** A free connector's car adds
   the allowance ``a`` on every phase (a three-phase car: the most for the phase and
   power limits; a one-phase car on any one phase: the most for the imbalance limits). A
   connector with a session adds ``max(0, a - its limit on the phase)``: should its
   session end and another car take its place, that car starts at ``a`` too.
3. **The circuit's allowance** is the largest ``a``, in 0.1 A steps, whose sum over the
   connectors below it fits each headroom (0 when the headroom is already spent).
4. **A station's allowance** is the lowest over the circuits above it, capped by the
   station's own cap (its safe share, its maximum), floored to 0.1 A, and 0 below the
   minimum (IEC 61851-1 Annex A: a signal below 6 A pauses; never a limit in between).
5. **Over a span** (a lease): the lowest over the solves at the span's breakpoints.

So, per circuit and phase: session limits + the sum over free connectors of their
stations' allowances <= the limit less margin and other load. Pure: time is a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.domain.allocation import PHASES, Allocation, Site, allocate, breakpoints

__all__ = ["ArrivalStation", "allowances", "allowances_at"]

_EPS = 1e-6


@dataclass(frozen=True)
class ArrivalStation:
    """A station hung from ``circuit``: its connectors, the sessions running on them
    (ids of the site's sessions) and the most any of its connectors may be offered."""

    id: str
    circuit: str
    connectors: int
    sessions: tuple[str, ...] = ()
    max_current_a: float = math.inf

    def __post_init__(self) -> None:
        if self.connectors < 0:
            raise ValueError(f"station {self.id}: connectors must be 0 or more")


@dataclass(frozen=True)
class _Room:
    """A circuit's headroom for arrivals and the connectors below it."""

    phase: tuple[float, float, float]
    power: float | None  # W
    imbalance: tuple[float, float, float]  # per phase p: the least room of (p, q), q != p
    free: int  # free connectors below
    held: tuple[tuple[float, float, float], ...]  # per connector with a session: its limits

    def fits(self, amps: float, voltage: float) -> bool:
        extra = [self.free * amps + sum(max(0.0, amps - held[p]) for held in self.held)
                 for p in range(3)]
        if any(extra[p] > self.phase[p] + _EPS for p in range(3)):
            return False
        if any(extra[p] > self.imbalance[p] + _EPS for p in range(3)):
            return False
        return self.power is None or voltage * sum(extra) <= self.power + _EPS * voltage


def _rooms(site: Site, solved: Allocation, stations: Sequence[ArrivalStation],
           at: datetime) -> dict[str, _Room]:
    sessions = {s.id: s for s in site.sessions}

    def held(session_id: str) -> tuple[float, float, float]:
        session = sessions[session_id]
        limit = solved.sessions[session_id].limit_a
        a, b, c = (limit if p in session.phases else 0.0 for p in PHASES)
        return (a, b, c)

    load: dict[str, list[float]] = {c.id: [0.0, 0.0, 0.0] for c in site.circuits}
    power: dict[str, float] = {c.id: 0.0 for c in site.circuits}
    free: dict[str, int] = {c.id: 0 for c in site.circuits}
    holding: dict[str, list[tuple[float, float, float]]] = {c.id: [] for c in site.circuits}
    for session in site.sessions:
        limits = held(session.id)
        for circuit_id in site.ancestors(session.circuit):
            for p in range(3):
                load[circuit_id][p] += limits[p]
            power[circuit_id] += site.supply_voltage_v * sum(limits)
    for station in stations:
        on_it = [held(s) for s in station.sessions if s in sessions]
        for circuit_id in site.ancestors(station.circuit):
            free[circuit_id] += max(0, station.connectors - len(on_it))
            holding[circuit_id].extend(on_it)
    rooms = {}
    for circuit in site.circuits:
        current, max_power = circuit.limits_at(at)
        other = circuit.other_load_a
        total = [other[p] + load[circuit.id][p] for p in range(3)]
        phase = tuple(current[p] - circuit.margin_a - total[p] for p in range(3))
        watts = None if max_power is None else (
            max_power - site.supply_voltage_v * sum(other) - power[circuit.id])
        imbalance = [math.inf, math.inf, math.inf]
        if circuit.max_imbalance_a is not None:
            imbalance = [min(circuit.max_imbalance_a - (total[p] - total[q])
                             for q in range(3) if q != p) for p in range(3)]
        rooms[circuit.id] = _Room((phase[0], phase[1], phase[2]), watts,
                                  (imbalance[0], imbalance[1], imbalance[2]),
                                  free[circuit.id], tuple(holding[circuit.id]))
    return rooms


def _circuit_allowance(room: _Room, ceiling: float, voltage: float) -> float:
    """The largest allowance in 0.1 A steps up to ``ceiling`` that fits ``room``."""
    low, high = 0, math.floor(ceiling * 10 + _EPS)
    if not room.fits(0.0, voltage):
        return 0.0
    if room.fits(high / 10, voltage):
        return high / 10
    while high - low > 1:  # fits(low) and not fits(high): the extras grow with the amps
        middle = (low + high) // 2
        if room.fits(middle / 10, voltage):
            low = middle
        else:
            high = middle
    return low / 10


def allowances_at(site: Site, solved: Allocation, stations: Sequence[ArrivalStation],
                  at: datetime, minimum: float) -> dict[str, float]:
    """Each station's arrival allowance, in A per phase, given the solve ``solved`` of
    ``site`` at ``at`` (see the module docstring)."""
    rooms = _rooms(site, solved, stations, at)
    finite = [s.max_current_a for s in stations if math.isfinite(s.max_current_a)]
    ceiling = max([*finite, minimum])
    per_circuit: dict[str, float] = {}
    found: dict[str, float] = {}
    for station in stations:
        amps = min(station.max_current_a, ceiling)
        for circuit_id in site.ancestors(station.circuit):
            if circuit_id not in per_circuit:
                per_circuit[circuit_id] = _circuit_allowance(
                    rooms[circuit_id], ceiling, site.supply_voltage_v)
            amps = min(amps, per_circuit[circuit_id])
        floored = math.floor(max(amps, 0.0) * 10 + _EPS) / 10
        found[station.id] = floored if floored >= minimum - _EPS else 0.0
    return found


def allowances(site: Site, stations: Sequence[ArrivalStation], at: datetime,
               until: datetime, minimum: float) -> dict[str, float]:
    """Each station's arrival allowance over [at, until): the lowest of the solves at
    ``at`` and at every breakpoint (limit or cap window boundary) before ``until``."""
    span = max(1, math.ceil((until - at).total_seconds()))
    lowest: dict[str, float] = {}
    for instant in breakpoints(site, at, span):
        for station_id, amps in allowances_at(site, allocate(site, instant), stations,
                                              instant, minimum).items():
            lowest[station_id] = min(amps, lowest.get(station_id, amps))
    return lowest
