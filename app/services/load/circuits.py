"""Circuits: the electrical tree stations hang from, and its allocation among live sessions.

A circuit's unmanaged load comes from a measurement pushed by an outside meter or energy
manager (``put_measurement``); a measurement older than the circuit's ``stale_after_s``
falls back to its configured worst case, so a silent meter never frees capacity (fail
closed). The allocation solves the whole tree a circuit belongs to with
:func:`app.domain.allocation.allocate`: every transaction running on a station assigned
to a circuit of the tree is a session.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock, utcnow
from app.db.batching import chunks
from app.db.circuit_models import Circuit
from app.db.engine import Database
from app.db.models import Connector, DesiredProfile, MeterValue, Station, Transaction
from app.domain import allocation as rule
from app.domain import arrival, demand
from app.domain.circuit_profiles import amps_at, in_force_since
from app.domain.composite import Convention
from app.domain.installation import InstalledProfile
from app.domain.live_plan import LivePlan, held_during
from app.domain.needs import session_bounds
from app.domain.ownership import SESSION_ANSWERS, OwnerKind
from app.domain.phase_currents import phase_totals
from app.domain.profiles import ChargingRateUnit, format_datetime, parse_datetime
from app.domain.states import DeliveryState
from app.json_types import JsonObject
from app.services.delivery.profiles_store import as_installed
from app.services.delivery.smart_charging import SmartChargingService, Snapshot
from app.services.delivery.station_view import station_views
from app.services.errors import Conflict, Invalid, NotFound
from app.services.load.ev_needs import ev_current_bounds
from app.services.load.external_limits import with_external_caps

# What other owners' profiles allow leaves out chargeplan's own answers for the sessions.
_ANSWERS = sorted(kind.value for kind in SESSION_ANSWERS)

# Solves of one re-plan that move a charger's excess over its limit to the limit the
# solve gives it, and the change in A that is close enough.
EXCESS_SOLVES = 5
EXCESS_TOLERANCE_A = 0.1

# How long a node trusts its map of meter connectors before reading it again.
METER_MAP_TTL_S = 30.0
# A phase drawing less than this is taken as unused (a single-phase car on a 3-phase station).
IDLE_PHASE_A = 1.0
# Per-phase currents older than this do not decide which phases a session draws on.
PHASE_SAMPLE_MAX_AGE = timedelta(minutes=10)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    max_current_a: tuple[float, float, float]
    max_power_w: float | None = None

    def to_json(self) -> JsonObject:
        data: JsonObject = {
            "from": format_datetime(self.start),
            "to": format_datetime(self.end),
            "max_current_a": list(self.max_current_a),
        }
        if self.max_power_w is not None:
            data["max_power_w"] = self.max_power_w
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Window:
        power = data.get("max_power_w")
        a, b, c = data["max_current_a"]
        return cls(parse_datetime(data["from"]), parse_datetime(data["to"]),
                   (float(a), float(b), float(c)), None if power is None else float(power))


def check_windows(windows: Sequence[Window], field: str = "limits") -> None:
    for index, window in enumerate(windows):
        if window.end <= window.start:
            raise Invalid(f"{field}[{index}].to", "must be later than from")


@dataclass(frozen=True)
class SessionShare:
    """One running transaction's place in the solve."""

    transaction_id: int
    station_id: str
    connector_id: int
    circuit_id: str
    phases: tuple[str, ...]
    min_current_a: float
    max_current_a: float
    demand_cap_a: float | None
    over_limit: bool
    share: rule.SessionLimit


@dataclass(frozen=True)
class CircuitState:
    circuit: Circuit
    other_load_a: tuple[float, float, float]
    other_load_source: str  # "measured" or "worst_case"
    load: rule.CircuitLoad


@dataclass(frozen=True)
class TreeAllocation:
    """The solve of one tree at ``at``: every circuit of it and every session below."""

    at: datetime
    root_id: str
    circuits: tuple[CircuitState, ...]
    sessions: tuple[SessionShare, ...]
    # With a horizon: per transaction id, its limits from ``at`` on.
    periods: Mapping[int, tuple[rule.Period, ...]] = field(default_factory=dict)
    # Every station of the tree and the safe share it falls back to (None: no circuit
    # above it counts connectors).
    safe_shares: Mapping[str, float | None] = field(default_factory=dict)
    # What the solve was made of, and every station of the tree as a place a car may
    # arrive at (for :func:`app.domain.arrival.allowances`).
    site: rule.Site | None = None
    arrival_stations: tuple[arrival.ArrivalStation, ...] = ()
    # The tree's plan ahead (app.services.load.circuit_plans); None when nothing planned it.
    plan: LivePlan | None = None


