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

OCPP 2.0.1 (``rules=V201``, :mod:`app.domain.protocol_rules`) follows the same rules with
EVSEs for connectors, ChargingStationMaxProfile for ChargePointMaxProfile and string
transaction ids; the final limit of a transaction merges the ChargingStationMaxProfile with
the TxProfile, or the TxDefaultProfile where no TxProfile applies (Part 2, K02 remarks). A
ChargingStationExternalConstraints profile is one more cap, combined as a minimum: on
EVSE 0 with the ChargingStationMaxProfile for every EVSE and for the station, on EVSE N for
that EVSE (libocpp merges the four purposes so). The answer is a
GetCompositeScheduleResponse with ``schedule.evseId``.

Comparing a reported schedule with this one is ``app/domain/schedule_comparison.py``.

Amperes and watts convert with voltage x phases, the phases being the numberPhases of the
period in force, else ``SupplyConfig.phases``. A reported period carries ``numberPhases``
only when the period that decided its limit gave one (in the connector-0 sum: when every
connector's deciding period gave the same number). Limits are rounded to one decimal and
equal neighbouring periods are merged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.domain.activity import breakpoints, period_at, schedule_anchor
from app.domain.profiles import (
    ChargingProfileKind,
    ChargingRateUnit,
    ChargingSchedulePeriod,
    RecurrencyKind,
    ensure_utc,
    format_datetime,
    render_limit,
)
from app.domain.protocol_rules import (
    V16,
    Holding,
    OcppVersion,
    ProfileRole,
    ProtocolRules,
    SchedulableProfile,
)
from app.domain.units import SupplyConfig, convert
from app.domain.validation import RECURRENCE_SECONDS

__all__ = [
    "ActiveTransaction",
    "CompositeAnswer",
    "CompositeSchedule",
    "Convention",
    "EvseTransaction",
    "Point",
    "SupplyConfig",
    "composite_answer",
    "composite_schedule",
    "merge_periods",
]


@dataclass(frozen=True)
class ActiveTransaction:
    """A transaction running on a connector since ``start``."""

    transaction_id: int
    connector_id: int
    start: datetime


@dataclass(frozen=True)
class EvseTransaction:
    """An OCPP 2.0.1 transaction (the station's string id) running on an EVSE."""

    transaction_id: str
    evse_id: int
    start: datetime

    @property
    def connector_id(self) -> int:
        """The place, under the name the shared rules read."""
        return self.evse_id


Running = ActiveTransaction | EvseTransaction


@dataclass(frozen=True)
class CompositeSchedule:
    """The answer to GetCompositeSchedule.req for one connector and window."""

    connector_id: int
    schedule_start: datetime
    duration: int
    unit: ChargingRateUnit
    periods: tuple[ChargingSchedulePeriod, ...]
    rules: ProtocolRules = V16

    def to_ocpp(self) -> dict[str, Any]:
        """The GetCompositeSchedule.conf payload (OCPP 1.6 §6.22), or the 2.0.1
        GetCompositeScheduleResponse (its CompositeScheduleType)."""
        start = format_datetime(self.schedule_start)
        if self.rules.version is OcppVersion.V201:
            return {"status": "Accepted", "schedule": {
                "evseId": self.connector_id, "duration": self.duration,
                "scheduleStart": start, "chargingRateUnit": self.unit.value,
                "chargingSchedulePeriod": [p.to_ocpp() for p in self.periods]}}
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


class Convention(StrEnum):
    """How a charger answers GetCompositeSchedule where OCPP 1.6 is silent.

    - ``strict``: chargeplan's reading (the module docstring).
    - ``libocpp`` (EVerest): the whole window; an instant no profile bounds is filled with
      the unconstrained value (48 A / 33,120 W by default); TxProfiles count even without a
      transaction; A<->W with 230 V and the lowest numberPhases active at the instant (3
      when none); a Recurring profile also runs before its startSchedule.
    - ``open-ocpp``: numberPhases always reported (3 when omitted); ChargePointMaxProfile is
      not part of the composite; connector 0 reports connector 0's own profiles; the
      answer covers only the instants some profile bounds (it starts late or ends early)
      and a gap between them makes it Rejected.
    - ``microocpp``: the whole window; an instant with no limit is -1; TxDefaultProfiles
      count only while a transaction runs; limits are reported as given, never converted.
    """

    STRICT = "strict"
    LIBOCPP = "libocpp"
    OPEN_OCPP = "open-ocpp"
    MICROOCPP = "microocpp"


# libocpp converts A<->W with a fixed 230 V; MicroOcpp reports "no limit" as -1.
LIBOCPP_VOLTAGE = 230.0
NO_LIMIT = -1.0


@dataclass(frozen=True)
class _Rules:
    tx_without_transaction: bool = False
    tx_default_needs_transaction: bool = False
    recurring_backwards: bool = False
    cap: bool = True
    phases: str = "period"  # period: each limit's own; lowest: the lowest active; none
    report_phases: bool = False
    station_sum: bool = True  # connector 0: the connectors' sum, or connector 0's own


_RULES = {
    Convention.STRICT: _Rules(),
    Convention.LIBOCPP: _Rules(tx_without_transaction=True, recurring_backwards=True,
                               phases="lowest"),
    Convention.OPEN_OCPP: _Rules(cap=False, report_phases=True, station_sum=False),
    Convention.MICROOCPP: _Rules(tx_default_needs_transaction=True, phases="none"),
}


@dataclass(frozen=True)
class _Raw:
    """A winning period as its profile gives it."""

    limit: float
    unit: ChargingRateUnit
    number_phases: int | None


@dataclass(frozen=True)
class _Limit:
    value: float  # in the requested unit, unrounded
    number_phases: int | None


@dataclass(frozen=True)
class _Stack:
    """The profiles of one purpose that may apply, each with its schedule anchor."""

    entries: tuple[tuple[SchedulableProfile, datetime | None], ...]

    def winner(self, at: datetime) -> _Raw | None:
        # OCPP 1.6 §3.13.2: the running profile with the highest stackLevel prevails; on a
        # tie (not possible once installed) the later installed one does.
        best: tuple[SchedulableProfile, ChargingSchedulePeriod] | None = None
        for profile, anchor in self.entries:
            period = period_at(profile, anchor, at)
            if period is not None and (best is None or profile.stack_level >= best[0].stack_level):
                best = (profile, period)
        if best is None:
            return None
        profile, period = best
        return _Raw(period.limit, profile.schedule.charging_rate_unit, period.number_phases)

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
    tx_always: bool  # TxProfiles count without a transaction (libocpp)
    own_default: _Stack
    station_default: _Stack
    own_caps: tuple[_Stack, ...] = ()  # what caps this place alone (2.0.1: EVSE N external)


@dataclass(frozen=True)
class _Context:
    unit: ChargingRateUnit
    supply: SupplyConfig
    rules: _Rules
    caps: tuple[_Stack, ...]  # each caps every place and the station's sum
    fallback: _Limit
    station_max: float | None
    protocol: ProtocolRules = V16

    def cap_winners(self, at: datetime) -> list[_Raw]:
        return [raw for stack in self.caps if (raw := stack.winner(at)) is not None]


@dataclass(frozen=True)
class Point:
    """From ``start`` (seconds into the answer): the ``limit`` profiles impose, or None
    where none bounds the connector; ``shown`` is then what the charger reports when it
    depends on the instant (a connector-0 sum with some connectors unbounded)."""

    start: int
    limit: float | None
    number_phases: int | None
    shown: float | None = None


@dataclass(frozen=True)
class CompositeAnswer:
    """A charger's answer to GetCompositeSchedule.req under a convention, with the instants
    no acknowledged profile bounds kept apart (``limit`` None): a charger reports its own
    value there, which says nothing about the profiles it holds.

    ``periods`` start at ``schedule_start`` and cover ``duration`` seconds; ``status`` is
    Rejected when the convention cannot report (open-ocpp with a gap).
    """

    connector_id: int
    schedule_start: datetime
    duration: int
    unit: ChargingRateUnit
    convention: Convention
    periods: tuple[Point, ...]
    fill: float
    status: str = "Accepted"
    rules: ProtocolRules = V16

    @property
    def bounded(self) -> bool:
        """Whether some instant of the window is bounded by a profile."""
        return any(p.limit is not None for p in self.periods)

    @property
    def compared_seconds(self) -> int:
        """How much of the window an answer must match to be explained by this one: the
        bounded seconds, or the whole window for MicroOcpp, whose -1 where no limit
        applies is compared too. Of two conventions that explain an answer, the one that
        compares more is the more specific explanation."""
        if self.status != "Accepted":
            return 0
        if self.convention is Convention.MICROOCPP:
            return self.duration
        ends = [p.start for p in self.periods[1:]] + [self.duration]
        return sum(end - p.start for p, end in zip(self.periods, ends, strict=True)
                   if p.limit is not None)

    def schedule(self) -> CompositeSchedule:
        """As reported: unbounded instants carry the charger's own value."""
        filled = (ChargingSchedulePeriod(
            p.start, p.limit if p.limit is not None else (
                p.shown if p.shown is not None else self.fill), p.number_phases)
            for p in self.periods)
        return CompositeSchedule(self.connector_id, self.schedule_start, self.duration,
                                 self.unit, merge_periods(filled), self.rules)

    def to_ocpp(self) -> dict[str, Any]:
        if self.status != "Accepted":
            return {"status": self.status}
        return self.schedule().to_ocpp()


def composite_schedule(
    installed: Sequence[Holding],
    connector_id: int,
    start: datetime,
    duration: int | timedelta,
    unit: ChargingRateUnit,
    *,
    transactions: Sequence[Running] = (),
    number_of_connectors: int = 1,
    supply: SupplyConfig = SupplyConfig(),  # noqa: B008 - frozen, shared safely
    station_max_w: float | None = None,
    station_max_a: float | None = None,
    rules: ProtocolRules = V16,
) -> CompositeSchedule:
    """The composite schedule of ``connector_id`` over [start, start + duration), strict.

    ``duration`` is in seconds (a timedelta is taken too, rounded to the second). See the
    module docstring for the rules and the choices made; ``rules`` is the OCPP version.
    """
    return composite_answer(
        installed, connector_id, start, duration, unit, transactions=transactions,
        number_of_connectors=number_of_connectors, supply=supply, station_max_w=station_max_w,
        station_max_a=station_max_a, rules=rules).schedule()


def composite_answer(
    installed: Sequence[Holding],
    connector_id: int,
    start: datetime,
    duration: int | timedelta,
    unit: ChargingRateUnit,
    *,
    convention: Convention = Convention.STRICT,
    transactions: Sequence[Running] = (),
    number_of_connectors: int = 1,
    supply: SupplyConfig = SupplyConfig(),  # noqa: B008 - frozen, shared safely
    station_max_w: float | None = None,
    station_max_a: float | None = None,
    unconstrained: float | None = None,
    rules: ProtocolRules = V16,
) -> CompositeAnswer:
    """What a charger following ``convention`` answers for ``connector_id`` over
    [start, start + duration). ``unconstrained`` (in ``unit``) is what it reports where no
    profile bounds it; by default the station maximum, else 48 A (strict) and 48 A
    (libocpp)."""
    if isinstance(duration, timedelta):
        duration = round(duration.total_seconds())
    if duration <= 0:
        raise ValueError("duration must be greater than 0")
    if connector_id < 0:
        raise ValueError("connector_id must be 0 or greater")
    protocol, reading = rules, _RULES[convention]
    start = ensure_utc(start)
    end = start + timedelta(seconds=duration)
    ctx = _context(installed, start, unit, supply, station_max_w, station_max_a, reading, protocol)
    if connector_id == 0 and not reading.station_sum:
        ids: Sequence[int] = (0,)
    else:
        ids = range(1, number_of_connectors + 1) if connector_id == 0 else (connector_id,)
    connectors = [_connector(installed, c, start, transactions, reading, protocol) for c in ids]

    points = {start}
    for stack in ctx.caps:
        points |= stack.breakpoints(start, end)
    for conn in connectors:
        for stack in conn.own_caps:
            points |= stack.breakpoints(start, end)
        points |= conn.tx.breakpoints(start, end)
        points |= conn.own_default.breakpoints(start, end)
        points |= conn.station_default.breakpoints(start, end)
        if conn.tx_start is not None and start < conn.tx_start < end:
            points.add(conn.tx_start)

    fill = _fill(ctx, convention, unit, supply, unconstrained)
    periods: list[Point] = []
    for at in sorted(points):
        shown: float | None = None
        if connector_id == 0 and reading.station_sum:
            limit, shown = _station_limit(ctx, connectors, at, fill)
        else:
            limit = _connector_limit(ctx, connectors[0], at)
        offset = round((at - start).total_seconds())
        period = (Point(offset, None, None, None if shown is None else render_limit(shown))
                  if limit is None
                  else Point(offset, render_limit(limit.value), limit.number_phases))
        if periods and periods[-1].start == offset:
            periods[-1] = period  # sub-second breakpoints: the later one covers the second
        elif not periods or (periods[-1].limit, periods[-1].number_phases,
                             periods[-1].shown) != (period.limit, period.number_phases,
                                                    period.shown):
            periods.append(period)
    answer = CompositeAnswer(connector_id, start, duration, unit, convention, tuple(periods),
                             fill, rules=protocol)
    return _trimmed(answer) if convention is Convention.OPEN_OCPP else answer


def _fill(ctx: _Context, convention: Convention, unit: ChargingRateUnit,
          supply: SupplyConfig, unconstrained: float | None) -> float:
    if convention is Convention.MICROOCPP:
        return NO_LIMIT
    if unconstrained is not None:
        return render_limit(unconstrained)
    if convention is Convention.LIBOCPP:
        return render_limit(convert(supply.default_limit_a, ChargingRateUnit.A, unit,
                                    supply=SupplyConfig(voltage=LIBOCPP_VOLTAGE, phases=3)))
    return render_limit(ctx.fallback.value)


def _trimmed(answer: CompositeAnswer) -> CompositeAnswer:
    """open-ocpp: only the instants some profile bounds, in one run; a gap is Rejected."""
    periods = answer.periods
    bounded = [i for i, p in enumerate(periods) if p.limit is not None]
    if not bounded:
        # Nothing bounds the window: an empty answer (it covers no instant).
        return dataclasses.replace(answer, duration=0, periods=(Point(0, None, 3),))
    first, last = bounded[0], bounded[-1]
    if any(p.limit is None for p in periods[first:last + 1]):
        return dataclasses.replace(answer, status="Rejected")
    shift = periods[first].start
    end = periods[last + 1].start if last + 1 < len(periods) else answer.duration
    kept = tuple(dataclasses.replace(p, start=p.start - shift)
                 for p in periods[first:last + 1])
    return dataclasses.replace(
        answer, schedule_start=answer.schedule_start + timedelta(seconds=shift),
        duration=end - shift, periods=kept)


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
    installed: Sequence[Holding],
    start: datetime,
    unit: ChargingRateUnit,
    supply: SupplyConfig,
    station_max_w: float | None,
    station_max_a: float | None,
    rules: _Rules,
    protocol: ProtocolRules,
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
    # OCPP 1.6 §3.13.1: ChargePointMaxProfile is set on connector 0 only. 2.0.1 adds the
    # ChargingStationExternalConstraints of EVSE 0 (module docstring).
    caps = tuple(_stack(installed, 0, role, start, None, rules)
                 for role in sorted(protocol.station_caps)) if rules.cap else ()
    fallback = _Limit(station_max if station_max is not None else default, None)
    return _Context(unit, supply, rules, caps, fallback, station_max, protocol)


def _connector(
    installed: Sequence[Holding],
    connector_id: int,
    start: datetime,
    transactions: Sequence[Running],
    rules: _Rules,
    protocol: ProtocolRules,
) -> _Connector:
    transaction = next((t for t in transactions if t.connector_id == connector_id), None)
    tx_start = ensure_utc(transaction.start) if transaction is not None else None
    tx_entries: tuple[tuple[SchedulableProfile, datetime | None], ...] = ()
    if transaction is not None or rules.tx_without_transaction:
        # OCPP 1.6 §3.13.1: a TxProfile applies to its transaction only; one without
        # transactionId came with RemoteStartTransaction (errata §3.41) and means this one.
        tx_entries = tuple(
            (item.profile, _anchor(item.profile, start, tx_start, rules))
            for item in installed
            if item.connector_id == connector_id
            and item.profile.role is ProfileRole.TX
            and (transaction is None
                 or item.profile.transaction_id in (None, transaction.transaction_id))
        )
    return _Connector(
        tx=_Stack(tx_entries),
        tx_start=tx_start,
        tx_always=transaction is None and rules.tx_without_transaction,
        own_default=_stack(installed, connector_id, ProfileRole.TX_DEFAULT, start, tx_start,
                           rules),
        station_default=(_Stack(()) if connector_id == 0 else _stack(
            installed, 0, ProfileRole.TX_DEFAULT, start, tx_start, rules)),
        own_caps=(() if connector_id == 0 else tuple(
            _stack(installed, connector_id, role, start, tx_start, rules)
            for role in sorted(protocol.place_caps))),
    )


def _anchor(profile: SchedulableProfile, start: datetime, tx_start: datetime | None,
            rules: _Rules) -> datetime | None:
    anchor = schedule_anchor(profile, start, tx_start)
    if (anchor is not None and rules.recurring_backwards and anchor > start
            and profile.kind is ChargingProfileKind.RECURRING):
        # libocpp: the recurrence runs backwards in time too.
        cycle = timedelta(seconds=RECURRENCE_SECONDS[
            profile.recurrency_kind or RecurrencyKind.DAILY])
        anchor -= cycle * -((start - anchor) // cycle)
    return anchor


def _stack(
    installed: Sequence[Holding],
    connector_id: int,
    role: ProfileRole,
    start: datetime,
    tx_start: datetime | None,
    rules: _Rules,
) -> _Stack:
    return _Stack(
        tuple(
            (item.profile, _anchor(item.profile, start, tx_start, rules))
            for item in installed
            if item.connector_id == connector_id and item.profile.role is role
        )
    )


def _converted(ctx: _Context, raw: _Raw | None, lowest: int | None) -> _Limit | None:
    if raw is None:
        return None
    rules = ctx.rules
    reported = raw.number_phases if raw.number_phases is not None or not rules.report_phases \
        else 3
    if rules.phases == "none":
        return _Limit(raw.limit, reported)
    if rules.phases == "lowest":
        supply = SupplyConfig(voltage=LIBOCPP_VOLTAGE, phases=lowest or 3)
        return _Limit(convert(raw.limit, raw.unit, ctx.unit, supply=supply), reported)
    value = convert(raw.limit, raw.unit, ctx.unit, number_phases=raw.number_phases,
                    supply=ctx.supply)
    return _Limit(value, reported)


def _uncapped(conn: _Connector, rules: _Rules, at: datetime) -> _Raw | None:
    running = conn.tx_start is not None and at >= conn.tx_start
    # OCPP 1.6 §3.13.1: TxProfile overrules TxDefaultProfile whatever the stack levels.
    if running or conn.tx_always:
        found = conn.tx.winner(at)
        if found is not None:
            return found
    if rules.tx_default_needs_transaction and not running:
        return None
    # OCPP 1.6 §3.13.1: a TxDefaultProfile on the connector replaces the one on connector 0.
    return conn.own_default.winner(at) or conn.station_default.winner(at)


def _lowest(*limits: _Limit | None) -> _Limit | None:
    present = [limit for limit in limits if limit is not None]
    return min(present, key=lambda limit: limit.value) if present else None


def _connector_limit(ctx: _Context, conn: _Connector, at: datetime) -> _Limit | None:
    """The limit at ``at``; None where no profile bounds the connector. Each limit is
    converted to the requested unit before the minimum is taken: amperes and watts are
    never compared as they are."""
    own = _uncapped(conn, ctx.rules, at)
    caps = ctx.cap_winners(at) + [raw for stack in conn.own_caps
                                  if (raw := stack.winner(at)) is not None]
    phases = [r.number_phases for r in (own, *caps) if r is not None and r.number_phases]
    lowest = min(phases) if phases else None
    return _lowest(_converted(ctx, own, lowest), *(_converted(ctx, cap, lowest) for cap in caps))


def _station_limit(ctx: _Context, connectors: Sequence[_Connector], at: datetime,
                   fill: float) -> tuple[_Limit | None, float]:
    """Connector 0: the sum of the connectors, capped; bounded only when every connector
    is (a sum with an unbounded part depends on the charger's own values). A
    ChargePointMaxProfile bounds every connector, so under a cap connector 0 is always
    bounded. The second value is what is reported, unbounded connectors counting
    ``fill``."""
    parts = [_connector_limit(ctx, conn, at) for conn in connectors]
    filled = [part or _Limit(max(fill, 0.0), None) for part in parts]
    phases = {part.number_phases for part in filled}
    total = _Limit(sum(part.value for part in filled),
                   phases.pop() if len(phases) == 1 else None)
    station = _Limit(ctx.station_max, None) if ctx.station_max is not None else None
    caps = [_converted(ctx, cap, cap.number_phases) for cap in ctx.cap_winners(at)]
    limit = _lowest(total, *caps, station)
    assert limit is not None  # total is always there
    if any(part is None for part in parts):
        return None, limit.value
    return limit, limit.value


# --- reading GetCompositeSchedule.conf payloads -------------------------------------------
