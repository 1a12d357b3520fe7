"""What a live plan of a circuit tree says, and why a car falls short.

The planner (:mod:`app.domain.planner`) decides every session's current per slot; this
module turns its answer into what the load manager sends and explains:

- **Periods that fit the charger.** A TxProfile holds at most the charger's
  ChargingScheduleMaxPeriods periods (OCPP 1.6 §9.4: the most periods a schedule may
  hold). :func:`fit_periods` merges neighbours until the timeline fits, each merge taking
  the lower of the two limits, so a merged timeline never passes the plan at any
  instant; it merges the pair that loses the least energy first. Min-or-zero holds: the
  lower of two limits that are each 0 or at least the minimum is one of them.
- **The limit per slot.** :func:`slot_capacity`: per circuit and phase, the lowest limit
  in force at any instant of the slot, less the margin and the other load (what the
  planner's rows allow the sessions), and the kW left the same way.
- **Why a car falls short.** :func:`shortfall_reason`: in the slots before its departure
  where the session got less than it could take, the circuit above it that was full
  (a phase within 0.5 A of its limit, or its kW), named with the stretch of time it was
  full, e.g. ``"site at its limit 17:00-21:00 (main L1)"``; else its own maximum.

Pure: time is a parameter; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.allocation import (
    PHASES,
    Allocation,
    Circuit,
    Period,
    Session,
    SessionLimit,
    Site,
)

__all__ = [
    "FULL_WITHIN_A",
    "LivePlan",
    "PlannedSession",
    "SlotCapacity",
    "fit_periods",
    "held_during",
    "shortfall_reason",
    "slot_capacity",
]

# A phase this close to its limit counts as full (the plan is rounded down to 0.1 A and
# min-or-zero can leave up to a minimum unused).
FULL_WITHIN_A = 0.5
_FULL_WITHIN_W = 300.0


def fit_periods(periods: Sequence[Period], max_periods: int | None,
                horizon_s: int) -> tuple[Period, ...]:
    """``periods`` (the first starting at 0) merged until at most ``max_periods`` remain;
    each merge keeps the earlier start and the lower limit. Equal neighbours merge first
    (for free), then the pair losing the least energy (limit drop x length)."""
    merged = [p for i, p in enumerate(periods) if i == 0 or p.limit_a != periods[i - 1].limit_a]
    if max_periods is None or max_periods < 1:
        return tuple(merged)
    while len(merged) > max_periods:
        ends = [p.start_s for p in merged[1:]] + [max(horizon_s, merged[-1].start_s + 1)]
        i = min(range(len(merged) - 1), key=lambda i: _loss(merged, ends, i))
        low = min(merged[i].limit_a, merged[i + 1].limit_a)
        merged[i:i + 2] = [Period(merged[i].start_s, low)]
        # A merge may make the new period equal to a neighbour: fold those too.
        merged = [p for j, p in enumerate(merged)
                  if j == 0 or p.limit_a != merged[j - 1].limit_a]
    return tuple(merged)


def _loss(periods: Sequence[Period], ends: Sequence[int], i: int) -> float:
    """The energy (A x s) merging periods i and i + 1 into the lower takes away."""
    a, b = periods[i], periods[i + 1]
    if a.limit_a > b.limit_a:
        return (a.limit_a - b.limit_a) * (ends[i] - a.start_s)
    return (b.limit_a - a.limit_a) * (ends[i + 1] - b.start_s)


@dataclass(frozen=True)
class SlotCapacity:
    """Per circuit, what its sessions may draw in each slot: per phase (A) and in kW
    (None: no kW limit)."""

    amps: Mapping[str, tuple[tuple[float, float, float], ...]]
    kw: Mapping[str, tuple[float | None, ...]]


@dataclass(frozen=True)
class PlannedSession:
    """One running transaction in a live plan."""

    transaction_id: int
    need_source: str  # app.domain.needs.Source: request, id_tag, history, ...
    plans: bool  # whether its need is planned for (else: its fair share)
    energy_kwh: float | None  # what it still needs, as planned for; None: no need
    departure: datetime | None
    planned_kwh: float | None  # by its departure
    shortfall_kwh: float | None
    shortfall_reason: str | None
    currents_a: tuple[float, ...]  # per slot


@dataclass(frozen=True)
class LivePlan:
    """A tree's plan at ``at``: slots (start_s, length_s) from ``at``, the price and the
    sessions' capacity of each slot, each session's current per slot, and what decided
    (``"planner"`` or ``"water level: <why>"``)."""

    at: datetime
    decided_by: str
    slots: tuple[tuple[int, int], ...]
    prices: tuple[float | None, ...]
    capacity: SlotCapacity
    sessions: Mapping[int, PlannedSession]
    planned_cost: float
    planned_peak_kw: float


def _instants(site: Site, start: datetime, end: datetime) -> list[datetime]:
    points = {start}
    for circuit in site.circuits:
        for window in circuit.limits:
            points |= {t for t in (window.start, window.end) if start < t < end}
    return sorted(points)


def _circuit_capacity(circuit: Circuit, instants: Sequence[datetime], voltage: float
                      ) -> tuple[tuple[float, float, float], float | None]:
    amps = [float("inf")] * 3
    kw: float | None = None
    for instant in instants:
        limits, power = circuit.limits_at(instant)
        for p in range(3):
            amps[p] = min(amps[p], limits[p])
        if power is not None:
            kw = power if kw is None else min(kw, power)
    left = tuple(max(0.0, amps[p] - circuit.margin_a - circuit.other_load_a[p])
                 for p in range(3))
    if kw is not None:
        kw = max(0.0, kw - sum(circuit.other_load_a) * voltage) / 1000
    return (left[0], left[1], left[2]), kw


def slot_capacity(site: Site, at: datetime, slots: Sequence[tuple[int, int]]) -> SlotCapacity:
    """What each circuit leaves its sessions in each slot (start_s, length_s) from ``at``."""
    amps: dict[str, list[tuple[float, float, float]]] = {c.id: [] for c in site.circuits}
    kw: dict[str, list[float | None]] = {c.id: [] for c in site.circuits}
    for start_s, length_s in slots:
        start = at + timedelta(seconds=start_s)
        instants = _instants(site, start, start + timedelta(seconds=length_s))
        for circuit in site.circuits:
            a, k = _circuit_capacity(circuit, instants, site.supply_voltage_v)
            amps[circuit.id].append(a)
            kw[circuit.id].append(k)
    return SlotCapacity({k: tuple(v) for k, v in amps.items()},
                        {k: tuple(v) for k, v in kw.items()})


def _loads(site: Site, currents: Sequence[Sequence[float]], t: int
           ) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Per circuit, its sessions' load per phase (A) and in kW in slot ``t``."""
    amps = {c.id: [0.0, 0.0, 0.0] for c in site.circuits}
    kw = {c.id: 0.0 for c in site.circuits}
    for i, session in enumerate(site.sessions):
        value = currents[t][i]
        for circuit_id in site.ancestors(session.circuit):
            for phase in session.phases:
                amps[circuit_id][PHASES.index(phase)] += value
            kw[circuit_id] += value * site.supply_voltage_v * len(session.phases) / 1000
    return amps, kw


