"""What a 2.0.1 station reports of itself beyond provisioning and security: the upload
status of a log (N01), kept as the 1.6 security extension's is, the events of its
components (N07) and the messages it displays (O04), in the audit trail, and the
reservations it ended itself (H02)."""

from __future__ import annotations

import logging
from typing import Any

from app.ocpp.router import CallContext, Handler, Reply

log = logging.getLogger("chargeplan.ocpp")


async def log_status_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    # Where the 1.6 diagnostics' and the security extension's GetLog upload status is kept.
    await ctx.services.stations.diagnostics_status(ctx.station_id, payload["status"])
    return Reply({})


async def notify_event(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """Component events (a connector's plug, a fault, a monitor's trigger): nothing in the
    model reads them yet; the frame is audited."""
    log.debug("%s: %d event(s) of its components", ctx.station_id, len(payload["eventData"]))
    return Reply({})


async def notify_display_messages(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """O04: a page of the messages a station shows, answering a GetDisplayMessages; kept in
    the audit trail, where an operator reads them."""
    log.debug("%s: %d display message(s) for request %s", ctx.station_id,
              len(payload.get("messageInfo") or []), payload["requestId"])
    return Reply({})


async def reservation_status_update(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """H02: the station ended a reservation itself (Expired, Removed); one chargeplan
    never sent is audited only."""
    if not await ctx.services.commands.reservation_ended(
            ctx.station_id, payload["reservationId"], payload["reservationUpdateStatus"]):
        log.info("%s: reservation %s %s, not one sent from here", ctx.station_id,
                 payload["reservationId"], payload["reservationUpdateStatus"])
    return Reply({})


HANDLERS: dict[str, Handler] = {
    "LogStatusNotification": log_status_notification,
    "NotifyEvent": notify_event,
    "NotifyDisplayMessages": notify_display_messages,
    "ReservationStatusUpdate": reservation_status_update,
}