class CircuitService:
    def __init__(self, db: Database, *, voltage: float, min_current_a: float,
                 default_max_current_a: float, clock: Clock = utcnow,
                 smart_charging: SmartChargingService | None = None) -> None:
        self._db = db
        # Reads what other owners' profiles allow each connector (None: nothing caps).
        self._smart_charging = smart_charging
        self._voltage = voltage
        self._min_current_a = min_current_a
        self._default_max_current_a = default_max_current_a
        self._clock = clock
        # Per running transaction, its unused-capacity cap between solves (this process).
        self._demand: dict[int, demand.DemandState] = {}
        self._over: set[int] = set()  # transactions whose charger ignores its limit
        # Per running transaction, the limit its circuit profile holds it to and since
        # when that value holds (a re-send of the same value does not restart it).
        self._held: dict[int, demand.HeldLimit] = {}
        # (station, connector) -> circuit it meters; reloaded after a change here, and
        # after METER_MAP_TTL_S for changes made by another node.
        self._meters: dict[tuple[str, int], str] | None = None
        self._meters_read: datetime | None = None
        # One read at a time: the stations that report together after a start or a
        # change wait for one query rather than each sending its own.
        self._meters_lock = asyncio.Lock()

    # --- the registry ----------------------------------------------------------------

    async def roots(self, station_ids: Sequence[str] | None = None) -> list[str]:
        """The root circuits of the listed stations (of every tree when None)."""
        async with self._db.uow() as session:
            parents = dict((await session.execute(select(Circuit.id, Circuit.parent_id))).all())
            if station_ids is None:
                return sorted(c for c, parent in parents.items() if parent is None)
            assigned: set[str] = set()
            # A plan fanned out to a fleet lists every station it touched; with no circuit
            # at all there is nothing to look up.
            for batch in chunks(station_ids) if parents else ():
                assigned.update(c for c in (await session.scalars(
                    select(Station.circuit_id).where(Station.id.in_(batch),
                                                     Station.circuit_id.is_not(None)))).all()
                                if c is not None)
        return sorted({_chain(parents, c)[-1] for c in assigned if c in parents})

    async def root_of(self, circuit_id: str) -> str:
        """The root of the tree holding the circuit (itself for an unknown one)."""
        async with self._db.uow() as session:
            parents = dict((await session.execute(select(Circuit.id, Circuit.parent_id))).all())
        return _chain(parents, circuit_id)[-1]

    async def list_all(self) -> list[Circuit]:
        async with self._db.uow() as session:
            return list((await session.scalars(select(Circuit).order_by(Circuit.id))).all())

    async def get(self, circuit_id: str) -> Circuit:
        async with self._db.uow() as session:
            circuit = await session.get(Circuit, circuit_id)
            if circuit is None:
                raise NotFound("circuit", circuit_id)
            return circuit

    async def create(self, values: Mapping[str, Any]) -> Circuit:
        _check_meter(values.get("meter_station_id"), values.get("meter_connector_id"))
        self._meters = None
        circuit_id = str(values["id"])
        now = self._clock()
        async with self._db.uow() as session:
            if await session.get(Circuit, circuit_id) is not None:
                raise Conflict(f"circuit {circuit_id!r} already exists")
            parent = values.get("parent_id")
            if parent is not None and await session.get(Circuit, parent) is None:
                raise Invalid("parent_id", f"no circuit has id {parent!r}")
            session.add(Circuit(
                id=circuit_id,
                parent_id=parent,
                max_current_a=list(values["max_current_a"]),
                max_power_w=values.get("max_power_w"),
                max_imbalance_a=values.get("max_imbalance_a"),
                margin_a=values.get("margin_a", 0.0),
                connector_count=values.get("connector_count"),
                limits=[w.to_json() for w in values.get("limits", ())],
                worst_case_other_load_a=list(values.get("worst_case_other_load_a",
                                                        (0.0, 0.0, 0.0))),
                stale_after_s=values.get("stale_after_s", 300),
                meter_station_id=values.get("meter_station_id"),
                meter_connector_id=values.get("meter_connector_id"),
                default_dwell_s=values.get("default_dwell_s"),
                created_at=now,
                updated_at=now,
            ))
        return await self.get(circuit_id)

    async def update(self, circuit_id: str, changes: Mapping[str, Any]) -> Circuit:
        values = dict(changes)
        if "limits" in values:
            values["limits"] = [w.to_json() for w in values["limits"]]
        for key in ("max_current_a", "worst_case_other_load_a"):
            if key in values:
                values[key] = list(values[key])
        async with self._db.uow() as session:
            row = await session.get(Circuit, circuit_id)
            if row is None:
                raise NotFound("circuit", circuit_id)
            _check_meter(values.get("meter_station_id", row.meter_station_id),
                         values.get("meter_connector_id", row.meter_connector_id))
            self._meters = None
            if values.get("parent_id") is not None:
                await self._check_parent(session, circuit_id, values["parent_id"])
            values["updated_at"] = self._clock()
            await session.execute(update(Circuit).where(Circuit.id == circuit_id).values(**values))
        return await self.get(circuit_id)

    @staticmethod
    async def _check_parent(session: AsyncSession, circuit_id: str, parent_id: str) -> None:
        parents = dict((await session.execute(select(Circuit.id, Circuit.parent_id))).all())
        if parent_id not in parents:
            raise Invalid("parent_id", f"no circuit has id {parent_id!r}")
        node: str | None = parent_id
        while node is not None:
            if node == circuit_id:
                raise Invalid("parent_id", "would put the circuit below itself")
            node = parents.get(node)

    async def delete(self, circuit_id: str) -> list[str]:
        """Delete a leaf circuit; the stations that hung from it (now on none)."""
        async with self._db.uow() as session:
            circuit = await session.get(Circuit, circuit_id)
            if circuit is None:
                raise NotFound("circuit", circuit_id)
            children = await session.scalar(
                select(func.count()).select_from(Circuit).where(Circuit.parent_id == circuit_id))
            if children:
                raise Conflict(f"circuit {circuit_id!r} has {children} circuit(s) below it: "
                               "move or delete them first")
            unassigned = list((await session.scalars(
                update(Station).where(Station.circuit_id == circuit_id).values(circuit_id=None)
                .returning(Station.id))).all())
            await session.delete(circuit)
        self._meters = None
        return sorted(unassigned)

    async def put_limits(self, circuit_id: str, windows: Sequence[Window]) -> Circuit:
        check_windows(windows)
        ordered = sorted(windows, key=lambda w: (w.start, w.end))
        return await self.update(circuit_id, {"limits": ordered})

    async def put_measurement(self, circuit_id: str, other_load_a: Sequence[float]) -> Circuit:
        """The circuit's unmanaged load per phase, measured now."""
        now = self._clock()
        async with self._db.uow() as session:
            found = await session.execute(
                update(Circuit).where(Circuit.id == circuit_id)
                .values(measured_other_load_a=list(other_load_a), measured_at=now))
            if found.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound("circuit", circuit_id)
        return await self.get(circuit_id)

    async def meter_sample(self, station_id: str, connector_id: int,
                           meter_value: Sequence[Mapping[str, Any]]) -> str | None:
        """A MeterValues of a connector that meters a circuit: its latest per-phase
        Current.Import become that circuit's total. The circuit's id, or None when the
        connector meters no circuit or the sample lacks a phase."""
        circuit_id = (await self._meter_map()).get((station_id, connector_id))
        if circuit_id is None:
            return None
        total = phase_totals(meter_value)
        if total is None:
            return None
        await self.put_total_measurement(circuit_id, total)
        return circuit_id

    async def _meter_map(self) -> dict[tuple[str, int], str]:
        meters = self._fresh_meters()
        if meters is not None:
            return meters
        async with self._meters_lock:
            meters = self._fresh_meters()
            if meters is not None:  # read while this one waited
                return meters
            now = self._clock()
            async with self._db.uow() as session:
                rows = (await session.execute(
                    select(Circuit.meter_station_id, Circuit.meter_connector_id, Circuit.id)
                    .where(Circuit.meter_station_id.is_not(None)))).all()
            meters = {(s, c): cid for s, c, cid in rows if s is not None and c is not None}
            self._meters, self._meters_read = meters, now
            return meters

    def _fresh_meters(self) -> dict[tuple[str, int], str] | None:
        read = self._meters_read
        if self._meters is None or read is None \
                or self._clock() - read > timedelta(seconds=METER_MAP_TTL_S):
            return None
        return self._meters

    async def put_total_measurement(self, circuit_id: str, total_a: Sequence[float]) -> Circuit:
        """The circuit meter's total per phase: the managed sessions' draw is taken out."""
        drawn = await self._session_draw(circuit_id)
        other = [max(0.0, total_a[p] - drawn[p]) for p in range(3)]
        return await self.put_measurement(circuit_id, other)

    # --- the solve -------------------------------------------------------------------

    def other_load(self, circuit: Circuit, now: datetime) -> tuple[tuple[float, float, float], str]:
        """What the circuit carries besides its sessions, and whether it was measured."""
        fresh = (
            circuit.measured_other_load_a is not None
            and circuit.measured_at is not None
            and now - circuit.measured_at <= timedelta(seconds=circuit.stale_after_s)
        )
        values = circuit.measured_other_load_a if fresh else circuit.worst_case_other_load_a
        assert values is not None
        return _triple(values), "measured" if fresh else "worst_case"

    async def allocation(self, circuit_id: str, at: datetime | None = None,
                         horizon_s: int | None = None) -> TreeAllocation:
        """Solve the tree ``circuit_id`` belongs to, at ``at`` (default now), and with
        ``horizon_s`` at every limit window boundary until then."""
        now = self._clock()
        at = at or now
        async with self._db.uow() as session:
            circuits = {c.id: c for c in (await session.scalars(select(Circuit))).all()}
            if circuit_id not in circuits:
                raise NotFound("circuit", circuit_id)
            tree = _tree_of(circuits, circuit_id)
            stations = {
                s.id: s for s in (await session.scalars(
                    select(Station).where(Station.circuit_id.in_(tree))
                    .order_by(Station.id))).all()
            }
            running = list((await session.scalars(
                select(Transaction)
                .where(Transaction.station_id.in_(stations), Transaction.stopped_at.is_(None))
                .order_by(Transaction.id))).all())
            samples = await _phase_samples(session, [t.id for t in running], now)
            caps, excess = await self._demand_caps(session, running, samples, now)
            # The currents each car said it takes (OCPP 2.0.1 NotifyEVChargingNeeds).
            ev_bounds = await ev_current_bounds(session, [t.id for t in running])
            views = await station_views(session, list(stations))
        drawn = {tx_id: found[-1][1] for tx_id, found in samples.items()}
        window_s = max(horizon_s or 0, 60)
        outside = await self._outside_caps(running, at, window_s)
        # Limits set outside chargeplan (OCPP 2.0.1 K12) cap their sessions the same way.
        outside = await with_external_caps(self._db, outside, running, at, window_s,
                                           self._voltage)
        arriving = await self._arrival_caps(list(stations), at, window_s)
        base = {c: self.other_load(circuits[c], now) for c in tree}
        parents = {c.id: c.parent_id for c in circuits.values()}

        def site_with(excess: Mapping[int, Mapping[str, float]]
                      ) -> tuple[rule.Site, dict[str, tuple[rule.PhaseValues, str]]]:
            # OCPP trust but verify: what a charger draws beyond its limit is other load
            # of every circuit above it in this solve.
            states = dict(base)
            for tx in running:
                station = stations[tx.station_id]
                mapping = rule.PHASE_ROTATIONS[station.phase_rotation]
                for phase, amps in excess.get(tx.id, {}).items():
                    for c in _chain(parents, station.circuit_id or ""):
                        other = list(states[c][0])
                        other[mapping[int(phase[1]) - 1]] += amps
                        states[c] = (_triple(other), states[c][1])
            return rule.Site(
                circuits=tuple(_domain_circuit(circuits[c], states[c][0]) for c in tree),
                sessions=tuple(self._domain_session(t, stations[t.station_id],
                                                    drawn.get(t.id), caps.get(t.id),
                                                    outside.get(t.id, ()),
                                                    ev_bounds.get(t.id, (None, None)))
                               for t in running),
                supply_voltage_v=self._voltage,
            ), states

        site, states = site_with(excess)
        solved = rule.allocate(site, at)
        # A charger that ignores its limit draws the same whatever this solve gives it, so
        # its excess is over the limit this solve gives, not over the one it holds now.
        # Taken over the one it holds, each re-plan moves only part of the way there (a
        # quarter when four share a line), and the circuit never looks settled; a few
        # solves here reach the fixed point at once.
        for _ in range(EXCESS_SOLVES):
            again = {tx: {p: max(0.0, a - solved.sessions[str(tx)].limit_a)
                          for p, a in drawn.get(tx, {}).items()} for tx in excess}
            if all(abs(again[tx].get(p, 0.0) - excess[tx].get(p, 0.0)) < EXCESS_TOLERANCE_A
                   for tx in excess for p in {*again[tx], *excess[tx]}):
                break
            excess = again
            site, states = site_with(excess)
            solved = rule.allocate(site, at)
        if horizon_s:
            solved, timeline = rule.timeline(site, at, horizon_s)
            periods = {int(k): v for k, v in timeline.items()}
        else:
            periods = {}
        per_circuit = rule.circuit_shares(site, at)
        safe = {sid: rule.safe_share(per_circuit[s.circuit_id or ""], self._min_current_a)
                for sid, s in stations.items()}
        by_id = {s.id: s for s in site.sessions}
        on_station: dict[str, list[str]] = {}
        for t in running:
            on_station.setdefault(t.station_id, []).append(str(t.id))
        places = tuple(
            arrival.ArrivalStation(
                id=sid, circuit=s.circuit_id or "",
                connectors=views[sid].number_of_connectors if sid in views else 1,
                sessions=tuple(on_station.get(sid, ())),
                max_current_a=min(x for x in (s.max_current_a or self._default_max_current_a,
                                              safe[sid], arriving.get(sid)) if x is not None))
            for sid, s in stations.items())
        shares = tuple(
            SessionShare(
                transaction_id=t.id,
                station_id=t.station_id,
                connector_id=t.connector_id,
                circuit_id=by_id[str(t.id)].circuit,
                phases=by_id[str(t.id)].phases,
                min_current_a=by_id[str(t.id)].min_current_a,
                max_current_a=by_id[str(t.id)].max_current_a,
                demand_cap_a=by_id[str(t.id)].demand_cap_a,
                over_limit=t.id in excess,
                share=solved.sessions[str(t.id)],
            )
            for t in running
        )
        return TreeAllocation(
            at=at,
            root_id=tree[0],
            circuits=tuple(
                CircuitState(circuits[c], states[c][0], states[c][1], solved.circuits[c])
                for c in tree
            ),
            sessions=shares,
            periods=periods,
            safe_shares=safe,
            site=site,
            arrival_stations=places,
        )

    async def _demand_caps(self, session: AsyncSession, running: Sequence[Transaction],
                           samples: Mapping[int, list[tuple[datetime, dict[str, float]]]],
                           now: datetime
                           ) -> tuple[dict[int, float | None], dict[int, dict[str, float]]]:
        """Unused capacity (:func:`app.domain.demand.demand_cap`) of each session: its
        draws since the limit its circuit profile gives now last changed value
        (:func:`~app.domain.demand.held_limit`: a draw from before answered another
        limit; a lease renewal re-sending the same value changes nothing), and
        SuspendedEV. Also, per session whose charger ignores its limit
        (:func:`~app.domain.demand.over_limit`), what it draws beyond it per station
        phase."""
        if not running:
            return {}, {}
        ids = [t.id for t in running]
        rows = (await session.execute(
            select(DesiredProfile.transaction_id, DesiredProfile.profile,
                   DesiredProfile.state, DesiredProfile.updated_at).where(
                DesiredProfile.owner_kind == OwnerKind.CIRCUIT,
                DesiredProfile.transaction_id.in_(ids)))).all()
        profiles = {tx_id: profile for tx_id, profile, _, _ in rows}
        # When each charger acknowledged its profile (the answer's record updates the row).
        acked = {tx_id: at for tx_id, _, state, at in rows if state == DeliveryState.ACCEPTED}
        statuses = {(c.station_id, c.connector_id): c.status for c in (await session.scalars(
            select(Connector).where(Connector.station_id.in_({t.station_id for t in running}))
        )).all()}
        caps: dict[int, float | None] = {}
        excess: dict[int, dict[str, float]] = {}
        for tx in running:
            profile = profiles.get(tx.id)
            held: demand.HeldLimit | None = None
            if profile is not None:
                limit = amps_at(profile, now, self._voltage)
                acked_at = acked.get(tx.id)
                held = demand.held_limit(
                    self._held.get(tx.id), limit,
                    None if acked_at is None else max(in_force_since(profile, now), acked_at))
                if held is None:
                    self._held.pop(tx.id, None)
                else:
                    self._held[tx.id] = held
                since = [s for ts, s in samples.get(tx.id, [])
                         if held is not None and ts >= held.since]
                latest = samples[tx.id][-1][1] if samples.get(tx.id) else {}
                # Flagged, it stays flagged while it still overshoots (its own limit may
                # move meanwhile, which restarts the count of samples).
                still = (tx.id in self._over and max(latest.values(), default=0.0)
                         > limit + demand.OVER_LIMIT_TOLERANCE_A)
                if still or demand.over_limit([max(s.values(), default=0.0) for s in since],
                                            limit):
                    excess[tx.id] = {p: max(0.0, a - limit) for p, a in latest.items()}
                    self._over.add(tx.id)
                else:
                    self._over.discard(tx.id)
            state = self._demand.get(tx.id, demand.DemandState())
            # Draws from before the limit now in force answered another one.
            if state.cap is None and held is not None and (
                    state.since is None or held.since > state.since):
                state = demand.DemandState(None, held.since)
            draws = [(ts, max(sample.values(), default=0.0))
                     for ts, sample in samples.get(tx.id, [])
                     if profile is None or held is not None]
            state = demand.next_demand(
                state, draws, None if profile is None else amps_at(profile, now, self._voltage),
                statuses.get((tx.station_id, tx.connector_id)) == "SuspendedEV", now)
            self._demand[tx.id] = state
            caps[tx.id] = state.cap
        return caps, excess

    @property
    def min_current_a(self) -> float:
        return self._min_current_a

    def arrival_allowances(self, solved: TreeAllocation, until: datetime
                           ) -> dict[str, float]:
        """Per station of the solved tree, what a car arriving there may draw until its own
        share comes, over [solved.at, until) (:func:`app.domain.arrival.allowances`)."""
        if solved.site is None:
            return {}
        if solved.plan is None or solved.plan.decided_by != "planner":
            return arrival.allowances(solved.site, solved.arrival_stations, solved.at, until,
                                      self._min_current_a)
        # Planned: each session at the most its plan gives it before ``until``.
        held = held_during(solved.plan, solved.site, until)
        span = max(1, math.ceil((until - solved.at).total_seconds()))
        lowest: dict[str, float] = {}
        for instant in rule.breakpoints(solved.site, solved.at, span):
            for station_id, amps in arrival.allowances_at(
                    solved.site, held, solved.arrival_stations, instant,
                    self._min_current_a).items():
                lowest[station_id] = min(amps, lowest.get(station_id, amps))
        return lowest

    def forget_sessions(self, transaction_ids: Sequence[int]) -> None:
        """Ended transactions: their unused-capacity state goes."""
        for tx_id in transaction_ids:
            self._demand.pop(tx_id, None)
            self._held.pop(tx_id, None)
            self._over.discard(tx_id)

    async def _outside_caps(self, running: Sequence[Transaction], at: datetime,
                            duration_s: int) -> dict[int, tuple[rule.CapWindow, ...]]:
        """Per running transaction, what the other owners' desired profiles (manual,
        plans, tariffs, remote starts, ...) allow its connector from ``at``: the composite
        of the station's desired profiles without chargeplan's own answers for sessions
        (the circuit's, the TxProfile offered to a car before a circuit planned it), in A."""
        windows = await self._other_owners_windows(
            {(t.station_id, t.connector_id) for t in running}, at, duration_s)
        return {t.id: windows[(t.station_id, t.connector_id)] for t in running
                if (t.station_id, t.connector_id) in windows}

    async def _arrival_caps(self, station_ids: Sequence[str], at: datetime,
                            duration_s: int) -> dict[str, float]:
        """Per station, the least that the other owners' desired profiles allow a car
        arriving at any of its connectors over ``duration_s`` from ``at``. The circuit's
        arrival allowance is a TxDefaultProfile at the circuit's stack level, which hides
        another owner's lower TxDefaultProfile of the same connector (OCPP 1.6 §3.13.1:
        within a purpose the highest stack level prevails), so it must carry that limit
        itself. Stations whose desired profiles are all the circuit's are not read."""
        if self._smart_charging is None or not station_ids:
            return {}
        async with self._db.uow() as session:
            owned = (await session.scalars(
                select(DesiredProfile.station_id).where(
                    DesiredProfile.station_id.in_(station_ids),
                    DesiredProfile.owner_kind.not_in(_ANSWERS)).distinct())).all()
        if not owned:
            return {}
        snapshots = await self._smart_charging.snapshots(sorted(owned), from_desired=True)
        places = {(sid, c) for sid in owned if sid in snapshots
                  for c in range(1, snapshots[sid].view.number_of_connectors + 1)}
        windows = await self._other_owners_windows(places, at, duration_s,
                                                   snapshots=snapshots, fill_unbounded=False,
                                                   name_sources=False)
        caps: dict[str, float] = {}
        for (sid, _), found in windows.items():
            for window in found:
                caps[sid] = min(caps.get(sid, math.inf), window.max_current_a)
        return caps

    async def _other_owners_windows(
        self, places: set[tuple[str, int]], at: datetime, duration_s: int, *,
        snapshots: Mapping[str, Any] | None = None, fill_unbounded: bool = True,
        name_sources: bool = True,
    ) -> dict[tuple[str, int], tuple[rule.CapWindow, ...]]:
        """Per (station, connector), the composite of the station's desired profiles
        without chargeplan's own answers for sessions, in A, from ``at`` for
        ``duration_s``. Where none of them bounds the connector the window holds the
        strict composite's fill value (48 A, or the station maximum), or is left out
        without ``fill_unbounded``."""
        if self._smart_charging is None or not places:
            return {}
        stations = sorted({sid for sid, _ in places})
        if snapshots is None:
            snapshots = await self._smart_charging.snapshots(stations, from_desired=True)
        async with self._db.uow() as session:
            rows = (await session.scalars(
                select(DesiredProfile).where(DesiredProfile.station_id.in_(stations),
                                             DesiredProfile.owner_kind.not_in(_ANSWERS))
                .order_by(DesiredProfile.id))).all()
        others: dict[str, list[tuple[DesiredProfile, InstalledProfile]]] = {
            s: [] for s in stations}
        for row in rows:
            others[row.station_id].append((row, as_installed(row.connector_id, row.profile)))
        end = at + timedelta(seconds=duration_s)
        found: dict[tuple[str, int], tuple[rule.CapWindow, ...]] = {}
        for station_id, connector_id in sorted(places):
            snap = snapshots.get(station_id)
            if snap is None:
                continue
            own = others[station_id]
            periods = self._limits(snap, [i for _, i in own], connector_id, at, duration_s,
                                   fill_unbounded)
            starts = [t for t, _ in periods] + [end]
            if not name_sources:
                found[(station_id, connector_id)] = tuple(
                    rule.CapWindow(starts[i], starts[i + 1], limit)
                    for i, (_, limit) in enumerate(periods) if limit is not None)
                continue
            # The profile that sets each period's cap: the one whose own limit then is it.
            alone = [(row, self._limits(snap, [installed], connector_id, at, duration_s,
                                        fill_unbounded))
                     for row, installed in own if row.connector_id in (0, connector_id)]
            found[(station_id, connector_id)] = tuple(
                rule.CapWindow(starts[i], starts[i + 1], limit,
                               _source(alone, starts[i], limit))
                for i, (_, limit) in enumerate(periods) if limit is not None)
        return found

    def _limits(self, snap: Snapshot, installed: Sequence[InstalledProfile],
                connector_id: int, at: datetime, duration_s: int, fill_unbounded: bool = True
                ) -> list[tuple[datetime, float | None]]:
        """(start, limit in A) of each period of the connector's strict composite of
        ``installed`` on the station of ``snap``. Where none of them bounds the connector
        the limit is the composite's fill value (48 A, or the station maximum), or None
        without ``fill_unbounded``."""
        assert self._smart_charging is not None
        answer = self._smart_charging.answer_of(
            replace(snap, installed=tuple(installed)), connector_id, at, duration_s,
            ChargingRateUnit.A, Convention.STRICT)
        return [(at + timedelta(seconds=p.start),
                 p.limit if p.limit is not None else answer.fill if fill_unbounded else None)
                for p in answer.periods]

    def _domain_session(self, tx: Transaction, station: Station,
                        currents: Mapping[str, float] | None,
                        demand_cap_a: float | None = None,
                        cap_windows: tuple[rule.CapWindow, ...] = (),
                        ev_bounds: tuple[float | None, float | None] = (None, None)
                        ) -> rule.Session:
        assert station.circuit_id is not None
        maximum = station.max_current_a or self._default_max_current_a
        low, high = session_bounds(self._min_current_a, max(maximum, self._min_current_a),
                                   *ev_bounds)
        return rule.Session(
            id=str(tx.id),
            circuit=station.circuit_id,
            phases=rule.grid_phases(station.phase_rotation, _station_phases(currents)),
            min_current_a=low,
            max_current_a=high,
            demand_cap_a=demand_cap_a,
            plugged_in_at=tx.started_at,
            cap_windows=cap_windows,
        )

    async def _session_draw(self, circuit_id: str) -> list[float]:
        """What the sessions below ``circuit_id`` draw now per grid phase, as far as their
        meters show it. What this leaves out stays in the circuit's other load (fail
        closed: an over-estimated other load frees nothing):

        - a session's latest per-phase sample counts only if it is no older than the
          circuit's ``stale_after_s``, the age past which a measurement is no longer
          current: a car that drew 20 A minutes ago may draw nothing now;
        - and at most the limit its circuit profile holds it to now: a sample taken before
          a decrease reached the car is more than the car draws when the meter reads, and
          taken out of the total in full it would make the circuit look emptier than it
          is. A charger flagged over its limit counts in full: the solve adds its excess
          to the other load itself."""
        now = self._clock()
        async with self._db.uow() as session:
            circuits = {c.id: c for c in (await session.scalars(select(Circuit))).all()}
            if circuit_id not in circuits:
                raise NotFound("circuit", circuit_id)
            parents = {c.id: c.parent_id for c in circuits.values()}
            below = {c for c in circuits if circuit_id in _chain(parents, c)}
            rows = (await session.execute(
                select(Transaction.id, Station.phase_rotation)
                .join(Station, Station.id == Transaction.station_id)
                .where(Station.circuit_id.in_(below), Transaction.stopped_at.is_(None)))).all()
            ids = [r[0] for r in rows]
            samples = await _phase_samples(session, ids, now)
            profiles: dict[int | None, JsonObject] = dict((await session.execute(
                select(DesiredProfile.transaction_id, DesiredProfile.profile).where(
                    DesiredProfile.owner_kind == OwnerKind.CIRCUIT,
                    DesiredProfile.transaction_id.in_(ids)))).all()) if ids else {}
        fresh_after = now - timedelta(seconds=circuits[circuit_id].stale_after_s)
        drawn = [0.0, 0.0, 0.0]
        for tx_id, rotation in rows:
            found = samples.get(tx_id)
            if not found or found[-1][0] < fresh_after:
                continue
            profile = profiles.get(tx_id)
            bound = (None if profile is None or tx_id in self._over
                     else amps_at(profile, now, self._voltage))
            mapping = rule.PHASE_ROTATIONS[rotation]
            for phase, amps in found[-1][1].items():
                drawn[mapping[int(phase[1]) - 1]] += amps if bound is None else min(amps, bound)
        return drawn