def _full(site: Site, session: Session, capacity: SlotCapacity,
          currents: Sequence[Sequence[float]], t: int) -> str | None:
    """The first limit above the session that is full in slot ``t`` (nearest circuit
    first; its phases, then kW)."""
    amps, kw = _loads(site, currents, t)
    for circuit_id in site.ancestors(session.circuit):
        for phase in session.phases:
            p = PHASES.index(phase)
            if amps[circuit_id][p] >= capacity.amps[circuit_id][t][p] - FULL_WITHIN_A:
                return f"{circuit_id} {phase}"
        limit = capacity.kw[circuit_id][t]
        if limit is not None and kw[circuit_id] >= limit - _FULL_WITHIN_W / 1000:
            return f"{circuit_id} kW"
    return None


def _hhmm(at: datetime) -> str:
    return at.strftime("%H:%M")


def shortfall_reason(site: Site, at: datetime, slots: Sequence[tuple[int, int]],
                     currents: Sequence[Sequence[float]], session_id: str,
                     departure: datetime, capacity: SlotCapacity | None = None) -> str:
    """Why the session gets less than its need by ``departure`` (times in UTC): the
    longest stretch in which a limit above it was full while it got less than it could
    take, else its own maximum or the time left."""
    index = next(i for i, s in enumerate(site.sessions) if s.id == session_id)
    session = site.sessions[index]
    capacity = capacity or slot_capacity(site, at, slots)
    runs: list[tuple[str, datetime, datetime]] = []
    for t, (start_s, length_s) in enumerate(slots):
        start = at + timedelta(seconds=start_s)
        if start >= departure:
            break
        end = min(start + timedelta(seconds=length_s), departure)
        cap = min(x for x in (session.max_current_a, session.demand_cap_a,
                              session.cap_at(start)) if x is not None)
        if currents[t][index] >= cap - FULL_WITHIN_A:
            continue
        full = _full(site, session, capacity, currents, t)
        if full is None:
            continue
        if runs and runs[-1][0] == full and runs[-1][2] == start:
            runs[-1] = (full, runs[-1][1], end)
        else:
            runs.append((full, start, end))
    if runs:
        name, start, end = max(runs, key=lambda r: r[2] - r[1])
        return f"site at its limit {_hhmm(start)}-{_hhmm(end)} ({name})"
    if departure > at + timedelta(seconds=sum(length for _, length in slots)):
        return "departure beyond the horizon planned"
    return (f"its own maximum ({session.max_current_a:g} A) until its departure "
            f"{_hhmm(departure)} is not enough")


def held_during(plan: LivePlan, site: Site, until: datetime) -> Allocation:
    """Each session at the most the plan gives it in any slot before ``until``: what the
    sessions may draw while a lease runs, for the arrival allowances
    (:func:`app.domain.arrival.allowances_at`)."""
    horizon_s = (until - plan.at).total_seconds()
    sessions: dict[str, SessionLimit] = {}
    for i, session in enumerate(site.sessions):
        values = [row[i] for (start_s, _), row in zip(plan.slots, _rows(plan, site), strict=True)
                  if start_s < horizon_s]
        most = max(values, default=0.0)
        sessions[session.id] = SessionLimit(session.id, most, "plan", most > 0, None)
    return Allocation(plan.at, sessions, {})


def _rows(plan: LivePlan, site: Site) -> list[list[float]]:
    """The plan's currents per slot in the order of ``site.sessions``."""
    by_id = {str(tx): p for tx, p in plan.sessions.items()}
    return [[by_id[s.id].currents_a[t] if s.id in by_id else 0.0 for s in site.sessions]
            for t in range(len(plan.slots))]
