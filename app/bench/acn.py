"""ACN-Sim scoreboard: chargeplan's planner on Caltech's network and sessions.

Runs acnportal's simulator (the optional ``bench`` extra) on the Caltech March 2019
sessions (``app/bench/data/acn``, see its README for the source, licence and citation) on
acnportal's own ``caltech_acn`` network (54 EVSEs, 208 V line-to-line, 5-minute steps), at
several transformer capacities, for acnportal's baselines (uncontrolled, FCFS, round
robin, EDF, LLF), today's water level, the planner and the offline optimum (the planner's
LP given every session in advance). The water level and the planner answer through
:func:`app.cli.allocate.answer_site`, the code ``chargeplan allocate --lines`` runs, with
the site as JSON: a delta-wye transformer of ratio 4 (primary limit cap/3/277 V), its
secondary (cap/3/120 V), the two 80 A pods, each EVSE's session line-to-line on its pair.
"""

from __future__ import annotations

import csv
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from app.domain.profiles import format_datetime

if TYPE_CHECKING:
    from app.bench.scenarios import Outcome

DATA = Path(__file__).parent / "data" / "acn" / "caltech-2019-03-sessions.csv"
START = datetime(2019, 3, 1, tzinfo=ZoneInfo("America/Los_Angeles"))
PERIOD_MIN = 5
VOLTAGE = 208.0
CAPACITIES_KW = (10, 20, 30, 40, 50, 70, 100)
ALGORITHMS = ("uncontrolled", "fcfs", "round_robin", "edf", "llf", "water_level", "planner",
              "offline")
# Not in the sweep: the planner with SCE's demand charge ($/kW of the period's peak) and
# the peak so far, for a run at a capacity that does not bind (150 kW).
DEMAND_CHARGE = "planner_demand_charge"
DEMAND_CHARGE_KW = 150
FINE_HORIZON_S = 3600
MIN_CURRENT_A = 6.0  # IEC 61851-1 Annex A: below 6 A a car pauses
TARIFF = "sce_tou_ev_4_march_2019"
_PAIR = {30: ["L1", "L2"], -90: ["L2", "L3"], 150: ["L3", "L1"]}


@dataclass(frozen=True)
class AcnSession:
    session_id: str
    station_id: str
    arrival: int
    departure: int
    energy_kwh: float
    max_power_kw: float


def load_sessions(days: int) -> list[AcnSession]:
    """The sessions that arrive in the first ``days`` days."""
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    last = days * 24 * 60 // PERIOD_MIN
    return [
        AcnSession(r["session_id"], r["station_id"], int(r["arrival_step"]),
                   int(r["departure_step"]), float(r["requested_energy_kwh"]),
                   float(r["max_power_kw"]))
        for r in rows if int(r["arrival_step"]) < last
    ]


def _network(capacity_kw: float) -> Any:
    from acnportal import acnsim

    return acnsim.sites.caltech_acn(basic_evse=True, voltage=VOLTAGE,
                                    transformer_cap=capacity_kw)


def _events(sessions: Sequence[AcnSession]) -> Any:
    from acnportal import acnsim

    events = []
    for s in sessions:
        battery = acnsim.Battery(100, 0, s.max_power_kw)
        ev = acnsim.EV(s.arrival, s.departure, s.energy_kwh, s.station_id, s.session_id,
                       battery, estimated_departure=s.departure)
        events.append(acnsim.PluginEvent(s.arrival, ev))
    return acnsim.EventQueue(events)


def site_json(network: Any, capacity_kw: float, at: datetime) -> dict[str, Any]:
    """The Caltech network as an ``allocate`` site (no sessions yet)."""
    pods = {}
    for name, ids in (("CC Pod", _pod(network, "CC Pod")), ("AV Pod", _pod(network, "AV Pod"))):
        for station in ids:
            pods[station] = name
    return {
        "at": format_datetime(at),
        "supply_voltage_v": VOLTAGE / math.sqrt(3),
        "step_s": 900,
        "nodes": [
            {"id": "transformer", "parent": None,
             "max_current_a": capacity_kw * 1000 / 3 / 277, "transformer": {"ratio": 4}},
            {"id": "secondary", "parent": "transformer",
             "max_current_a": capacity_kw * 1000 / 3 / 120},
            {"id": "CC Pod", "parent": "secondary", "max_current_a": 80},
            {"id": "AV Pod", "parent": "secondary", "max_current_a": 80},
        ],
        "sessions": [],
        "_pods": pods,
    }


def _pod(network: Any, name: str) -> list[str]:
    row = network.constraint_index.index(name)
    ids = network.station_ids
    return [ids[j] for j in range(len(ids)) if network.constraint_matrix[row, j] != 0]


def _phases(network: Any, station_id: str) -> list[str]:
    angle = round(float(network.phase_angles[station_id]))
    return _PAIR[angle]


