"""The composite charging schedule of OCPP 1.6 §3.13 and GetCompositeSchedule (§5.7).

At each instant of the requested window, for a connector N > 0:

1. Within one purpose, the profile with the highest stackLevel that is *running* wins; a
   profile outside validFrom/validTo, before its start or after its duration gives way to
   the next lower one (§3.13.2).
2. A TxProfile for the connector's running transaction overrides the TxDefaultProfiles,
   whatever the stack levels (§3.13.3). A TxProfile without transactionId (installed through
   RemoteStartTransaction, errata §3.41) applies to the connector's transaction. A TxProfile
   applies only from the start of its transaction.
3. Otherwise the TxDefaultProfiles of connector N apply; where none of them is running,
   those of connector 0 apply (§3.13.1). They apply with or without a transaction.
4. The ChargePointMaxProfile (connector 0) caps the result: the minimum of the two, after
   conversion to the requested unit (§3.13.3).
5. Where no profile at all applies, the limit is ``station_max_w``/``station_max_a`` when
   given, else ``SupplyConfig.default_limit_a`` (libocpp's documented 48 A default).

Connector 0 (what the whole charge point expects to draw, §5.7) is the sum over connectors
1..number_of_connectors of their composites (each capped as above), capped again by the
ChargePointMaxProfile and by the station maximum when given. This is libocpp's policy;
open-ocpp reports only connector-0 profiles, which hides the per-connector defaults.

Amperes and watts convert with voltage x phases, the phases being the numberPhases of the
period in force, else ``SupplyConfig.phases``. A reported period carries ``numberPhases``
only when the period that decided its limit gave one (in the connector-0 sum: when every
connector's deciding period gave the same number). Limits are rounded to one decimal and
equal neighbouring periods are merged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.activity import breakpoints, period_at, schedule_anchor
from app.domain.installation import InstalledProfile
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedulePeriod,
    ensure_utc,
    format_datetime,
    parse_datetime,
    render_limit,
)
from app.domain.units import SupplyConfig, convert

__all__ = [
    "ActiveTransaction",
    "CompositeSchedule",
    "SupplyConfig",
    "composite_schedule",
    "limit_at",
    "merge_periods",
    "schedules_match",
]


@dataclass(frozen=True)
class ActiveTransaction:
    """A transaction running on a connector since ``start``."""

    transaction_id: int
    connector_id: int
    start: datetime


@dataclass(frozen=True)
class CompositeSchedule:
    """The answer to GetCompositeSchedule.req for one connector and window."""

    connector_id: int
    schedule_start: datetime
    duration: int
    unit: ChargingRateUnit
    periods: tuple[ChargingSchedulePeriod, ...]

    def to_ocpp(self) -> dict[str, Any]:
        """The GetCompositeSchedule.conf payload (OCPP 1.6 §6.22)."""
        start = format_datetime(self.schedule_start)
        return {
            "status": "Accepted",
            "connectorId": self.connector_id,
            "scheduleStart": start,
            "chargingSchedule": {
                "duration": self.duration,
                "startSchedule": start,
                "chargingRateUnit": self.unit.value,
                "chargingSchedulePeriod": [p.to_ocpp() for p in self.periods],
            },
        }


@dataclass(frozen=True)
class _Limit:
    value: float  # in the requested unit, unrounded
    number_phases: int | None


@dataclass(frozen=True)
class _Stack:
    """The profiles of one purpose that may apply, each with its schedule anchor."""

    entries: tuple[tuple[ChargingProfile, datetime | None], ...]

    def winner(self, at: datetime) -> tuple[ChargingProfile, ChargingSchedulePeriod] | None:
        # OCPP 1.6 §3.13.2: the running profile with the highest stackLevel prevails; on a
        # tie (not possible once installed) the later installed one does.
        best: tuple[ChargingProfile, ChargingSchedulePeriod] | None = None
        for profile, anchor in self.entries:
            period = period_at(profile, anchor, at)
            if period is not None and (best is None or profile.stack_level >= best[0].stack_level):
                best = (profile, period)
        return best

    def breakpoints(self, start: datetime, end: datetime) -> set[datetime]:
        points: set[datetime] = set()
        for profile, anchor in self.entries:
            points |= breakpoints(profile, anchor, start, end)
        return points


@dataclass(frozen=True)
class _Connector:
    """Everything that decides one connector's (N > 0) limit."""

    tx: _Stack
    tx_start: datetime | None
    own_default: _Stack
    station_default: _Stack


@dataclass(frozen=True)
class _Context:
    unit: ChargingRateUnit
    supply: SupplyConfig
    cap: _Stack
    fallback: _Limit
    station_max: float | None


