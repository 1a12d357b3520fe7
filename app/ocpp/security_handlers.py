"""What a station sends about its security, handled alike whatever its OCPP version: the
1.6 security extension (OCA whitepaper "Improved security for OCPP 1.6-J") and OCPP 2.0.1
A (A02-A04) carry the same two messages with the same fields, 2.0.1 adding only the
certificate's type. Both adapters register these handlers."""

from __future__ import annotations

from typing import Any

from app.db.security_models import SecurityEventKind
from app.ocpp.router import CallContext, Reply


async def security_event_notification(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    ctx.services.security_events.record(
        SecurityEventKind.STATION_REPORTED, station_id=ctx.station_id,
        remote_address=ctx.connection.remote_host,
        detail={k: payload[k] for k in ("type", "timestamp", "techInfo") if k in payload})
    return Reply({})


async def sign_certificate(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """Accepted when the CSR passes the checks (2.0.1 A02.FR.11); the certificate is
    signed by the one CA and sent with CertificateSigned once this answer is out (never a
    CALL from inside a handler), with the certificateType a 2.0.1 request named
    (A02.FR.14; a 1.6 request names none)."""
    security = ctx.services.station_security
    certificate_type = payload.get("certificateType")
    signed = await security.sign_certificate(ctx.station_id, payload["csr"], certificate_type)
    if signed is None:
        return Reply({"status": "Rejected"})

    async def send() -> None:
        await security.send_certificate(ctx.station_id, signed, certificate_type)

    return Reply({"status": "Accepted"}, send)
