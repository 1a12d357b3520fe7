"""What a 2.0.1 station reports of itself beyond provisioning and security: the upload
status of a log (N01), kept as the 1.6 security extension's is, the events of its
components (N07), the messages it displays (O04), its monitors (N02), what it keeps of a
customer (N09) and a firmware file's publication (L03), in the audit trail, and the
reservations it ended itself (ReservationStatusUpdate)."""

from __future__ import annotations

import logging
from typing import Any

from app.ocpp.router import CallContext, Handler, Reply

log = logging.getLogger("chargeplan.ocpp")


async def log_status_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    # Where the 1.6 diagnostics' and the security extension's GetLog upload status is kept.
    await ctx.services.stations.diagnostics_status(ctx.station_id, payload["status"])
    return Reply({})


def _audited(what: str) -> Handler:
    """A report whose pages are read in the audit trail: answered, nothing else kept
    (component events too: a connector's plug, a fault, a monitor's trigger)."""

    async def handle(ctx: CallContext, payload: dict[str, Any]) -> Reply:
        log.debug("%s: %s, request %s", ctx.station_id, what, payload.get("requestId"))
        return Reply({})

    return handle


async def reservation_status_update(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """The station ended a reservation itself (Expired, Removed); one chargeplan never
    sent is audited only."""
    if not await ctx.services.commands.reservation_ended(
            ctx.station_id, payload["reservationId"], payload["reservationUpdateStatus"]):
        log.info("%s: reservation %s %s, not one sent from here", ctx.station_id,
                 payload["reservationId"], payload["reservationUpdateStatus"])
    return Reply({})


HANDLERS: dict[str, Handler] = {
    "LogStatusNotification": log_status_notification,
    "NotifyEvent": _audited("component events (N07)"),
    "NotifyDisplayMessages": _audited("display messages (O04)"),
    "NotifyMonitoringReport": _audited("monitors reported (N02)"),
    "NotifyCustomerInformation": _audited("customer information (N09)"),
    "PublishFirmwareStatusNotification": _audited("firmware publication status (L03)"),
    "ReservationStatusUpdate": reservation_status_update,
}
