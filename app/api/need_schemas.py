"""Request and response bodies of /transactions/{id}/needs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from app.db.models import TransactionEvSchedule
from app.domain.needs import Source
from app.json_types import JsonObject
from app.services.load.needs import NeedRequest, SessionNeed

Percent = Annotated[float, Meta(ge=0, le=100)]


class NeedBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Either energy_kwh, or target_soc with battery_kwh and soc; always departure."""

    energy_kwh: Annotated[float, Meta(
        ge=0, description="The session's energy by the departure, kWh, what it delivered so "
        "far included (0: no plan)")] | None = None
    target_soc: Annotated[Percent, Meta(
        description="State of charge wanted by the departure, %")] | None = None
    soc: Annotated[Percent, Meta(
        description="State of charge now, %: needed with target_soc; the gap to it is "
        "added to what the session delivered so far")] | None = None
    battery_kwh: Annotated[float, Meta(
        gt=0, description="Usable battery capacity, kWh: needed with target_soc")] | None = None
    departure: Annotated[datetime, Meta(
        tz=True, description="When the car leaves, ISO 8601 with a UTC offset; one in the "
        "past is kept but does not plan")]

    def to_service(self) -> NeedRequest:
        return NeedRequest(departure=self.departure, energy_kwh=self.energy_kwh,
                           target_soc=self.target_soc, soc=self.soc,
                           battery_kwh=self.battery_kwh)


class NeedDetailView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where the need came from; only the fields of its source are present."""

    id_tag: Annotated[str | None, Meta(
        description="The id tag whose default or history gave it")] = None
    departure_local: Annotated[str | None, Meta(
        description="The id tag default's local departure, HH:MM")] = None
    timezone: Annotated[str | None, Meta(
        description="The id tag default's IANA time zone")] = None
    sessions: Annotated[int | None, Meta(
        description="Past sessions of the id tag whose medians were taken")] = None
    median_dwell_s: Annotated[float | None, Meta(
        description="Their median stay, seconds")] = None
    circuit_id: Annotated[str | None, Meta(
        description="The circuit whose default_dwell_s gave it")] = None
    default_dwell_s: Annotated[int | None, Meta(
        description="That circuit's default stay, seconds")] = None
    energy_transfer: Annotated[str | None, Meta(
        description="The car's requestedEnergyTransfer (AC_single_phase, AC_three_phase, "
        "DC, ...)")] = None
    energy_amount_wh: Annotated[float | None, Meta(
        description="The car's energyAmount, Wh, counted from when it asked")] = None
    ev_min_current_a: Annotated[float | None, Meta(
        description="The car's evMinCurrent, A: the session's minimum")] = None
    ev_max_current_a: Annotated[float | None, Meta(
        description="The car's evMaxCurrent, A: the session's maximum")] = None
    soc: Annotated[float | None, Meta(
        description="The car's stateOfCharge when it asked, % (DC)")] = None
    battery_kwh: Annotated[float | None, Meta(
        description="The car's evEnergyCapacity, kWh (DC)")] = None


class NeedRequestView(msgspec.Struct, kw_only=True):
    """What was asked through PUT, as sent."""

    energy_kwh: Annotated[float, Meta(description="Energy asked for (or worked out), kWh")]
    departure: Annotated[datetime, Meta(description="Departure asked for, UTC")]
    target_soc: Annotated[float | None, Meta(description="Target state of charge, %")]
    soc: Annotated[float | None, Meta(description="State of charge when asked, %")]
    battery_kwh: Annotated[float | None, Meta(description="Battery capacity given, kWh")]
    requested_at: Annotated[datetime, Meta(description="When it was asked, UTC")]


class NeedView(msgspec.Struct, kw_only=True):
    """A running session's effective need: the first source that has one of ev (what the
    car said, OCPP 2.0.1 NotifyEVChargingNeeds), request, id_tag, history,
    circuit_default (else none)."""

    transaction_id: Annotated[int, Meta(description="The OCPP transactionId")]
    source: Annotated[Source, Meta(
        description="ev > request > id_tag > history > circuit_default > none")]
    energy_kwh: Annotated[float | None, Meta(
        description="Energy wanted by the departure, kWh; null: as much as it can take "
        "(circuit_default) or no need (none)")]
    delivered_kwh: Annotated[float, Meta(
        description="Energy delivered so far: the energy register less meterStart, kWh")]
    remaining_kwh: Annotated[float | None, Meta(
        description="energy_kwh less delivered_kwh, never below 0; null with energy_kwh")]
    departure: Annotated[datetime | None, Meta(description="When it leaves, UTC")]
    plan: Annotated[bool, Meta(
        description="false: no plan, the session gets its fair share (see reason)")]
    reason: Annotated[str | None, Meta(description="Why it does not plan, when it does not")]
    detail: Annotated[NeedDetailView, Meta(description="Where the need came from")]
    requested: Annotated[NeedRequestView | None, Meta(
        description="The request held for the transaction, even when it is not the source "
        "in force; null without one")]


def need_view(found: SessionNeed) -> NeedView:
    need, request = found.need, found.request
    return NeedView(
        transaction_id=found.transaction.id, source=need.source, energy_kwh=need.energy_kwh,
        delivered_kwh=need.delivered_kwh, remaining_kwh=need.remaining_kwh,
        departure=need.departure, plan=need.plan, reason=need.reason,
        detail=msgspec.convert(dict(need.detail), NeedDetailView),
        requested=None if request is None else NeedRequestView(
            energy_kwh=request.energy_kwh, departure=request.departure,
            target_soc=request.target_soc, soc=request.soc, battery_kwh=request.battery_kwh,
            requested_at=request.requested_at))


class EvScheduleView(msgspec.Struct, kw_only=True):
    """A schedule the car chose (OCPP 2.0.1 NotifyEVChargingSchedule) and chargeplan's
    answer to it."""

    id: Annotated[int, Meta(description="The record's id, increasing")]
    evse_id: Annotated[int, Meta(description="The EVSE (connector) of the session")]
    time_base: Annotated[datetime, Meta(description="timeBase: the periods count from it")]
    schedule: Annotated[JsonObject, Meta(description="The chargingSchedule as the car chose "
                                                     "it")]
    status: Annotated[Literal["accepted", "rejected"], Meta(
        description="accepted: at or below what was sent for the session at every instant; "
        "rejected: above it somewhere")]
    period: Annotated[int | None, Meta(
        description="Rejected: the index of the car's first period above the limit")]
    exceeds_at: Annotated[datetime | None, Meta(
        description="Rejected: the first instant above the limit, UTC")]
    exceeds_by: Annotated[float | None, Meta(
        description="Rejected: how much above the limit, in the schedule's unit")]
    reason: Annotated[str | None, Meta(description="Rejected: the same, in words")]
    renegotiation: Annotated[str | None, Meta(
        description="Rejected: what followed (the TxProfile sent again and the answer, or "
        "why nothing was sent); null until it is done")]
    received_at: Annotated[datetime, Meta(description="When it came, UTC")]


def ev_schedule_view(row: TransactionEvSchedule) -> EvScheduleView:
    return EvScheduleView(
        id=row.id, evse_id=row.evse_id, time_base=row.time_base, schedule=row.schedule,
        status="accepted" if row.status == "accepted" else "rejected", period=row.period,
        exceeds_at=row.exceeds_at, exceeds_by=row.exceeds_by, reason=row.reason,
        renegotiation=row.renegotiation, received_at=row.received_at)