def composite_schedule(
    installed: Sequence[InstalledProfile],
    connector_id: int,
    start: datetime,
    duration: int | timedelta,
    unit: ChargingRateUnit,
    *,
    transactions: Sequence[ActiveTransaction] = (),
    number_of_connectors: int = 1,
    supply: SupplyConfig = SupplyConfig(),  # noqa: B008 - frozen, shared safely
    station_max_w: float | None = None,
    station_max_a: float | None = None,
) -> CompositeSchedule:
    """The composite schedule of ``connector_id`` over [start, start + duration).

    ``duration`` is in seconds (a timedelta is taken too, rounded to the second). See the
    module docstring for the rules and the choices made.
    """
    if isinstance(duration, timedelta):
        duration = round(duration.total_seconds())
    if duration <= 0:
        raise ValueError("duration must be greater than 0")
    if connector_id < 0:
        raise ValueError("connector_id must be 0 or greater")
    start = ensure_utc(start)
    end = start + timedelta(seconds=duration)
    ctx = _context(installed, start, unit, supply, station_max_w, station_max_a)
    ids = range(1, number_of_connectors + 1) if connector_id == 0 else (connector_id,)
    connectors = [_connector(installed, c, start, transactions) for c in ids]

    points = {start} | ctx.cap.breakpoints(start, end)
    for conn in connectors:
        points |= conn.tx.breakpoints(start, end)
        points |= conn.own_default.breakpoints(start, end)
        points |= conn.station_default.breakpoints(start, end)
        if conn.tx_start is not None and start < conn.tx_start < end:
            points.add(conn.tx_start)

    periods: list[ChargingSchedulePeriod] = []
    for at in sorted(points):
        limit = (
            _station_limit(ctx, connectors, at)
            if connector_id == 0
            else _connector_limit(ctx, connectors[0], at)
        )
        offset = round((at - start).total_seconds())
        period = ChargingSchedulePeriod(offset, render_limit(limit.value), limit.number_phases)
        if periods and periods[-1].start_period == offset:
            periods[-1] = period  # sub-second breakpoints: the later one covers the second
        else:
            periods.append(period)
    return CompositeSchedule(connector_id, start, duration, unit, merge_periods(periods))


def merge_periods(periods: Iterable[ChargingSchedulePeriod]) -> tuple[ChargingSchedulePeriod, ...]:
    """Drop every period that repeats the limit and numberPhases of the one before it."""
    merged: list[ChargingSchedulePeriod] = []
    for period in periods:
        if (
            merged
            and merged[-1].limit == period.limit
            and merged[-1].number_phases == period.number_phases
        ):
            continue
        merged.append(period)
    return tuple(merged)


def _context(
    installed: Sequence[InstalledProfile],
    start: datetime,
    unit: ChargingRateUnit,
    supply: SupplyConfig,
    station_max_w: float | None,
    station_max_a: float | None,
) -> _Context:
    maxima = [
        convert(value, source, unit, supply=supply)
        for value, source in (
            (station_max_w, ChargingRateUnit.W),
            (station_max_a, ChargingRateUnit.A),
        )
        if value is not None
    ]
    station_max = min(maxima) if maxima else None
    default = convert(supply.default_limit_a, ChargingRateUnit.A, unit, supply=supply)
    # OCPP 1.6 §3.13.1: ChargePointMaxProfile is set on connector 0 only.
    cap = _stack(installed, 0, ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE, start, None)
    fallback = _Limit(station_max if station_max is not None else default, None)
    return _Context(unit, supply, cap, fallback, station_max)


def _connector(
    installed: Sequence[InstalledProfile],
    connector_id: int,
    start: datetime,
    transactions: Sequence[ActiveTransaction],
) -> _Connector:
    transaction = next((t for t in transactions if t.connector_id == connector_id), None)
    tx_start = ensure_utc(transaction.start) if transaction is not None else None
    tx_entries: tuple[tuple[ChargingProfile, datetime | None], ...] = ()
    if transaction is not None:
        # OCPP 1.6 §3.13.1: a TxProfile applies to its transaction only; one without
        # transactionId came with RemoteStartTransaction (errata §3.41) and means this one.
        tx_entries = tuple(
            (item.profile, schedule_anchor(item.profile, start, tx_start))
            for item in installed
            if item.connector_id == connector_id
            and item.profile.purpose is ChargingProfilePurpose.TX_PROFILE
            and item.profile.transaction_id in (None, transaction.transaction_id)
        )
    return _Connector(
        tx=_Stack(tx_entries),
        tx_start=tx_start,
        own_default=_stack(
            installed, connector_id, ChargingProfilePurpose.TX_DEFAULT_PROFILE, start, tx_start
        ),
        station_default=_stack(
            installed, 0, ChargingProfilePurpose.TX_DEFAULT_PROFILE, start, tx_start
        ),
    )


def _stack(
    installed: Sequence[InstalledProfile],
    connector_id: int,
    purpose: ChargingProfilePurpose,
    start: datetime,
    tx_start: datetime | None,
) -> _Stack:
    return _Stack(
        tuple(
            (item.profile, schedule_anchor(item.profile, start, tx_start))
            for item in installed
            if item.connector_id == connector_id and item.profile.purpose is purpose
        )
    )