def _prices(at: datetime, hours: int) -> list[dict[str, Any]]:
    from acnportal.signals.tariffs import TimeOfUseTariff

    tariff = TimeOfUseTariff(TARIFF)
    # Hours counted in UTC, priced by the local clock: local wall-clock arithmetic
    # would make an empty hour where daylight saving time starts (10 March 2019).
    base = at.astimezone(START.tzinfo).replace(minute=0, second=0, microsecond=0)
    starts = [base.astimezone(UTC) + timedelta(hours=h) for h in range(hours + 2)]
    return [
        {"from": format_datetime(start), "to": format_datetime(end),
         "price_per_kwh": tariff.get_tariff(start.astimezone(START.tzinfo))}
        for start, end in itertools.pairwise(starts)
    ]


def _algorithm(kind: str, capacity_kw: float, plan_ahead: bool, times: list[float],
               cpu_times: list[float], maxima: dict[str, float],
               demand_charge_per_kw: float = 0.0) -> Any:
    from acnportal.algorithms import BaseAlgorithm

    from app.cli.allocate import answer_site
    from app.domain.lp_highs import HighsSolver

    class Chargeplan(BaseAlgorithm):  # type: ignore[misc]
        """Each period: the site as JSON, answered by the code ``allocate --lines`` runs."""

        def __init__(self) -> None:
            super().__init__()
            self.max_recompute = 1
            # one solver for the whole run, as one ``allocate --lines`` process keeps one
            self.solver = HighsSolver()
            self.peak_kw = 0.0

        def schedule(self, active_sessions: list[Any]) -> dict[str, list[float]]:
            iface = self.interface
            at = (START + timedelta(minutes=PERIOD_MIN * iface.current_time)).astimezone(UTC)
            site = site_json(iface._simulator.network, capacity_kw, at)
            pods = site.pop("_pods")
            latest = at
            for s in active_sessions:
                volts = iface.evse_voltage(s.station_id)
                remaining = iface.remaining_amp_periods(s) * volts * PERIOD_MIN / 60 / 1000
                departure = at + timedelta(
                    minutes=PERIOD_MIN * (s.estimated_departure - iface.current_time))
                latest = max(latest, departure)
                maximum = float(min(iface.max_pilot_signal(s.station_id),
                                    s.max_rates[0] if len(s.max_rates) else 32.0,
                                    maxima.get(s.session_id, 32.0)))
                entry: dict[str, Any] = {
                    "id": s.station_id, "node": pods.get(s.station_id, "secondary"),
                    "phases": _phases(iface._simulator.network, s.station_id),
                    "wiring": "line-to-line", "min_current_a": MIN_CURRENT_A,
                    "max_current_a": max(maximum, MIN_CURRENT_A),
                    "plugged_in_at": format_datetime(
                        at - timedelta(minutes=PERIOD_MIN * (iface.current_time
                                                             - s.arrival))),
                }
                if plan_ahead:
                    entry["energy_kwh"] = max(0.0, float(remaining))
                    entry["departure"] = format_datetime(departure)
                site["sessions"].append(entry)
            if not active_sessions:
                return {}
            horizon_s = max(900, int((latest - at).total_seconds()))
            site["horizon_s"] = min(86_400, math.ceil(horizon_s / 900) * 900)
            if plan_ahead:
                site["prices"] = _prices(at, site["horizon_s"] // 3600 + 1)
                # graded slots: the ACN's own 5-minute step for the first hour
                site["fine_step_s"] = PERIOD_MIN * 60
                site["fine_horizon_s"] = FINE_HORIZON_S
            if demand_charge_per_kw:
                site["demand_charge_per_kw"] = demand_charge_per_kw
                site["peak_so_far_kw"] = self.peak_kw
            began = time.perf_counter()
            cpu_began = time.process_time()
            answer = answer_site(site, at, solver=self.solver)
            times.append(time.perf_counter() - began)
            cpu_times.append(time.process_time() - cpu_began)
            rates = {}
            for s in active_sessions:
                limit = answer["sessions"][s.station_id]["limit_a"]
                rates[s.station_id] = [min(limit, iface.max_pilot_signal(s.station_id))]
            self.peak_kw = max(self.peak_kw, sum(
                r[0] * iface.evse_voltage(k) / 1000 for k, r in rates.items()))
            return rates

    return Chargeplan()


def _baseline(kind: str) -> Any:
    from acnportal import algorithms

    sort = algorithms.SortedSchedulingAlgo
    return {
        "uncontrolled": lambda: algorithms.UncontrolledCharging(),
        "fcfs": lambda: sort(algorithms.first_come_first_served),
        "edf": lambda: sort(algorithms.earliest_deadline_first),
        "llf": lambda: sort(algorithms.least_laxity_first),
        "round_robin": lambda: algorithms.RoundRobin(algorithms.first_come_first_served),
    }[kind]()


def _offline(sessions: Sequence[AcnSession], capacity_kw: float, days: int) -> Any:
    """The planner's LP with every session known in advance, solved once over the whole
    period, its answer replayed period by period as it is: continuous currents, neither
    rounded to 0.1 A nor held to min-or-zero (acnportal's basic EVSEs take any pilot), so
    that no online plan of the same LP can deliver more (an upper bound for the planner)."""
    from dataclasses import replace

    import numpy as np
    from acnportal.algorithms import BaseAlgorithm

    from app.cli.allocate import read_request
    from app.domain import plan_model
    from app.domain.allocation import CapWindow
    from app.domain.lp import SolveFailed
    from app.domain.lp_highs import solve
    from app.domain.planner import EARLY, Horizon

    network = _network(capacity_kw)
    at = START.astimezone(UTC)
    site = site_json(network, capacity_kw, at)
    pods = site.pop("_pods")
    step = timedelta(minutes=PERIOD_MIN)
    for s in sessions:
        site["sessions"].append({
            "id": s.session_id, "node": pods.get(s.station_id, "secondary"),
            "phases": _phases(network, s.station_id), "wiring": "line-to-line",
            "min_current_a": MIN_CURRENT_A, "max_current_a": _max_current(s, up=False),
            "energy_kwh": s.energy_kwh, "departure": format_datetime(at + s.departure * step),
        })
    request, _ = read_request(site, now=at, time_limit_s=600.0)
    arrivals = {s.session_id: at + s.arrival * step for s in sessions}
    paused = tuple(
        sess if arrivals[sess.id] <= at else
        _with_caps(sess, (CapWindow(at, arrivals[sess.id], 0.0),))
        for sess in request.site.sessions)
    horizon_s = (days * 24 * 60 + 24 * 60) * 60
    request = replace(request, site=replace(request.site, sessions=paused),
                      horizon=Horizon(step_s=PERIOD_MIN * 60, horizon_s=horizon_s))
    model = plan_model.build(request)
    note = "LP relaxation"
    bound = 0.0
    try:
        values = solve(model.lp, plan_model.stages(model, request, EARLY),
                       request.time_limit_s)
        # an interior point's rows hold within 1e-7: a hair of margin for acnportal's check
        currents = np.clip(plan_model.per_slot(model, values) * (1 - 1e-6), 0.0, model.upper)
        energy = np.minimum((currents * model.kwh).sum(axis=0), model.need)
        bound = round(100 * float(energy.sum()) / sum(s.energy_kwh for s in sessions), 2)
    except SolveFailed as error:
        currents = np.zeros(model.col.shape)
        note = f"no plan: {error}"
    index = {s.id: i for i, s in enumerate(request.site.sessions)}
    by_station = {(s.station_id, s.arrival): s.session_id for s in sessions}

    class Offline(BaseAlgorithm):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.max_recompute = 1

        def schedule(self, active_sessions: list[Any]) -> dict[str, list[float]]:
            t = self.interface.current_time
            out = {}
            for s in active_sessions:
                i = index[by_station[(s.station_id, s.arrival)]]
                out[s.station_id] = [float(currents[t, i]) if t < len(currents) else 0.0]
            return out

    return Offline(), note, bound


def _max_current(session: AcnSession, up: bool = True) -> float:
    """What the car can draw: its battery's power at the EVSE's voltage (6.6 kW at 208 V:
    31.73 A), at most the EVSE's 32 A. A pilot above it is not drawn, so a plan that
    counted on 32 A would leave capacity unused. Rounded to the planner's 0.1 A step: up
    for the planner (31.8 A: a car planned at its maximum draws all of it, and a re-plan
    5 minutes later sees what it drew), down for the offline plan (31.7 A: one plan,
    never corrected, must not count on more than the car draws)."""
    exact = session.max_power_kw * 1000 / VOLTAGE * 10
    return min(32.0, (math.ceil(exact - 1e-9) if up else math.floor(exact + 1e-9)) / 10)


def _with_caps(session: Any, caps: tuple[Any, ...]) -> Any:
    from dataclasses import replace

    return replace(session, cap_windows=caps)


def run_one(kind: str, capacity_kw: float, sessions: Sequence[AcnSession],
            days: int, demand_charge_per_kw: float = 0.0) -> dict[str, Any]:
    """One simulation: the figures of ``kind`` at ``capacity_kw``."""
    import numpy as np
    from acnportal import acnsim
    from acnportal.signals.tariffs import TimeOfUseTariff

    times: list[float] = []
    cpu_times: list[float] = []  # process CPU: what a decision costs on a loaded machine
    note = ""
    extra: dict[str, Any] = {}
    maxima = {s.session_id: _max_current(s) for s in sessions}
    if kind in ("water_level", "planner"):
        algorithm = _algorithm(kind, capacity_kw, kind == "planner", times, cpu_times,
                               maxima)
    elif kind == "planner_demand_charge":
        charge = demand_charge_per_kw or TimeOfUseTariff(TARIFF).get_demand_charge(START)
        algorithm = _algorithm(kind, capacity_kw, True, times, cpu_times, maxima, charge)
    elif kind == "offline":
        began = time.perf_counter()
        algorithm, note, extra["planned_pct"] = _offline(sessions, capacity_kw, days)
        times.append(time.perf_counter() - began)
    else:
        algorithm = _baseline(kind)
    network = _network(capacity_kw)
    sim = acnsim.Simulator(network, algorithm, _events(sessions), START, period=PERIOD_MIN,
                           signals={"tariff": TimeOfUseTariff(TARIFF)}, verbose=False)
    if kind not in ("water_level", "planner", "planner_demand_charge", "offline"):
        original = algorithm.run

        def timed() -> Any:
            began = time.perf_counter()
            try:
                return original()
            finally:
                times.append(time.perf_counter() - began)

        algorithm.run = timed
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.run()
    rates = sim.charging_rates
    violations = sum(
        0 if network.is_feasible(rates[:, t:t + 1]) else 1 for t in range(rates.shape[1]))
    evs = list(sim.ev_history.values())
    served = sum(1 for ev in evs if ev.energy_delivered >= 0.99 * ev.requested_energy)
    # A car charged at its full rate to the end overshoots its request in its last period
    # (acnportal's battery takes it): counted up to each request, so that no algorithm
    # gains by energy nobody asked for.
    capped = sum(min(ev.energy_delivered, ev.requested_energy) for ev in evs)
    requested = sum(ev.requested_energy for ev in evs)
    power = acnsim.analysis.aggregate_power(sim)
    ms = sorted(t * 1000 for t in times)
    if cpu_times:
        cpu_ms = sorted(t * 1000 for t in cpu_times)
        extra["decision_cpu_p50_ms"] = round(_pct(cpu_ms, 0.5), 1)
        extra["decision_cpu_p95_ms"] = round(_pct(cpu_ms, 0.95), 1)
    return {
        "delivered_pct": round(100 * float(acnsim.analysis.proportion_of_energy_delivered(sim)), 2),
        "delivered_capped_pct": round(100 * capped / requested, 2) if requested else 0.0,
        "served_pct": round(100 * served / max(1, len(evs)), 1),
        "peak_kw": round(float(np.max(power)) if len(power) else 0.0, 1),
        "energy_cost": round(float(acnsim.analysis.energy_cost(sim)), 2),
        "decision_p50_ms": round(_pct(ms, 0.5), 1) if ms else None,
        "decision_p95_ms": round(_pct(ms, 0.95), 1) if ms else None,
        "violations": violations,
        **({"decided_by": note} if note else {}),
        **extra,
    }


def _pct(values: Sequence[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def scoreboard(days: int, capacities: Sequence[float],
               algorithms: Sequence[str] = ALGORITHMS) -> dict[str, dict[str, Any]]:
    """``"<algorithm>@<capacity>kW" -> figures`` for every pair."""
    sessions = load_sessions(days)
    return {
        f"{kind}@{capacity:g}kW": run_one(kind, capacity, sessions, days)
        for capacity in capacities for kind in algorithms
    }


def acn_outcome(days: int, capacities: Sequence[float]) -> Outcome:
    """The bench scenario: means over the capacities in the table, all figures kept."""
    from app.bench.scenarios import Outcome

    board = scoreboard(days, capacities)
    figures: dict[str, Any] = {}
    for kind in ("planner", "llf", "offline", "water_level"):
        values = [board[f"{kind}@{c:g}kW"]["delivered_pct"] for c in capacities]
        figures[f"{kind}_delivered_pct"] = round(sum(values) / len(values), 2)
    planner = [board[f"planner@{c:g}kW"] for c in capacities]
    figures["planner_decision_p50_ms"] = max(p["decision_p50_ms"] or 0 for p in planner)
    figures["planner_decision_p95_ms"] = max(p["decision_p95_ms"] or 0 for p in planner)
    figures["planner_decision_cpu_p95_ms"] = max(p["decision_cpu_p95_ms"] for p in planner)
    figures["violations"] = sum(v["violations"] for v in board.values())
    # SCE's demand charge on a transformer that does not bind (the published setup)
    sessions = load_sessions(days)
    board[f"{DEMAND_CHARGE}@{DEMAND_CHARGE_KW:g}kW"] = run_one(
        DEMAND_CHARGE, DEMAND_CHARGE_KW, sessions, days)
    for key, value in board.items():
        for name, figure in value.items():
            figures[f"{key}.{name}"] = figure
    return Outcome(figures)