def _source(alone: Sequence[tuple[DesiredProfile, list[tuple[datetime, float | None]]]],
            at: datetime, limit_a: float) -> str:
    """The profile whose own limit at ``at`` is ``limit_a``, named with its owner
    (``"profile 7 (plan 12)"``); ``"cap"`` when none is."""
    for row, periods in alone:
        own = next((v for t, v in reversed(periods) if t <= at), None)
        if own is not None and abs(own - limit_a) < 0.05:
            return f"profile {row.charging_profile_id} ({row.owner.label})"
    return "cap"


def _check_meter(station_id: str | None, connector_id: int | None) -> None:
    if (station_id is None) != (connector_id is None):
        raise Invalid("meter_station_id", "give meter_station_id and meter_connector_id "
                      "together (or neither)")


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    a, b, c = values
    return (float(a), float(b), float(c))


def _chain(parents: Mapping[str, str | None], circuit_id: str) -> list[str]:
    chain: list[str] = []
    node: str | None = circuit_id
    while node is not None and node not in chain:
        chain.append(node)
        node = parents.get(node)
    return chain


def _tree_of(circuits: Mapping[str, Circuit], circuit_id: str) -> list[str]:
    """The tree holding ``circuit_id``: its root first, then every circuit below, by id."""
    parents = {c.id: c.parent_id for c in circuits.values()}
    root = _chain(parents, circuit_id)[-1]
    members = sorted(c for c in circuits if _chain(parents, c)[-1] == root)
    members.remove(root)
    return [root, *members]


