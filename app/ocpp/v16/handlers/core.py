"""OCPP 1.6 Core profile, charge point to central system (§4)."""

from __future__ import annotations

import logging
from typing import Any

from app.domain.protocol_rules import OcppVersion
from app.ocpp.router import CallContext, Handler, Reply
from app.services.messages import (
    ChargingStateChanged,
    CircuitChanged,
    SessionMetered,
    StationBooted,
)
from app.timefmt import format_timestamp, parse_timestamp

log = logging.getLogger("chargeplan.ocpp")


async def boot_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    services = ctx.services
    accepted = await services.stations.boot(ctx.station_id, payload)
    log.info("%s booted: %s %s fw %s", ctx.station_id, payload["chargePointVendor"],
             payload["chargePointModel"], payload.get("firmwareVersion"))
    ctx.connection.pending_boot = not accepted
    ctx.connection.triggered.clear()
    if not accepted:
        # OCPP 1.6 §4.2: held; the interval is the least wait before the next boot.
        return Reply({"status": "Pending", "currentTime": format_timestamp(services.clock()),
                      "interval": services.settings.pending_boot_interval_s})
    answer = {
        "status": "Accepted",
        "currentTime": format_timestamp(services.clock()),
        "interval": services.settings.heartbeat_interval_s,
    }

    async def after() -> None:
        await services.bus.handle(StationBooted(ctx.station_id, OcppVersion.V16))

    return Reply(answer, after)


async def heartbeat(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    return Reply({"currentTime": format_timestamp(ctx.services.clock())})


async def status_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    timestamp = parse_timestamp(payload["timestamp"]) if "timestamp" in payload else None
    if timestamp is not None:
        await ctx.services.stations.observe_time(ctx.station_id, timestamp)
    await ctx.services.stations.status(ctx.station_id, payload, timestamp)
    if payload["status"] in _CHARGING_STATES:
        # A car that pauses or charges again changes what its circuit should share out.
        ctx.services.bus.publish(ChargingStateChanged(ctx.station_id))
    return Reply({})


# OCPP 1.6 §4.9 ChargePointStatus values of a connector with a transaction.
_CHARGING_STATES = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE"})


async def authorize(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    return Reply({"idTagInfo": await ctx.services.id_tags.id_tag_info(payload["idTag"])})


async def start_transaction(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    await ctx.services.stations.observe_time(ctx.station_id,
                                             parse_timestamp(payload["timestamp"]))
    return Reply(await ctx.services.transactions.start(ctx.station_id, payload))


async def stop_transaction(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    await ctx.services.stations.observe_time(ctx.station_id,
                                             parse_timestamp(payload["timestamp"]))
    return Reply(await ctx.services.transactions.stop(ctx.station_id, payload))


async def meter_values(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    # The latest sample is the one closest to being sent live.
    latest = max(parse_timestamp(m["timestamp"]) for m in payload["meterValue"])
    await ctx.services.stations.observe_time(ctx.station_id, latest)
    await ctx.services.transactions.meter_values(ctx.station_id, payload)
    metered = await ctx.services.circuits.meter_sample(
        ctx.station_id, payload["connectorId"], payload["meterValue"])
    if metered is not None:  # the connector is a circuit's meter
        ctx.services.bus.publish(CircuitChanged(metered))
    if payload.get("transactionId") is not None:
        # What a charging car draws decides its unused capacity and whether its charger
        # keeps to its limit: its circuit tree (if any) is re-planned, at most so often.
        ctx.services.bus.publish(SessionMetered(ctx.station_id))
    return Reply({})


async def data_transfer(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    # OCPP 1.6 §4.3: no vendor-specific extensions are known here; the frame is audited.
    return Reply({"status": "UnknownVendorId"})


async def diagnostics_status_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    await ctx.services.stations.diagnostics_status(ctx.station_id, payload["status"])
    return Reply({})


async def firmware_status_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    await ctx.services.stations.firmware_status(ctx.station_id, payload["status"])
    return Reply({})


HANDLERS: dict[str, Handler] = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "StartTransaction": start_transaction,
    "StopTransaction": stop_transaction,
    "MeterValues": meter_values,
    "DataTransfer": data_transfer,
    "DiagnosticsStatusNotification": diagnostics_status_notification,
    "FirmwareStatusNotification": firmware_status_notification,
}