def _limit(
    ctx: _Context, found: tuple[ChargingProfile, ChargingSchedulePeriod] | None
) -> _Limit | None:
    if found is None:
        return None
    profile, period = found
    value = convert(
        period.limit,
        profile.schedule.charging_rate_unit,
        ctx.unit,
        number_phases=period.number_phases,
        supply=ctx.supply,
    )
    return _Limit(value, period.number_phases)


def _uncapped_limit(ctx: _Context, conn: _Connector, at: datetime) -> _Limit | None:
    # OCPP 1.6 §3.13.3: TxProfile overrules TxDefaultProfile whatever the stack levels.
    if conn.tx_start is not None and at >= conn.tx_start:
        found = _limit(ctx, conn.tx.winner(at))
        if found is not None:
            return found
    # OCPP 1.6 §3.13.1: a TxDefaultProfile on the connector replaces the one on connector 0.
    return _limit(ctx, conn.own_default.winner(at)) or _limit(ctx, conn.station_default.winner(at))


def _lowest(*limits: _Limit | None) -> _Limit | None:
    present = [limit for limit in limits if limit is not None]
    return min(present, key=lambda limit: limit.value) if present else None


def _connector_limit(ctx: _Context, conn: _Connector, at: datetime) -> _Limit:
    cap = _limit(ctx, ctx.cap.winner(at))
    return _lowest(_uncapped_limit(ctx, conn, at), cap) or ctx.fallback


def _station_limit(ctx: _Context, connectors: Sequence[_Connector], at: datetime) -> _Limit:
    parts = [_connector_limit(ctx, conn, at) for conn in connectors]
    phases = {part.number_phases for part in parts}
    total = _Limit(sum(part.value for part in parts), phases.pop() if len(phases) == 1 else None)
    station = _Limit(ctx.station_max, None) if ctx.station_max is not None else None
    cap = _limit(ctx, ctx.cap.winner(at))
    return _lowest(total, cap, station) or ctx.fallback


# --- reading GetCompositeSchedule.conf payloads -------------------------------------------


@dataclass(frozen=True)
class _Steps:
    """A reported schedule as a step function: limit from each instant until the next."""

    start: datetime
    end: datetime | None
    unit: str
    steps: tuple[tuple[datetime, float], ...]

    def at(self, at: datetime) -> float | None:
        if at < self.start or (self.end is not None and at >= self.end):
            return None
        current: float | None = None
        for begin, limit in self.steps:
            if begin <= at:
                current = limit
            else:
                break
        return current


def _steps(payload: Mapping[str, Any]) -> _Steps | None:
    schedule = payload.get("chargingSchedule", payload)
    if not isinstance(schedule, Mapping) or "chargingSchedulePeriod" not in schedule:
        return None
    raw_start = schedule.get("startSchedule") or payload.get("scheduleStart")
    if not isinstance(raw_start, str):
        raise ValueError("the schedule has neither startSchedule nor scheduleStart")
    start = parse_datetime(raw_start)
    duration = schedule.get("duration")
    end = start + timedelta(seconds=duration) if duration is not None else None
    periods = sorted(schedule["chargingSchedulePeriod"], key=lambda p: p["startPeriod"])
    steps = tuple((start + timedelta(seconds=p["startPeriod"]), float(p["limit"])) for p in periods)
    return _Steps(start, end, str(schedule.get("chargingRateUnit")), steps)


def limit_at(schedule_ocpp: Mapping[str, Any], at: datetime) -> float | None:
    """The limit a GetCompositeSchedule.conf (or its chargingSchedule) gives at ``at``.

    None outside the schedule's window or when the payload carries no schedule (Rejected).
    """
    steps = _steps(schedule_ocpp)
    return steps.at(ensure_utc(at)) if steps is not None else None


def schedules_match(a: Mapping[str, Any], b: Mapping[str, Any], *, tolerance: float = 0.1) -> bool:
    """True when two reported schedules give the same limits over their common window.

    The step functions are compared at every breakpoint of either, so periods cut at
    different instants that give the same limits match. Both must use the same unit; a
    payload without a schedule, or two windows with nothing in common, do not match.
    """
    left, right = _steps(a), _steps(b)
    if left is None or right is None or left.unit != right.unit:
        return False
    low = max(left.start, right.start)
    ends = [e for e in (left.end, right.end) if e is not None]
    if ends:
        high = min(ends)
    else:
        last = max(begin for begin, _ in (*left.steps, *right.steps, (low, 0.0)))
        high = max(low, last) + timedelta(seconds=1)
    if low >= high:
        return False
    points = {low} | {begin for begin, _ in (*left.steps, *right.steps) if low < begin < high}
    for point in points:
        x, y = left.at(point), right.at(point)
        if x is None or y is None:
            if x is not y:
                return False
        elif abs(x - y) > tolerance + 1e-9:
            return False
    return True
