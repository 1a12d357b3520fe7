"""A station's security settings: its profile (only ever raised) and its password,
rotated by sending a new AuthorizationKey with ChangeConfiguration (OCPP 1.6 security
whitepaper, ed. 3). Keys are never logged, returned or audited."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.clock import Clock, utcnow
from app.db.security_models import SecurityEventKind
from app.domain.access import MASK
from app.domain.security_profiles import profile_change_refusal
from app.json_types import JsonObject
from app.services.errors import Conflict, Invalid
from app.services.fleet.stations import StationService
from app.services.ports import ChargerGateway, StationCallError
from app.services.security.certificates import (
    CertificateAuthority,
    CsrRejected,
    check_csr_key,
    station_subject,
    subject_problem,
)
from app.services.security.security_events import SecurityEvents

log = logging.getLogger("chargeplan.security")

AUTHORIZATION_KEY = "AuthorizationKey"
SECURITY_PROFILE = "SecurityProfile"
SECURITY_KEYS = (AUTHORIZATION_KEY, SECURITY_PROFILE)
# Bytes of a generated AuthorizationKey (the whitepaper allows 16 to 20), sent as hex.
GENERATED_KEY_BYTES = 20


@dataclass(frozen=True)
class Rotation:
    status: str  # accepted or rejected
    response: JsonObject


def masked_request(request: Mapping[str, Any]) -> JsonObject:
    """A ChangeConfiguration request as it may be shown or stored."""
    if request.get("key") == AUTHORIZATION_KEY:
        return {**request, "value": MASK}
    return dict(request)


class StationSecurityService:
    def __init__(self, stations: StationService, gateway: ChargerGateway,
                 events: SecurityEvents, *, ca: CertificateAuthority | None = None,
                 operator: str = "", csr_subject: str = "strict",
                 clock: Clock = utcnow) -> None:
        self._stations = stations
        self._gateway = gateway
        self._events = events
        self._ca = ca
        self._operator = operator
        # "strict": a CSR with another subject is rejected; "rewrite": it is signed with
        # the subject chargeplan decides (CHARGEPLAN_CSR_SUBJECT).
        self._csr_subject = csr_subject
        self._clock = clock

    # --- certificates (SignCertificate, CertificateSigned) -------------------------
    async def sign_certificate(self, station_id: str, csr_pem: str,
                               certificate_type: str | None = None) -> str | None:
        """The signed chain to send, or None (Rejected) with a csr_rejected event. The
        station is authenticated (it sent this over its connection), so with
        ``rewrite`` a wrong or missing subject is replaced: the whitepaper's CN = the
        station id, O = the operator. Every other check stands.

        ``certificate_type`` is what an OCPP 2.0.1 station asked for (A02, A03:
        ChargingStationCertificate or V2GCertificate; none: one certificate for both):
        the same checks and the same CA sign each, and the events say which it was."""
        try:
            if self._ca is None:
                raise CsrRejected("no CA to sign with: run `chargeplan ca init` or configure "
                                  "CHARGEPLAN_CA_DIR")
            csr = check_csr_key(csr_pem)
            problem = subject_problem(csr, station_id, self._operator)
            if problem is not None and self._csr_subject != "rewrite":
                raise CsrRejected(problem)
        except CsrRejected as exc:
            self._events.record(SecurityEventKind.CSR_REJECTED, station_id=station_id,
                                detail=_typed({"reason": str(exc)}, certificate_type))
            log.warning("%s: certificate signing request rejected: %s", station_id, exc)
            return None
        if problem is None:
            return self._ca.sign(csr, self._clock())
        subject = station_subject(station_id, self._operator)
        self._events.record(SecurityEventKind.CSR_SUBJECT_REWRITTEN, station_id=station_id,
                            detail=_typed({"requested": csr.subject.rfc4514_string(),
                                           "signed": subject.rfc4514_string(),
                                           "reason": problem}, certificate_type))
        return self._ca.sign(csr, self._clock(), subject=subject)

    async def send_certificate(self, station_id: str, chain: str,
                               certificate_type: str | None = None) -> None:
        """CertificateSigned with the chain; for a 2.0.1 station with the type its
        SignCertificate named (A02.FR.14: echoed). The outcome is a certificate_signed
        event."""
        request: JsonObject = {"certificateChain": chain}
        if certificate_type is not None:
            request["certificateType"] = certificate_type
        try:
            answer = await self._gateway.call(station_id, "CertificateSigned", request)
        except StationCallError as exc:
            self._events.record(SecurityEventKind.CERTIFICATE_SIGNED, station_id=station_id,
                                detail=_typed({"delivered": False, "reason": exc.reason},
                                              certificate_type))
            return
        self._events.record(SecurityEventKind.CERTIFICATE_SIGNED, station_id=station_id,
                            detail=_typed({"delivered": True, "status": answer.get("status")},
                                          certificate_type))

    async def raise_profile(self, station_id: str, profile: int, *, via: str) -> None:
        before, after = await self._stations.raise_security_profile(station_id, profile)
        if before != after:
            self._events.record(SecurityEventKind.PROFILE_CHANGED, station_id=station_id,
                                detail={"from": before, "to": after, "via": via})

    async def rotate_password(self, station_id: str) -> Rotation:
        """Send a fresh random AuthorizationKey; the old password keeps working until the
        station connects with the new one."""
        await self._stations.get(station_id)
        if not self._gateway.is_connected(station_id):
            raise Conflict(f"station {station_id!r} is offline: a new password can only be "
                           "sent to a connected station")
        key = secrets.token_bytes(GENERATED_KEY_BYTES).hex()
        answer = await self.change_configuration(
            station_id, {"key": AUTHORIZATION_KEY, "value": key})
        return Rotation("accepted" if _accepted(answer) else "rejected", answer)

    async def check_change(self, station_id: str, request: Mapping[str, Any]) -> None:
        """Refuse, before anything is sent, a SecurityProfile below the station's or an
        AuthorizationKey the whitepaper does not allow."""
        key, value = request.get("key"), str(request.get("value", ""))
        if key == SECURITY_PROFILE:
            station = await self._stations.get(station_id)
            try:
                wanted = int(value)
            except ValueError:
                raise Invalid("value", "SecurityProfile must be 0, 1, 2 or 3") from None
            broken = profile_change_refusal(station.security_profile, wanted)
            if broken:
                raise Invalid("value", broken)

    async def send_password(self, station_id: str, password: str,
                            send: Callable[[], Awaitable[str | None]], *,
                            field: str = AUTHORIZATION_KEY) -> None:
        """Give the station ``password`` by ``send``, which returns the station's status
        for it (None: no answer). The password works beside the current one from before
        it leaves until the station connects with it (then the old one stops working);
        a status other than Accepted or RebootRequired, or no answer, withdraws it. The
        one path of a new password, whatever the message: 1.6 ChangeConfiguration of
        AuthorizationKey, 2.0.1 SetVariables of SecurityCtrlr.BasicAuthPassword."""
        await self._stations.set_pending_password(station_id, password, field=field)
        try:
            status = await send()
        except Exception:
            await self._stations.set_pending_password(station_id, None)
            raise
        if status in _TAKEN:
            self._events.record(SecurityEventKind.PASSWORD_ROTATION_SENT,
                                station_id=station_id, detail={"status": status})
        else:
            await self._stations.set_pending_password(station_id, None)

    async def change_configuration(self, station_id: str, request: Mapping[str, Any]
                                   ) -> JsonObject:
        """Send ChangeConfiguration of AuthorizationKey or SecurityProfile and record it;
        raises StationCallError when the station does not answer."""
        await self.check_change(station_id, request)
        key = request["key"]
        if key == AUTHORIZATION_KEY:
            answered: list[JsonObject] = []

            async def change() -> str | None:
                answered.append(await self._gateway.call(station_id, "ChangeConfiguration",
                                                         dict(request)))
                return str(answered[0].get("status"))

            await self.send_password(station_id, str(request["value"]), change)
            return answered[0]
        answer = await self._gateway.call(station_id, "ChangeConfiguration", dict(request))
        status = answer.get("status")
        if _accepted(answer):
            # The station will reconnect on the new profile; anything lower is refused.
            await self.raise_profile(station_id, int(request["value"]),
                                     via=f"ChangeConfiguration ({status})")
        else:
            self._events.record(SecurityEventKind.PROFILE_CHANGED, station_id=station_id,
                                detail={"to": request["value"], "refused_by_station": status})
        return answer


def _typed(detail: JsonObject, certificate_type: str | None) -> JsonObject:
    """An event's detail with the certificate type a 2.0.1 station named, if any."""
    if certificate_type is not None:
        detail["certificate_type"] = certificate_type
    return detail


# OCPP 1.6 §5.3 (and 2.0.1 SetVariableStatusEnumType): RebootRequired means the station
# took the value; it applies it later.
_TAKEN = ("Accepted", "RebootRequired")


def _accepted(answer: Mapping[str, Any]) -> bool:
    return answer.get("status") in _TAKEN