def _domain_circuit(row: Circuit, other: tuple[float, float, float]) -> rule.Circuit:
    return rule.Circuit(
        id=row.id,
        parent=row.parent_id,
        max_current_a=_triple(row.max_current_a),
        max_power_w=row.max_power_w,
        max_imbalance_a=row.max_imbalance_a,
        margin_a=row.margin_a,
        other_load_a=other,
        connector_count=row.connector_count,
        limits=tuple(
            rule.LimitWindow(w.start, w.end, w.max_current_a, w.max_power_w)
            for w in map(Window.from_json, row.limits)
        ),
    )


def _station_phases(currents: Mapping[str, float] | None) -> tuple[int, ...]:
    """The station phases a session draws on: all three unless its meter shows fewer."""
    if not currents:
        return (1, 2, 3)
    used = tuple(sorted(int(p[1]) for p, amps in currents.items() if amps >= IDLE_PHASE_A))
    return used or (1, 2, 3)


async def _phase_samples(session: AsyncSession, transaction_ids: Sequence[int],
                         now: datetime) -> dict[int, list[tuple[datetime, dict[str, float]]]]:
    """Per transaction, its recent per-phase Current.Import samples, oldest first."""
    if not transaction_ids:
        return {}
    rows = (await session.execute(
        select(MeterValue.transaction_id, MeterValue.ts, MeterValue.phase, MeterValue.value)
        .where(MeterValue.transaction_id.in_(transaction_ids),
               MeterValue.measurand == "Current.Import",
               MeterValue.phase.is_not(None),
               MeterValue.ts >= now - PHASE_SAMPLE_MAX_AGE)
        .order_by(MeterValue.ts))).all()
    latest: dict[int, datetime] = {}
    found: dict[int, list[tuple[datetime, dict[str, float]]]] = {}
    for tx_id, ts, phase, value in rows:
        # tx_id and phase are never None here (the query's own filters); the test says so
        # to the type checker.
        if (tx_id is None or phase is None or value is None
                or not phase.startswith(("L1", "L2", "L3"))):
            continue
        if latest.get(tx_id) != ts:
            latest[tx_id] = ts
            found.setdefault(tx_id, []).append((ts, {}))
        found[tx_id][-1][1][phase[:2]] = float(value)
    return found
