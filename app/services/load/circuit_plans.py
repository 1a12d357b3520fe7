"""Plan a circuit tree ahead in the live load manager.

After the water level has solved a tree (:meth:`CircuitService.allocation`), the tree is
planned with :func:`app.domain.planner.plan` (the rule ``chargeplan allocate`` runs)
when at least one of its sessions has a need to plan for (``NeedService.needs_of``: a
request, its id tag's default, its history or its circuit's default dwell). The site is
the water level's, to the letter: per-phase limits and their windows, ``max_power_w``,
``max_imbalance_a``, the margin, the other load, min-or-zero, each session's maximum,
demand cap and the other owners' caps. Prices are the day-ahead prices of the tariffs
that hold profiles on the tree's stations (the lowest tariff id with prices).

Slots are ``step_s`` long and aligned to the clock (multiples of ``step_s`` since the
epoch; the first runs from now to the next boundary), so two re-plans a minute apart
share their boundaries and a TxProfile is not sent again only because its periods moved.

Each need is planned to be met a slot before its departure (half the time left when
less is left) when the car could take it by then, so that what a charger's next reading
or a re-plan delays is not the car's last energy.

- The planner decided (``decided_by`` ``"planner"``): each session's share now and its
  periods are the plan's.
- Otherwise (no session has a need, planning is off, the solver failed, found no
  solution or ran out of ``time_limit_s``): the water level's answer stands, unchanged,
  and the plan says ``"water level: <why>"``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.db.engine import Database
from app.db.fleet_models import Tariff, TariffPrice
from app.db.models import DesiredProfile
from app.domain import planner
from app.domain import tariffs as tou
from app.domain.allocation import PHASES, Session, Site
from app.domain.live_plan import (
    LivePlan,
    PlannedSession,
    SlotCapacity,
    shortfall_reason,
    slot_capacity,
)
from app.domain.lp_highs import HighsSolver
from app.domain.needs import Need
from app.domain.ownership import OwnerKind
from app.services.load.circuits import SessionShare, TreeAllocation
from app.services.load.needs import NeedService

# A shortfall below this (kWh) is rounding, not a car falling short.
SHORTFALL_KWH = 0.05


def aligned_horizon(at: datetime, step_s: int, horizon_s: int) -> planner.Horizon:
    """Slots of ``step_s`` on the clock's grid: the first from ``at`` to the next multiple
    of ``step_s`` since the epoch (slots are whole seconds: up to a second after it when
    ``at`` has a fraction), then whole steps, over ``horizon_s``."""
    into = at.timestamp() % step_s
    first = math.ceil(step_s - into) if into > 1e-6 else 0
    first = 0 if first >= step_s else first
    if first:
        return planner.Horizon(step_s=step_s, horizon_s=horizon_s, fine_step_s=first,
                               fine_for_s=first)
    return planner.Horizon(step_s=step_s, horizon_s=horizon_s)


def reachable_a(site: Site, session: Session) -> float:
    """The most current per phase ``session`` could draw alone: its own maximum, within
    every circuit above it (its phases' ratings less margin and other load, its kW)."""
    amps = session.max_current_a
    by_id = {c.id: c for c in site.circuits}
    for circuit_id in site.ancestors(session.circuit):
        circuit = by_id[circuit_id]
        for phase in session.phases:
            p = PHASES.index(phase)
            amps = min(amps, circuit.max_current_a[p] - circuit.margin_a
                       - circuit.other_load_a[p])
        if circuit.max_power_w is not None:
            amps = min(amps, circuit.max_power_w / (site.supply_voltage_v
                                                    * len(session.phases)))
    return max(0.0, amps)


def deadline(site: Site, session: Session, at: datetime, departure: datetime,
             energy_kwh: float, step_s: int) -> datetime:
    """When the plan means to have delivered a need: a slot before the departure, or
    half the time left when less is left, if the car could take the energy by then at
    the most it can draw (its maximum within the circuits above it); else its departure.
    A charger takes a new limit at its next reading and a re-plan takes its time;
    planned to the last second, what they delay is the car's last energy. A car whose
    circuits cannot give it its need early keeps its last slot: planned short of it, it
    would lose that slot's energy too."""
    early = departure - min(timedelta(seconds=step_s), (departure - at) / 2)
    hours = max(0.0, (early - at).total_seconds() / 3600)
    most_kwh = (reachable_a(site, session) * site.supply_voltage_v * len(session.phases)
                * hours / 1000)
    return early if most_kwh >= energy_kwh else departure


def _as_much_as_it_takes(session: Session, at: datetime, departure: datetime,
                         voltage: float) -> float:
    """A need of "as much as it can take" by ``departure``: its maximum all the while."""
    hours = max(0.0, (departure - at).total_seconds() / 3600)
    return session.max_current_a * voltage * len(session.phases) * hours / 1000


class CircuitPlanner:
    def __init__(self, db: Database, needs: NeedService, *, enabled: bool, step_s: int,
                 horizon_s: int, time_limit_s: float) -> None:
        self._db = db
        self._needs = needs
        self._enabled = enabled
        self._step_s = step_s
        self._horizon_s = horizon_s
        self._time_limit_s = time_limit_s
        # Per root circuit, the solver of its re-plans (one at a time per tree): each
        # starts from the basis the last one ended on, so a re-plan that finds the last
        # plan still optimal keeps it rather than another of equal worth, and chargers
        # are not switched around for nothing.
        self._solvers: dict[str, HighsSolver] = {}

    async def plan(self, solved: TreeAllocation, *, replan: bool = False) -> TreeAllocation:
        """The tree's allocation with its plan (see the module docstring). ``replan``: the
        tree's own re-plan, which keeps its solver from one re-plan to the next."""
        site = solved.site
        if site is None or not solved.sessions:
            return solved
        at = solved.at
        needs = await self._needs.needs_of([s.transaction_id for s in solved.sessions])
        by_id = {s.id: s for s in site.sessions}
        wanted: dict[str, planner.Need] = {}
        for share in solved.sessions:
            need = needs.get(share.transaction_id)
            if need is None or not need.plan or need.departure is None:
                continue
            energy = need.remaining_kwh
            stated = energy is not None
            if energy is None:
                energy = _as_much_as_it_takes(by_id[str(share.transaction_id)], at,
                                              need.departure, site.supply_voltage_v)
            session = by_id[str(share.transaction_id)]
            wanted[str(share.transaction_id)] = planner.Need(
                energy, deadline(site, session, at, need.departure, energy, self._step_s),
                stated)
        if replan and not wanted:
            # Nothing to plan: the water level's answer as it is, with where each
            # session's need stands (a GET still draws the water level's timeline).
            return replace(solved, plan=_unplanned(solved, needs))
        stations = sorted({s.station_id for s in solved.sessions})
        horizon = aligned_horizon(at, self._step_s, self._horizon_s)
        request = planner.PlanRequest(
            site=site, at=at, needs=wanted if self._enabled else {},
            tariff=await self._tariff(stations, at, self._horizon_s), horizon=horizon,
            time_limit_s=self._time_limit_s)
        if request.needs:
            # HiGHS holds the CPU for up to time_limit_s: not on the event loop.
            solver = (self._solvers.setdefault(solved.root_id, HighsSolver()) if replan
                      else HighsSolver(warm=False))
            result = await asyncio.to_thread(planner.plan, request, solver)
        else:
            result = planner.plan(request)
        decided_by = result.decided_by
        if wanted and not self._enabled:
            decided_by = "water level: planning is off (CHARGEPLAN_CIRCUIT_PLANNING)"
        live = self._live(solved, request, result, needs, decided_by)
        if decided_by != "planner":
            return replace(solved, plan=live)
        shares = tuple(self._planned_share(s, result.sessions[str(s.transaction_id)],
                                           by_id[str(s.transaction_id)], at)
                       for s in solved.sessions)
        periods = {s.transaction_id: result.sessions[str(s.transaction_id)].periods
                   for s in solved.sessions}
        return replace(solved, sessions=shares, periods=periods, plan=live)

    @staticmethod
    def _planned_share(share: SessionShare, planned: planner.SessionPlan, session: Session,
                       at: datetime) -> SessionShare:
        """The share the plan gives now, bound by: a cap window in force (an external
        limit, another owner's profile: named by its source) or the session's own cap
        when the plan reaches it, else the plan."""
        cap = min(x for x in (share.max_current_a, share.demand_cap_a) if x is not None)
        window = session.cap_window_at(at)
        if window is not None and window.max_current_a <= cap and (
                planned.limit_a >= window.max_current_a - 0.05):
            binding = window.source
        else:
            binding = "cap" if planned.limit_a >= cap - 0.05 else "plan"
        limit = replace(share.share, limit_a=planned.limit_a, binding=binding,
                        admitted=planned.limit_a > 0 or share.share.admitted)
        return replace(share, share=limit)

    def _live(self, solved: TreeAllocation, request: planner.PlanRequest,
              result: planner.Plan, needs: Mapping[int, Need], decided_by: str) -> LivePlan:
        site = request.site
        slots = result.slots
        capacity = slot_capacity(site, request.at, slots)
        tariff = request.tariff
        prices = tuple(
            tariff.price_over(request.at + timedelta(seconds=start),
                              request.at + timedelta(seconds=start + length))
            if tariff.prices else None for start, length in slots)
        index = {s.id: i for i, s in enumerate(site.sessions)}
        sessions: dict[int, PlannedSession] = {}
        for share in solved.sessions:
            key = str(share.transaction_id)
            need = needs.get(share.transaction_id)
            wanted = request.needs.get(key)
            planned = result.sessions[key]
            reason = None
            if (wanted is not None and planned.shortfall_kwh is not None
                    and planned.shortfall_kwh > SHORTFALL_KWH):
                reason = shortfall_reason(site, request.at, slots, result.currents, key,
                                          wanted.departure, capacity)
            sessions[share.transaction_id] = PlannedSession(
                transaction_id=share.transaction_id,
                need_source=str(need.source) if need is not None else "none",
                plans=wanted is not None,
                energy_kwh=None if wanted is None else round(wanted.energy_kwh, 3),
                departure=None if need is None else need.departure,
                planned_kwh=planned.planned_kwh if wanted is not None else None,
                # Below SHORTFALL_KWH it is rounding: none, as its missing reason says.
                shortfall_kwh=None if wanted is None else (
                    planned.shortfall_kwh if reason is not None else 0.0),
                shortfall_reason=reason,
                currents_a=tuple(row[index[key]] for row in result.currents))
        return LivePlan(request.at, decided_by, tuple(slots), prices, capacity, sessions,
                        result.planned_cost, result.planned_peak_kw)

    async def _tariff(self, station_ids: Sequence[str], at: datetime,
                      horizon_s: int) -> planner.Tariff:
        """The prices of the tariffs holding profiles on the stations: the lowest tariff
        id that has day-ahead prices over the horizon."""
        async with self._db.uow() as session:
            owners = set((await session.scalars(
                select(DesiredProfile.owner_id).distinct().where(
                    DesiredProfile.station_id.in_(station_ids),
                    DesiredProfile.owner_kind == OwnerKind.TARIFF))).all())
            if not owners:
                return planner.Tariff()
            tariffs = [t for t in (await session.scalars(
                select(Tariff).where(Tariff.enabled.is_(True)).order_by(Tariff.id))).all()
                if str(t.id) in owners]
            end = at + timedelta(seconds=horizon_s)
            for tariff in tariffs:
                zone = tou.zone(tariff.timezone)
                first = at.astimezone(zone).date() - timedelta(days=1)
                days = [(first + timedelta(days=n)).isoformat()
                        for n in range((end - at).days + 3)]
                rows = (await session.scalars(select(TariffPrice).where(
                    TariffPrice.tariff_id == tariff.id, TariffPrice.date.in_(days)))).all()
                periods = [p for row in rows
                           for p in _hourly(date.fromisoformat(row.date), row.prices, zone)
                           if p.end > at and p.start < end]
                if periods:
                    return planner.Tariff(tuple(sorted(periods, key=lambda p: p.start)))
        return planner.Tariff()


def _unplanned(solved: TreeAllocation, needs: Mapping[int, Need]) -> LivePlan:
    """A tree none of whose sessions has a need to plan for, without its timeline."""
    sessions = {
        s.transaction_id: PlannedSession(
            transaction_id=s.transaction_id,
            need_source=str(needs[s.transaction_id].source) if s.transaction_id in needs
            else "none",
            plans=False, energy_kwh=None,
            departure=needs[s.transaction_id].departure if s.transaction_id in needs
            else None,
            planned_kwh=None, shortfall_kwh=None, shortfall_reason=None, currents_a=())
        for s in solved.sessions}
    return LivePlan(solved.at, "water level: no session has needs", (), (),
                    SlotCapacity({}, {}), sessions, 0.0, 0.0)


def _hourly(day: date, prices: Sequence[float], zone: ZoneInfo
            ) -> list[planner.PricePeriod]:
    """A local day's hourly prices as UTC periods (elapsed hours from local midnight)."""
    midnight = tou.local_midnight(day, zone)
    return [planner.PricePeriod(midnight + timedelta(hours=h),
                                midnight + timedelta(hours=h + 1), float(price))
            for h, price in enumerate(prices) if math.isfinite(price)]
