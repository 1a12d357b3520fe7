"""OCPP security profiles (OCPP 1.6 security whitepaper, edition 3): which connection a
station registered on a profile may use.

- 0: no authentication (a station without a password; not a whitepaper profile);
- 1: HTTP Basic (user = station id, password = AuthorizationKey) over plain ``ws://``;
- 2: TLS (the server's certificate) with HTTP Basic;
- 3: TLS with a client certificate: subject CN = the station id, O = the operator
  (CpoName); the certificate is the station's credential, no Basic.

A connection may be more secure than the station's profile, never less. A profile is only
ever raised, never lowered (A00.FR.005). A client certificate presented on any connection
must name the station and the operator; a valid one authenticates the station whatever
its profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PROFILES = (0, 1, 2, 3)


@dataclass(frozen=True)
class CertificateIdentity:
    common_name: str | None
    organization: str | None


@dataclass(frozen=True)
class Transport:
    tls: bool
    # The verified client certificate's subject, when one was presented.
    certificate: CertificateIdentity | None = None


class Refusal(StrEnum):
    NEEDS_TLS = "needs_tls"
    NEEDS_CERTIFICATE = "needs_certificate"
    CERTIFICATE_MISMATCH = "certificate_mismatch"


def transport_refusal(profile: int, transport: Transport, station_id: str,
                      operator: str) -> Refusal | None:
    """Why this connection is below what the station's profile demands, or None."""
    cert = transport.certificate
    if cert is not None and (cert.common_name != station_id or cert.organization != operator):
        return Refusal.CERTIFICATE_MISMATCH
    if profile >= 2 and not transport.tls:
        return Refusal.NEEDS_TLS
    if profile >= 3 and cert is None:
        return Refusal.NEEDS_CERTIFICATE
    return None


def authenticated_by_certificate(transport: Transport) -> bool:
    """A matching client certificate (checked by ``transport_refusal``) is the credential."""
    return transport.tls and transport.certificate is not None


def profile_change_refusal(current: int, wanted: int) -> str | None:
    """The broken rule when a station's profile would change from ``current`` to
    ``wanted``, or None."""
    if wanted not in PROFILES:
        return "must be 0, 1, 2 or 3"
    if wanted < current:
        return (f"a security profile is only raised, never lowered (A00.FR.005): the station "
                f"is on {current}")
    return None


def password_candidates(raw: bytes) -> list[str]:
    """The forms a Basic password may take for comparison with the stored one. A 32-40
    hex digit AuthorizationKey is stored as lower-case hex; chargers send either that hex
    text (any case) or the 16-20 bytes it encodes, so both are tried."""
    candidates: list[str] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        candidates.append(text)
        if is_hex_key(text) and text.lower() != text:
            candidates.append(text.lower())
    if 16 <= len(raw) <= 20:
        hexed = raw.hex()
        if hexed not in candidates:
            candidates.append(hexed)
    return candidates


def is_hex_key(value: str) -> bool:
    """32 to 40 hex digits, an even number: 16 to 20 bytes written in hex."""
    return 32 <= len(value) <= 40 and len(value) % 2 == 0 and all(
        c in "0123456789abcdefABCDEF" for c in value)
