"""What a 2.0.1 station reports of itself beyond provisioning: security events (A04), the
upload status of a log (N01) and the events of its components (N07), kept as the 1.6
security extension's are, or in the audit trail."""

from __future__ import annotations

import logging
from typing import Any

from app.db.security_models import SecurityEventKind
from app.ocpp.router import CallContext, Handler, Reply

log = logging.getLogger("chargeplan.ocpp")


async def security_event_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    ctx.services.security_events.record(
        SecurityEventKind.STATION_REPORTED, station_id=ctx.station_id,
        remote_address=ctx.connection.remote_host,
        detail={k: payload[k] for k in ("type", "timestamp", "techInfo") if k in payload})
    return Reply({})


async def log_status_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    # Where the 1.6 diagnostics' and the security extension's GetLog upload status is kept.
    await ctx.services.stations.diagnostics_status(ctx.station_id, payload["status"])
    return Reply({})


async def notify_event(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """Component events (a connector's plug, a fault, a monitor's trigger): nothing in the
    model reads them yet; the frame is audited."""
    log.debug("%s: %d event(s) of its components", ctx.station_id, len(payload["eventData"]))
    return Reply({})


HANDLERS: dict[str, Handler] = {
    "SecurityEventNotification": security_event_notification,
    "LogStatusNotification": log_status_notification,
    "NotifyEvent": notify_event,
}
