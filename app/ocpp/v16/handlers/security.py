"""The security extension for OCPP 1.6 (OCA whitepaper "Improved security for OCPP
1.6-J"), charge point to central system: every message stored and answered with a
CALLRESULT. SecurityEventNotification and SignCertificate are 2.0.1's too, handled by the
same code (``app/ocpp/security_handlers.py``)."""

from __future__ import annotations

import logging
from typing import Any

from app.ocpp.router import CallContext, Handler, Reply
from app.ocpp.security_handlers import security_event_notification, sign_certificate

log = logging.getLogger("chargeplan.ocpp")


async def log_status_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    # GetLog is the extension's GetDiagnostics: its upload status is kept in the same place.
    await ctx.services.stations.diagnostics_status(ctx.station_id, payload["status"])
    return Reply({})


async def signed_firmware_status_notification(ctx: CallContext, payload: dict[str, Any]
                                              ) -> Reply:
    await ctx.services.stations.firmware_status(ctx.station_id, payload["status"])
    if payload["status"] in ("InvalidSignature", "InvalidCertificate", "RevokedCertificate"):
        log.warning("%s refused signed firmware: %s", ctx.station_id, payload["status"])
    return Reply({})


HANDLERS: dict[str, Handler] = {
    "SecurityEventNotification": security_event_notification,
    "SignCertificate": sign_certificate,
    "LogStatusNotification": log_status_notification,
    "SignedFirmwareStatusNotification": signed_firmware_status_notification,
}
