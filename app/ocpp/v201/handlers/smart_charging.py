"""OCPP 2.0.1 K (Smart charging), charging station to CSMS: limits set outside the CSMS,
the car's needs and chosen schedule, the profiles a station reports it holds (read back
by reconcile)."""

from __future__ import annotations

import itertools
import logging
from typing import Any

from app.domain.profiles import ChargingRateUnit, ChargingSchedule, ChargingSchedulePeriod
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.router import CallContext, Handler, Reply
from app.ocpp.v201.profile_reports import ProfileReports, read_page
from app.services.errors import Invalid, NotFound
from app.services.load.ev_needs import EvChargingNeeds
from app.timefmt import parse_timestamp

log = logging.getLogger("chargeplan.ocpp")


async def notify_charging_limit(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """K12: a limit set outside the CSMS (an energy manager, the grid operator)."""
    limit = payload["chargingLimit"]
    try:
        await ctx.services.external_limits.notify(
            ctx.station_id, limit["chargingLimitSource"], evse_id=payload.get("evseId"),
            is_grid_critical=limit.get("isGridCritical"),
            schedules=payload.get("chargingSchedule"))
    except Invalid as exc:
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(exc)) from None
    return Reply({})


async def cleared_charging_limit(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """K13: the limit of that source (on that EVSE, or on every one) is gone."""
    try:
        await ctx.services.external_limits.cleared(
            ctx.station_id, payload["chargingLimitSource"], evse_id=payload.get("evseId"))
    except Invalid as exc:
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(exc)) from None
    return Reply({})


def _needs(payload: dict[str, Any]) -> EvChargingNeeds:
    needs = payload["chargingNeeds"]
    ac = needs.get("acChargingParameters") or {}
    dc = needs.get("dcChargingParameters") or {}
    departure = needs.get("departureTime")
    return EvChargingNeeds(
        energy_transfer=needs["requestedEnergyTransfer"],
        departure=None if departure is None else parse_timestamp(departure),
        energy_amount_wh=ac.get("energyAmount", dc.get("energyAmount")),
        ev_min_current_a=ac.get("evMinCurrent"),
        ev_max_current_a=ac.get("evMaxCurrent", dc.get("evMaxCurrent")),
        ev_max_voltage_v=ac.get("evMaxVoltage", dc.get("evMaxVoltage")),
        ev_max_power_w=dc.get("evMaxPower"),
        soc=dc.get("stateOfCharge"),
        battery_wh=dc.get("evEnergyCapacity"),
        max_schedule_tuples=payload.get("maxScheduleTuples"))


async def notify_ev_charging_needs(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """K15/K17: what the car on the EVSE needs becomes its session's need. Rejected when
    no transaction runs there: there is no session to give it to."""
    try:
        await ctx.services.ev_needs.notify(ctx.station_id, payload["evseId"], _needs(payload))
    except NotFound as exc:
        return Reply({"status": "Rejected", "statusInfo": {
            "reasonCode": "NoTransaction", "additionalInfo": str(exc)[:512]}})
    except Invalid as exc:
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(exc)) from None
    return Reply({"status": "Accepted"})


def _ev_schedule(payload: dict[str, Any]) -> ChargingSchedule:
    """The car's ChargingScheduleType in the model's terms; PropertyConstraintViolation
    when its periods do not start at 0 and rise (no schedule to check)."""
    raw = payload["chargingSchedule"]
    periods = tuple(ChargingSchedulePeriod(p["startPeriod"], float(p["limit"]),
                                           p.get("numberPhases"))
                    for p in raw["chargingSchedulePeriod"])
    starts = [p.start_period for p in periods]
    if starts[0] != 0 or any(a >= b for a, b in itertools.pairwise(starts)):
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                        "chargingSchedule.chargingSchedulePeriod: startPeriod must start at "
                        f"0 and rise, got {starts}")
    return ChargingSchedule(ChargingRateUnit(raw["chargingRateUnit"]), periods,
                            duration=raw.get("duration"))


async def notify_ev_charging_schedule(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """K15/K16/K17: the schedule the car chose, Accepted when it is within what was sent
    for its session (K15.FR.11), else Rejected naming the first period over (K15.FR.12);
    the service records it and renegotiates a rejection."""
    time_base = parse_timestamp(payload["timeBase"])
    verdict = await ctx.services.ev_schedules.notify(
        ctx.station_id, payload["evseId"], time_base, _ev_schedule(payload),
        payload["chargingSchedule"])
    if verdict.excess is None:
        return Reply({"status": "Accepted"})
    return Reply({"status": "Rejected", "statusInfo": {
        "reasonCode": "ExceedsLimit", "additionalInfo": verdict.excess.describe()[:512]}})


def report_charging_profiles(reports: ProfileReports) -> Handler:
    """K09: a page of what the station holds, answering GetChargingProfiles, handed to
    the request that asked (a read-back or an operator's, ``profile_reports.py``); a page
    nobody waits for is audited only. A profile the model cannot read is refused,
    whoever asked."""

    async def handle(ctx: CallContext, payload: dict[str, Any]) -> Reply:
        page = read_page(payload)
        if not reports.received(ctx.station_id, payload):
            log.info("%s reports %d profile(s) on EVSE %s from %s, request %s: not awaited",
                     ctx.station_id, len(page.profiles), page.evse_id, page.source.value,
                     payload["requestId"])
        return Reply({})

    return handle


def handlers(reports: ProfileReports) -> dict[str, Handler]:
    return {
        "NotifyChargingLimit": notify_charging_limit,
        "ClearedChargingLimit": cleared_charging_limit,
        "NotifyEVChargingNeeds": notify_ev_charging_needs,
        "NotifyEVChargingSchedule": notify_ev_charging_schedule,
        "ReportChargingProfiles": report_charging_profiles(reports),
    }
