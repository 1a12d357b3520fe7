"""OCPP 2.0.1 A (Security), charging station to CSMS: security events (A04) and
certificate signing requests (A02, A03), kept and answered as the 1.6 security
extension's are, by the same handlers (``app/ocpp/security_handlers.py``)."""

from __future__ import annotations

from app.ocpp.router import Handler
from app.ocpp.security_handlers import security_event_notification, sign_certificate

HANDLERS: dict[str, Handler] = {
    "SecurityEventNotification": security_event_notification,
    "SignCertificate": sign_certificate,
}
