"""The TLS side of OCPP security profiles 2 and 3 (OCPP 1.6 security whitepaper, ed. 3).

TLS 1.2 or 1.3 only. For TLS 1.2 the whitepaper's cipher suites (OCPP 2.0.1 A00.FR.318
names the same four as a SHALL): ECDHE with ECDSA or RSA keys and AES-128/256-GCM,
preferred, and TLS_RSA_WITH_AES_128/256_GCM, which need an RSA certificate: with an
ECDSA certificate (what ``chargeplan ca init`` makes) a second, RSA one
(``CHARGEPLAN_OCPP_TLS_RSA_CERT``) serves them, as A00.FR.318's note says a CSMS must.
TLS 1.3 suites are OpenSSL's (all AEAD). With a client CA
configured, a client certificate is asked for and, when presented, verified during the
handshake: an expired one, or one from another CA, ends the handshake before any HTTP.
Whether a station must present one is its security profile's business (profile 3),
decided after the handshake with the certificate's subject.

A refused handshake never reaches HTTP, so nothing above the TLS layer sees it: the
listener runs TLS itself (``loop.start_tls`` on the accepted connection) to learn why and
from which address, and records it as a security event.
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.domain.security_profiles import CertificateIdentity

# In the server's order of preference: forward secrecy first; the static RSA key
# exchange only for a client that offers nothing else.
CIPHERS_TLS12 = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256", "AES256-GCM-SHA384",
))


class TlsConfigError(ValueError):
    """A TLS file is missing or unusable; the message names the setting."""


def server_context(cert: str, key: str, chain: str = "", client_ca: str = "", *,
                   rsa_cert: str = "", rsa_key: str = "") -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS_TLS12)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    for setting, path in (("OCPP_TLS_CERT", cert), ("OCPP_TLS_KEY", key),
                          ("OCPP_TLS_CHAIN", chain), ("OCPP_TLS_CLIENT_CA", client_ca),
                          ("OCPP_TLS_RSA_CERT", rsa_cert), ("OCPP_TLS_RSA_KEY", rsa_key)):
        if path and not Path(path).is_file():
            raise TlsConfigError(f"CHARGEPLAN_{setting}={path!r}: no such file")
    try:
        if chain:
            # ssl wants the certificate and its chain in one file.
            with tempfile.NamedTemporaryFile("w", suffix=".pem") as both:
                both.write(Path(cert).read_text() + "\n" + Path(chain).read_text())
                both.flush()
                context.load_cert_chain(both.name, key)
        else:
            context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise TlsConfigError(f"CHARGEPLAN_OCPP_TLS_CERT / _KEY: cannot load: {exc}") from None
    if rsa_cert:
        # OpenSSL keeps one certificate per key type: this one serves the RSA suites
        # beside the first (A00.FR.318's note: two certificates).
        try:
            context.load_cert_chain(rsa_cert, rsa_key)
        except (ssl.SSLError, OSError) as exc:
            raise TlsConfigError(
                f"CHARGEPLAN_OCPP_TLS_RSA_CERT / _RSA_KEY: cannot load: {exc}") from None
    if client_ca:
        try:
            context.load_verify_locations(cafile=client_ca)
        except (ssl.SSLError, OSError) as exc:
            raise TlsConfigError(f"CHARGEPLAN_OCPP_TLS_CLIENT_CA: cannot load: {exc}") from None
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def peer_identity(transport: Any) -> tuple[bool, CertificateIdentity | None]:
    """(is TLS, the verified client certificate's subject or None) of a connection."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return False, None
    cert = ssl_object.getpeercert()
    if not cert:
        return True, None
    subject = {name: value for rdn in cert.get("subject", ()) for name, value in rdn}
    return True, CertificateIdentity(common_name=subject.get("commonName"),
                                     organization=subject.get("organizationName"))


@dataclass(frozen=True)
class HandshakeRefusal:
    """Why a TLS handshake failed, in words an operator can search for."""

    certificate: bool  # the client certificate failed verification (else protocol, suite)
    reason: str  # OpenSSL's reason, lower case: certificate_verify_failed, unsupported_protocol
    verify_message: str | None  # for a certificate: "certificate has expired", ...

    def detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"reason": self.reason}
        if self.verify_message:
            detail["verify_message"] = self.verify_message
        return detail


def handshake_refusal(exc: ssl.SSLError) -> HandshakeRefusal:
    verify_message = getattr(exc, "verify_message", None)
    reason = str(exc.reason or exc.__class__.__name__).lower()
    return HandshakeRefusal(isinstance(exc, ssl.SSLCertVerificationError), reason,
                            str(verify_message) if verify_message else None)


def built_in_ca(ca_dir: str) -> str:
    """The built-in CA's certificate (``chargeplan ca init``), trusted for client
    certificates when no other CA is configured; empty when there is none."""
    path = Path(ca_dir) / "ca.pem"
    return str(path) if path.is_file() else ""
