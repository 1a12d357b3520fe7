"""Request and response bodies of /circuits; ORM rows and solves are converted here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.db.circuit_models import Circuit
from app.domain.ownership import OwnerKind, natural_id
from app.domain.profiles import ChargingProfilePurpose
from app.json_types import JsonObject
from app.services.load.circuits import TreeAllocation, Window
from app.services.load.load_management import ConnectorLimit, Replan

Amps = Annotated[float, Meta(ge=0)]
PhaseAmps = Annotated[
    Amps | Annotated[list[Amps], Meta(min_length=3, max_length=3)],
    Meta(description="Amperes: one number for every phase, or three for L1, L2, L3"),
]
ThreePhases = Annotated[list[float], Meta(description="Amperes on L1, L2, L3")]
OptionalThreePhases = Annotated[list[float] | None, Meta(
    description="Amperes on L1, L2, L3; null if never measured")]
WindowFrom = Annotated[datetime, Meta(description="Start of the window, ISO 8601, UTC")]
WindowTo = Annotated[datetime, Meta(description="End of the window (excluded), ISO 8601, UTC")]
OptionalPower = Annotated[float | None, Meta(description="Limit on the total power, in W")]
When = Annotated[datetime, Meta(description="ISO 8601, UTC")]
CircuitId = Annotated[str, Meta(
    min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._~:@-]+$",
    description="A name of your choice, e.g. main or garage")]
AwareTime = Annotated[datetime, Meta(tz=True, description="ISO 8601 with a time zone")]
MaxPowerW = Annotated[float, Meta(gt=0, description="Limit on the total power, in W")]
Imbalance = Annotated[float, Meta(
    ge=0, description="Largest minus smallest phase current allowed, in A")]
Margin = Annotated[float, Meta(ge=0, description="Current kept free on every phase, in A")]
ConnectorCount = Annotated[int, Meta(
    ge=1, description="Connectors below it: sets the safe share a charger falls back to")]
DefaultDwell = Annotated[int, Meta(
    ge=60, le=7 * 86400,
    description="Seconds a session below it stays when nothing better says when it leaves "
    "(e.g. 28800 at a workplace): its need is then as much energy as it can take by its "
    "start plus this; null: no default")]
StaleAfter = Annotated[int, Meta(
    ge=1, description="Seconds after which a measurement is stale and the worst case applies")]


def phases(value: float | list[float]) -> tuple[float, float, float]:
    if isinstance(value, list):
        return (float(value[0]), float(value[1]), float(value[2]))
    return (float(value), float(value), float(value))


class WindowBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """While it runs, the window's limits replace the circuit's own (lowest of overlaps)."""

    start: AwareTime = msgspec.field(name="from")
    end: AwareTime = msgspec.field(name="to")
    max_current_a: PhaseAmps
    max_power_w: MaxPowerW | None = None

    def to_service(self) -> Window:
        return Window(self.start, self.end, phases(self.max_current_a), self.max_power_w)


def windows(items: list[WindowBody]) -> list[Window]:
    return [w.to_service() for w in items]


MeterStation = Annotated[str, Meta(
    min_length=1, max_length=48,
    description="A station whose connector meter_connector_id measures this circuit: its "
    "MeterValues' per-phase Current.Import are the circuit's total (set both, or neither)")]
MeterConnector = Annotated[int, Meta(
    ge=0, description="The connector of meter_station_id that meters the circuit (0: the "
    "station's main meter)")]


class CircuitCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A grid connection (no parent) or a circuit below another."""

    id: CircuitId
    parent_id: CircuitId | None = None
    max_current_a: PhaseAmps
    max_power_w: MaxPowerW | None = None
    max_imbalance_a: Imbalance | None = None
    margin_a: Margin = 0.0
    connector_count: ConnectorCount | None = None
    worst_case_other_load_a: Annotated[PhaseAmps, Meta(
        description="Unmanaged load assumed while no fresh measurement exists")] = 0.0
    stale_after_s: StaleAfter = 300
    meter_station_id: MeterStation | None = None
    meter_connector_id: MeterConnector | None = None
    default_dwell_s: DefaultDwell | None = None
    limits: Annotated[list[WindowBody], Meta(
        description="Windows replacing the limits while they run")] = msgspec.field(
        default_factory=list)

    def to_service(self) -> JsonObject:
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "max_current_a": phases(self.max_current_a),
            "max_power_w": self.max_power_w,
            "max_imbalance_a": self.max_imbalance_a,
            "margin_a": self.margin_a,
            "connector_count": self.connector_count,
            "worst_case_other_load_a": phases(self.worst_case_other_load_a),
            "stale_after_s": self.stale_after_s,
            "limits": windows(self.limits),
            "meter_station_id": self.meter_station_id,
            "meter_connector_id": self.meter_connector_id,
            "default_dwell_s": self.default_dwell_s,
        }


class CircuitUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay as they are."""

    parent_id: CircuitId | None | UnsetType = UNSET
    max_current_a: PhaseAmps | UnsetType = UNSET
    max_power_w: MaxPowerW | None | UnsetType = UNSET
    max_imbalance_a: Imbalance | None | UnsetType = UNSET
    margin_a: Margin | UnsetType = UNSET
    connector_count: ConnectorCount | None | UnsetType = UNSET
    worst_case_other_load_a: PhaseAmps | UnsetType = UNSET
    stale_after_s: StaleAfter | UnsetType = UNSET
    meter_station_id: MeterStation | None | UnsetType = UNSET
    meter_connector_id: MeterConnector | None | UnsetType = UNSET
    default_dwell_s: DefaultDwell | None | UnsetType = UNSET

    def changes(self) -> JsonObject:
        found: JsonObject = {}
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is UNSET:
                continue
            if name in ("max_current_a", "worst_case_other_load_a"):
                value = phases(value)
            found[name] = value
        return found


class MeasurementBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Exactly one of: the unmanaged load, or the meter's total (sessions are taken out)."""

    other_load_a: PhaseAmps | UnsetType = UNSET
    total_a: Annotated[PhaseAmps, Meta(
        description="The circuit meter's total; what its sessions draw is subtracted: per "
        "session below the circuit, its latest per-phase Current.Import sample if it is no "
        "older than the circuit's stale_after_s (an older one is not subtracted: that "
        "session's draw stays in the other load), and at most the limit its circuit "
        "profile gives it (a charger flagged over_limit: its whole sample)")
    ] | UnsetType = UNSET


class WindowView(msgspec.Struct, kw_only=True):
    start: WindowFrom = msgspec.field(name="from")
    end: WindowTo = msgspec.field(name="to")
    max_current_a: ThreePhases
    max_power_w: OptionalPower = None


class CircuitView(msgspec.Struct, kw_only=True):
    id: CircuitId
    parent_id: Annotated[str | None, Meta(description="The circuit above; null at the root")]
    max_current_a: ThreePhases
    max_power_w: OptionalPower
    max_imbalance_a: Annotated[float | None, Meta(
        description="Largest minus smallest phase current allowed, in A")]
    margin_a: Margin
    connector_count: Annotated[int | None, Meta(
        description="Connectors below it, for the safe share")]
    limits: Annotated[list[WindowView], Meta(description="Windows, by start")]
    worst_case_other_load_a: ThreePhases
    stale_after_s: StaleAfter
    measured_other_load_a: OptionalThreePhases
    measured_at: Annotated[datetime | None, Meta(description="When it was last measured")]
    meter_station_id: MeterStation | None
    meter_connector_id: MeterConnector | None
    default_dwell_s: DefaultDwell | None
    created_at: When
    updated_at: When


