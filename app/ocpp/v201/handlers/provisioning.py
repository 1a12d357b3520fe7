"""OCPP 2.0.1 B (Provisioning) and what goes with it, charging station to CSMS: boot,
heartbeat, connector status, the device model's reports."""

from __future__ import annotations

import logging
from typing import Any

from app.domain.protocol_rules import OcppVersion
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.router import CallContext, Handler, Reply
from app.ocpp.v201.convert import connector_status
from app.services.errors import Invalid
from app.services.messages import StationBooted
from app.timefmt import format_timestamp, parse_timestamp

log = logging.getLogger("chargeplan.ocpp")


async def boot_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """B01: the station says what it is; the services keep it as they keep a 1.6 boot."""
    services = ctx.services
    station = payload["chargingStation"]
    modem = station.get("modem") or {}
    accepted = await services.stations.boot(ctx.station_id, {
        "chargePointVendor": station["vendorName"], "chargePointModel": station["model"],
        "chargePointSerialNumber": station.get("serialNumber"),
        "firmwareVersion": station.get("firmwareVersion"),
        "iccid": modem.get("iccid"), "imsi": modem.get("imsi")})
    log.info("%s booted (%s): %s %s fw %s", ctx.station_id, payload["reason"],
             station["vendorName"], station["model"], station.get("firmwareVersion"))
    ctx.connection.pending_boot = not accepted
    ctx.connection.triggered.clear()
    if not accepted:
        # B02: held; the interval is the least wait before the next boot.
        return Reply({"status": "Pending", "currentTime": format_timestamp(services.clock()),
                      "interval": services.settings.pending_boot_interval_s})
    answer = {"status": "Accepted", "currentTime": format_timestamp(services.clock()),
              "interval": services.settings.heartbeat_interval_s}

    async def after() -> None:
        await services.bus.handle(StationBooted(ctx.station_id, OcppVersion.V201))

    return Reply(answer, after)


async def heartbeat(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    return Reply({"currentTime": format_timestamp(ctx.services.clock())})


async def status_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """G01: the status of a connector of an EVSE. The services keep one status per place,
    and a 2.0.1 EVSE is the place a 1.6 connector is (docs/architecture.md)."""
    timestamp = parse_timestamp(payload["timestamp"])
    await ctx.services.stations.observe_time(ctx.station_id, timestamp)
    status = connector_status(payload["connectorStatus"])
    await ctx.services.stations.status(ctx.station_id, {
        "connectorId": payload["evseId"], "status": status,
        "errorCode": "OtherError" if status == "Faulted" else "NoError"}, timestamp)
    return Reply({})


async def notify_report(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """B07/B08: a page of the device model report; the last one (tbc false) replaces what
    the services kept of the station's variables."""
    try:
        await ctx.services.device_model.notify_report(
            ctx.station_id, payload["requestId"], payload["seqNo"],
            bool(payload.get("tbc", False)), payload.get("reportData") or [],
            parse_timestamp(payload["generatedAt"]))
    except Invalid as exc:
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(exc)) from None
    return Reply({})


async def firmware_status_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """L01/L02: the status of the update of a requestId, kept where a 1.6 station's
    FirmwareStatusNotification and SignedFirmwareStatusNotification are (2.0.1's own
    statuses, InvalidSignature, SignatureVerified, ..., as they are)."""
    status = payload["status"]
    await ctx.services.stations.firmware_status(ctx.station_id, status)
    if status in ("InvalidSignature", "InstallVerificationFailed"):
        log.warning("%s refused firmware of request %s: %s", ctx.station_id,
                    payload.get("requestId"), status)
    return Reply({})


async def data_transfer(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    # P02: no vendor-specific extensions are known here; the frame is audited.
    return Reply({"status": "UnknownVendorId"})


HANDLERS: dict[str, Handler] = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "NotifyReport": notify_report,
    "FirmwareStatusNotification": firmware_status_notification,
    "DataTransfer": data_transfer,
}
