"""The security extension for OCPP 1.6 (OCA whitepaper "Improved security for OCPP
1.6-J"), charge point to central system: every message stored and answered with a
CALLRESULT."""

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


async def sign_certificate(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """Accepted when the CSR passes the checks; the certificate is signed and sent with
    CertificateSigned once this answer is out (never a CALL from inside a handler)."""
    security = ctx.services.station_security
    signed = await security.sign_certificate(ctx.station_id, payload["csr"])
    if signed is None:
        return Reply({"status": "Rejected"})

    async def send() -> None:
        await security.send_certificate(ctx.station_id, signed)

    return Reply({"status": "Accepted"}, send)


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
