"""OCPP 2.0.1 A (Security), charging station to CSMS: security events (A04) and
certificate signing requests (A02, A03), kept and answered as the 1.6 security
extension's are, by the same services."""

from __future__ import annotations

from typing import Any

from app.db.security_models import SecurityEventKind
from app.ocpp.router import CallContext, Handler, Reply


async def security_event_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    ctx.services.security_events.record(
        SecurityEventKind.STATION_REPORTED, station_id=ctx.station_id,
        remote_address=ctx.connection.remote_host,
        detail={k: payload[k] for k in ("type", "timestamp", "techInfo") if k in payload})
    return Reply({})


async def sign_certificate(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """A02/A03: Accepted when the CSR passes the checks (A02.FR.11); the certificate is
    signed by the same CA as a 1.6 station's and sent with CertificateSigned once this
    answer is out, with the certificateType the request named (A02.FR.14)."""
    security = ctx.services.station_security
    certificate_type = payload.get("certificateType")
    signed = await security.sign_certificate(ctx.station_id, payload["csr"], certificate_type)
    if signed is None:
        return Reply({"status": "Rejected"})

    async def send() -> None:
        await security.send_certificate(ctx.station_id, signed, certificate_type)

    return Reply({"status": "Accepted"}, send)


HANDLERS: dict[str, Handler] = {
    "SecurityEventNotification": security_event_notification,
    "SignCertificate": sign_certificate,
}