def circuit_view(row: Circuit) -> CircuitView:
    return CircuitView(
        id=row.id,
        parent_id=row.parent_id,
        max_current_a=list(row.max_current_a),
        max_power_w=row.max_power_w,
        max_imbalance_a=row.max_imbalance_a,
        margin_a=row.margin_a,
        connector_count=row.connector_count,
        limits=[
            WindowView(start=w.start, end=w.end, max_current_a=list(w.max_current_a),
                       max_power_w=w.max_power_w)
            for w in map(Window.from_json, row.limits)
        ],
        worst_case_other_load_a=list(row.worst_case_other_load_a),
        stale_after_s=row.stale_after_s,
        measured_other_load_a=(None if row.measured_other_load_a is None
                               else list(row.measured_other_load_a)),
        measured_at=row.measured_at,
        meter_station_id=row.meter_station_id,
        meter_connector_id=row.meter_connector_id,
        default_dwell_s=row.default_dwell_s,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class CircuitLoadView(msgspec.Struct, kw_only=True):
    id: CircuitId
    parent_id: Annotated[str | None, Meta(description="The circuit above; null at the root")]
    limit_a: Annotated[ThreePhases, Meta(description="In force now, less the margin")]
    load_a: Annotated[ThreePhases, Meta(description="Sessions at their limits + other load")]
    headroom_a: ThreePhases
    other_load_a: ThreePhases
    other_load_source: Annotated[str, Meta(
        description="measured, or worst_case when the measurement is missing or stale")]


class PeriodView(msgspec.Struct, kw_only=True):
    start_s: Annotated[int, Meta(description="Seconds after the solve's at")]
    limit_a: Annotated[float, Meta(description="Its limit from then on, in A")]


class SessionView(msgspec.Struct, kw_only=True, omit_defaults=True):
    transaction_id: Annotated[int, Meta(description="The OCPP transactionId")]
    station_id: Annotated[str, Meta(description="Charge point identity")]
    connector_id: Annotated[int, Meta(description="Connector of the transaction")]
    circuit_id: Annotated[str, Meta(description="The circuit its station hangs from")]
    phases: Annotated[list[str], Meta(description="Grid phases it draws on")]
    limit_a: Annotated[float, Meta(description="Its share; 0 when not admitted")]
    binding: Annotated[str, Meta(
        description='What stops it: "garage L2", "main kW", "main imbalance", "cap" (its '
        'own maximum or demand cap), another owner\'s profile that caps it, named with its '
        'owner ("profile 7 (plan 12)"), or "not admitted: main L1" ("not admitted: '
        'profile 7 (plan 12)")')]
    admitted: Annotated[bool, Meta(description="Whether its minimum fitted")]
    min_current_a: Annotated[float, Meta(description="Least current it is offered, in A")]
    max_current_a: Annotated[float, Meta(description="Most it can take (station), in A")]
    demand_cap_a: Annotated[float | None, Meta(
        description="Unused-capacity cap from its metered draw or SuspendedEV; null: none")]
    over_limit: Annotated[bool, Meta(
        description="Its charger drew more than its limit + 1 A for 3 samples: the excess "
        "counts as other load of every circuit above it")]
    safe_share_a: Annotated[float | None, Meta(
        description="What its charger may fall back to when chargeplan is gone")]
    need_source: Annotated[str | None, Meta(
        description="Where its need comes from: ev (the car, OCPP 2.0.1), request, id_tag, "
        "history, circuit_default or none (null when the tree was not planned)")] = None
    planned_kwh: Annotated[float | None, Meta(
        description="Energy the plan gives it by its departure (null without a need)")] = None
    shortfall_kwh: Annotated[float | None, Meta(
        description="What it will lack at its departure (null without a need)")] = None
    shortfall_reason: Annotated[str | None, Meta(
        description='Why it falls short, e.g. "site at its limit 17:00-21:00 (main L1)" '
        '(times UTC); null when it does not')] = None
    decided_by: Annotated[str | None, Meta(
        description='"planner", or "water level: <why>" (null when the tree was not '
        'planned)')] = None
    periods: Annotated[list[PeriodView], Meta(
        description="Its limit timeline as its TxProfile carries it (before merging to "
        "the charger's ChargingScheduleMaxPeriods)")] = msgspec.field(default_factory=list)


class LastReplanView(msgspec.Struct, kw_only=True, omit_defaults=True):
    at: Annotated[datetime, Meta(description="When the tree was last re-planned, UTC")]
    trigger: Annotated[str, Meta(
        description="What set it off: transaction, meter, circuit changed, needs changed, "
        "interval")]
    seconds: Annotated[float, Meta(description="How long the re-plan took")]
    decreases: Annotated[list[int], Meta(description="Transactions whose limit went down")]
    increases: Annotated[list[int], Meta(description="Transactions whose limit went up")]
    held: Annotated[list[int], Meta(
        description="Increases held back until the decreases are Accepted")]
    decided_by: Annotated[str | None, Meta(
        description='"planner", or "water level: <why>"; null when the tree had no '
        'session')] = None


class AllocationView(msgspec.Struct, kw_only=True):
    at: Annotated[datetime, Meta(description="The instant solved, ISO 8601, UTC")]
    root_id: Annotated[str, Meta(description="The grid connection of the tree solved")]
    circuits: Annotated[list[CircuitLoadView], Meta(description="Root first, then by id")]
    sessions: Annotated[list[SessionView], Meta(description="Running transactions below")]
    last_replan: Annotated[LastReplanView | None, Meta(
        description="The last re-plan of the tree by the node answering (null when it has "
        "not re-planned it since it started)")] = None
    decided_by: Annotated[str | None, Meta(
        description='"planner" when a session has a need and the plan was solved, else '
        '"water level: <why>"; null when the tree has no session')] = None


def allocation_view(solved: TreeAllocation, last: Replan | None = None) -> AllocationView:
    return AllocationView(
        last_replan=None if last is None else LastReplanView(
            at=last.at, trigger=last.trigger, seconds=last.seconds,
            decreases=list(last.decreases), increases=list(last.increases),
            held=list(last.held), decided_by=last.decided_by),
        decided_by=None if solved.plan is None else solved.plan.decided_by,
        at=solved.at,
        root_id=solved.root_id,
        circuits=[
            CircuitLoadView(
                id=c.circuit.id,
                parent_id=c.circuit.parent_id,
                limit_a=list(c.load.limit_a),
                load_a=list(c.load.load_a),
                headroom_a=list(c.load.headroom_a),
                other_load_a=list(c.other_load_a),
                other_load_source=c.other_load_source,
            )
            for c in solved.circuits
        ],
        sessions=[
            SessionView(
                transaction_id=s.transaction_id,
                station_id=s.station_id,
                connector_id=s.connector_id,
                circuit_id=s.circuit_id,
                phases=list(s.phases),
                limit_a=s.share.limit_a,
                binding=s.share.binding,
                admitted=s.share.admitted,
                min_current_a=s.min_current_a,
                max_current_a=s.max_current_a,
                demand_cap_a=s.demand_cap_a,
                over_limit=s.over_limit,
                safe_share_a=s.share.safe_share_a,
                **_planned(solved, s.transaction_id),
            )
            for s in solved.sessions
        ],
    )


def _planned(solved: TreeAllocation, transaction_id: int) -> dict[str, Any]:
    """A session's fields from the plan of its tree (none when it was not planned)."""
    periods = [PeriodView(start_s=p.start_s, limit_a=p.limit_a)
               for p in solved.periods.get(transaction_id, ())]
    found = None if solved.plan is None else solved.plan.sessions.get(transaction_id)
    if found is None or solved.plan is None:
        return {"periods": periods}
    return {"need_source": found.need_source, "planned_kwh": found.planned_kwh,
            "shortfall_kwh": found.shortfall_kwh, "shortfall_reason": found.shortfall_reason,
            "decided_by": solved.plan.decided_by, "periods": periods}


class PlanSlotLimitView(msgspec.Struct, kw_only=True):
    circuit_id: Annotated[str, Meta(description="A circuit of the tree")]
    max_current_a: Annotated[ThreePhases, Meta(
        description="What its sessions may draw on L1, L2, L3 in the slot: the lowest "
        "limit in force during it, less the margin and the other load")]
    max_power_kw: Annotated[float | None, Meta(
        description="The same for its kW limit; null without one")]


class PlanSlotView(msgspec.Struct, kw_only=True):
    start: Annotated[datetime, Meta(description="Slot start, ISO 8601, UTC")]
    end: Annotated[datetime, Meta(description="Slot end (excluded), ISO 8601, UTC")]
    price_per_kwh: Annotated[float | None, Meta(
        description="Mean price over the slot; null without prices")]
    limits: Annotated[list[PlanSlotLimitView], Meta(description="Per circuit, root first")]


class PlanSessionView(msgspec.Struct, kw_only=True):
    transaction_id: Annotated[int, Meta(description="The OCPP transactionId")]
    station_id: Annotated[str, Meta(description="Charge point identity")]
    connector_id: Annotated[int, Meta(description="Connector of the transaction")]
    circuit_id: Annotated[str, Meta(description="The circuit its station hangs from")]
    phases: Annotated[list[str], Meta(description="Grid phases it draws on")]
    need_source: Annotated[str, Meta(
        description="ev (the car, OCPP 2.0.1), request, id_tag, history, circuit_default or none")]
    plans: Annotated[bool, Meta(description="Whether its need is planned for")]
    energy_kwh: Annotated[float | None, Meta(
        description="Energy it still needs, as planned for; null without a need")]
    departure: Annotated[datetime | None, Meta(description="When it leaves, UTC")]
    planned_kwh: Annotated[float | None, Meta(description="Planned by its departure")]
    shortfall_kwh: Annotated[float | None, Meta(description="Lacking at its departure")]
    shortfall_reason: Annotated[str | None, Meta(description="Why it falls short")]
    current_a: Annotated[list[float], Meta(
        description="Its planned current per slot, in A, in the order of slots")]


class PlanView(msgspec.Struct, kw_only=True):
    root_id: Annotated[str, Meta(description="The grid connection of the tree planned")]
    at: Annotated[datetime, Meta(description="The instant planned from, ISO 8601, UTC")]
    decided_by: Annotated[str | None, Meta(
        description='"planner", or "water level: <why>" (then the slots show the water '
        'level\'s timeline); null when the tree has no session')]
    planned_cost: Annotated[float | None, Meta(
        description="Energy cost of the plan at the slots' prices")]
    planned_peak_kw: Annotated[float | None, Meta(
        description="Highest load of the plan at the root, sessions and other load, kW")]
    slots: Annotated[list[PlanSlotView], Meta(description="The horizon, slot by slot")]
    sessions: Annotated[list[PlanSessionView], Meta(description="Running transactions")]


def plan_view(solved: TreeAllocation) -> PlanView:
    plan = solved.plan
    if plan is None:
        return PlanView(root_id=solved.root_id, at=solved.at, decided_by=None,
                        planned_cost=None, planned_peak_kw=None, slots=[], sessions=[])
    slots = [
        PlanSlotView(
            start=plan.at + timedelta(seconds=start_s),
            end=plan.at + timedelta(seconds=start_s + length_s),
            price_per_kwh=plan.prices[t],
            limits=[PlanSlotLimitView(
                circuit_id=c.circuit.id,
                max_current_a=[round(a, 1) for a in plan.capacity.amps[c.circuit.id][t]],
                max_power_kw=plan.capacity.kw[c.circuit.id][t])
                for c in solved.circuits])
        for t, (start_s, length_s) in enumerate(plan.slots)]
    sessions = []
    for s in solved.sessions:
        found = plan.sessions[s.transaction_id]
        sessions.append(PlanSessionView(
            transaction_id=s.transaction_id, station_id=s.station_id,
            connector_id=s.connector_id, circuit_id=s.circuit_id, phases=list(s.phases),
            need_source=found.need_source, plans=found.plans, energy_kwh=found.energy_kwh,
            departure=found.departure, planned_kwh=found.planned_kwh,
            shortfall_kwh=found.shortfall_kwh, shortfall_reason=found.shortfall_reason,
            current_a=list(found.currents_a)))
    return PlanView(root_id=solved.root_id, at=plan.at, decided_by=plan.decided_by,
                    planned_cost=plan.planned_cost, planned_peak_kw=plan.planned_peak_kw,
                    slots=slots, sessions=sessions)


class ProfileLimitView(msgspec.Struct, kw_only=True):
    charging_profile_id: Annotated[int, Meta(description="Its chargingProfileId")]
    connector_id: Annotated[int, Meta(description="0 = the whole station")]
    purpose: Annotated[str, Meta(description="chargingProfilePurpose")]
    stack_level: Annotated[int, Meta(description="stackLevel")]
    owner_kind: Annotated[str, Meta(
        description="Who asked for it: manual, scenario, command, remote_start, plan, "
        "tariff, circuit")]
    owner_id: Annotated[int | str | None, Meta(
        description="The owner's id in its own type: the integer id of the plan, tariff "
        "or pending remote start, the id (a string) of the circuit that made it; null for "
        "a single request")]
    transaction_id: Annotated[int | None, Meta(
        description="The transaction a TxProfile serves (for a circuit's profile, the "
        "session it limits); null for other purposes")] = None
    unit: Annotated[str, Meta(description="A or W")]
    limit: Annotated[float | None, Meta(
        description="Its limit at the instant asked about; null when it is not in force")]
    state: Annotated[str, Meta(description="Its delivery state")]


class CircuitShareView(msgspec.Struct, kw_only=True, omit_defaults=True):
    circuit_id: Annotated[str, Meta(description="The circuit the station hangs from")]
    transaction_id: Annotated[int | None, Meta(description="The running transaction")]
    limit_a: Annotated[float | None, Meta(description="The circuit's share for it")]
    binding: Annotated[str | None, Meta(description="What binds that share")]
    admitted: Annotated[bool | None, Meta(description="Whether its minimum fitted")]
    safe_share_a: Annotated[float | None, Meta(
        description="What the charger falls back to when chargeplan is gone")]
    need_source: Annotated[str | None, Meta(
        description="Where the session's need comes from (null: not planned)")] = None
    planned_kwh: Annotated[float | None, Meta(
        description="Energy planned by its departure")] = None
    shortfall_kwh: Annotated[float | None, Meta(
        description="What it will lack at its departure")] = None
    shortfall_reason: Annotated[str | None, Meta(description="Why it falls short")] = None
    decided_by: Annotated[str | None, Meta(
        description='"planner" or "water level: <why>"')] = None


class ConnectorLimitView(msgspec.Struct, kw_only=True):
    station_id: Annotated[str, Meta(description="Charge point identity")]
    connector_id: Annotated[int, Meta(description="The connector")]
    at: Annotated[datetime, Meta(description="The instant explained, ISO 8601, UTC")]
    limit_a: Annotated[float, Meta(
        description="The composite of the station's desired profiles then, in A")]
    binding: Annotated[str, Meta(
        description='What makes the limit: the circuit constraint ("garage L1", "cap", '
        '"profile 7 (plan 12)" when another owner\'s profile caps the share, "not '
        'admitted: main L1") while the circuit\'s profile decides, "arrival allowance" '
        'while its TxDefaultProfile bounds a car arriving, "circuit, re-plan '
        'pending (...)" when the next solve will change it, "profile N (owner)" when '
        'another profile decides, or "no profile in force"')]
    circuit: Annotated[CircuitShareView | None, Meta(
        description="The circuit's view; null when the station hangs from none")]
    profiles: Annotated[list[ProfileLimitView], Meta(
        description="The desired profiles of the connector and of connector 0")]


def connector_limit_view(found: ConnectorLimit) -> ConnectorLimitView:
    in_force = [p for p in found.profiles if p.limit is not None]
    circuit_tx = [p for p in in_force if p.row.owner_kind == OwnerKind.CIRCUIT
                  and p.row.transaction_id is not None]
    binding = "no profile in force"
    deciding = [p for p in circuit_tx if p.limit_a is not None
                and abs(p.limit_a - found.limit_a) < 0.05]
    if found.share is not None and deciding:
        solved = found.share.share
        binding = (solved.binding if abs(found.limit_a - solved.limit_a) < 0.05
                   else f"circuit, re-plan pending ({solved.limit_a} A: {solved.binding})")
    elif in_force:
        # The profile that makes the composite, else the lowest (a connector's own
        # TxDefaultProfile hides connector 0's, OCPP 1.6 §3.13.1).
        making = [p for p in in_force if p.limit_a is not None
                  and abs(p.limit_a - found.limit_a) < 0.05] or in_force
        # On a tie, another owner's profile: the arrival allowance keeps to it.
        lowest = min(making, key=lambda p: (p.limit_a or 0.0,
                                            p.row.owner_kind == OwnerKind.CIRCUIT))
        binding = f"profile {lowest.row.charging_profile_id} ({lowest.row.owner.label})"
        if lowest.row.owner_kind == OwnerKind.CIRCUIT and lowest.row.purpose == str(
                ChargingProfilePurpose.TX_DEFAULT_PROFILE):
            binding = "arrival allowance"
    circuit = None
    if found.circuit_id is not None:
        share = found.share
        circuit = CircuitShareView(
            circuit_id=found.circuit_id, transaction_id=found.transaction_id,
            limit_a=None if share is None else share.share.limit_a,
            binding=None if share is None else share.share.binding,
            admitted=None if share is None else share.share.admitted,
            safe_share_a=found.safe_share_a, **found.planned)
    return ConnectorLimitView(
        station_id=found.station_id, connector_id=found.connector_id, at=found.at,
        limit_a=found.limit_a, binding=binding, circuit=circuit,
        profiles=[
            ProfileLimitView(
                charging_profile_id=p.row.charging_profile_id, connector_id=p.row.connector_id,
                purpose=p.row.purpose, stack_level=p.row.stack_level,
                owner_kind=str(p.row.owner_kind),
                owner_id=natural_id(p.row.owner_kind, p.row.owner_id),
                transaction_id=p.row.transaction_id, unit=p.unit,
                limit=p.limit, state=str(p.row.state))
            for p in found.profiles
        ])
