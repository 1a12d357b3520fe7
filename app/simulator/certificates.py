"""What a simulated OCPP 2.0.1 station keeps of certificates (A02, A03, M03-M05): the key
of each certificate it asked to be signed, the certificates it was sent, and the root
certificates installed on it, each known by its CertificateHashDataType.

Asking: a fresh EC P-256 key and a CSR with CN = the station id and O =
SecurityCtrlr.OrganizationName (A02.FR.02's subject). Receiving: CertificateSigned is
Accepted when the chain's first certificate is for the key of the pending request of that
type, Rejected otherwise (A02.FR.16's check, simplified: the chain is not verified up to
an installed root).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# SignCertificateRequest without certificateType: one certificate for both uses.
COMBINED = "Combined"
# CertificateSigningUseEnumType as the GetCertificateIdUseEnumType it is listed as.
_LISTED_AS = {"V2GCertificate": "V2GCertificateChain"}


def hash_data(certificate: x509.Certificate,
              issuer: x509.Certificate | None = None) -> dict[str, str]:
    """CertificateHashDataType (SHA256): hashes of the issuer's name (DER) and of the
    issuer's public key (a root is its own issuer), and the serial number in hex."""
    key = (issuer or certificate).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"hashAlgorithm": "SHA256",
            "issuerNameHash": hashlib.sha256(certificate.issuer.public_bytes()).hexdigest(),
            "issuerKeyHash": hashlib.sha256(key).hexdigest(),
            "serialNumber": format(certificate.serial_number, "x")}


@dataclass
class CertificateStore:
    station_id: str
    # Root certificates installed (M05), by InstallCertificateUseEnumType.
    roots: dict[str, list[x509.Certificate]] = field(default_factory=dict)
    # Its own certificates (A02, A03), by CertificateSigningUseEnumType or COMBINED.
    own: dict[str, list[x509.Certificate]] = field(default_factory=dict)
    # The key of each request not yet answered with a certificate, by type.
    pending: dict[str, ec.EllipticCurvePrivateKey] = field(default_factory=dict)
    keys: dict[str, ec.EllipticCurvePrivateKey] = field(default_factory=dict)

    def request(self, certificate_type: str | None, organization: str) -> str:
        """A new key and the PEM CSR for it."""
        key = ec.generate_private_key(ec.SECP256R1())
        self.pending[certificate_type or COMBINED] = key
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.station_id),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(
            key, hashes.SHA256())
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def signed(self, chain: str, certificate_type: str | None) -> bool:
        """Keep the chain when its leaf is for the pending key of that type."""
        kind = certificate_type or COMBINED
        key = self.pending.get(kind)
        try:
            certificates = x509.load_pem_x509_certificates(chain.encode())
        except ValueError:
            return False
        if key is None or certificates[0].public_key() != key.public_key():
            return False
        del self.pending[kind]
        self.own[kind] = certificates
        self.keys[kind] = key
        return True

    def install(self, certificate_type: str, pem: str) -> bool:
        try:
            certificate = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            return False
        self.roots.setdefault(certificate_type, []).append(certificate)
        return True

    def installed(self, types: list[str] | None) -> list[dict[str, object]]:
        """CertificateHashDataChainType entries of the types asked for (all: none)."""
        found: list[dict[str, object]] = []
        for kind, certificates in self.roots.items():
            found.extend({"certificateType": kind, "certificateHashData": hash_data(c)}
                         for c in certificates)
        for kind, chain in self.own.items():
            listed = _LISTED_AS.get(kind)
            if listed is None:
                continue  # the Charging Station certificate is not listed (M03)
            entry: dict[str, object] = {"certificateType": listed,
                                        "certificateHashData": hash_data(*chain[:2])}
            if chain[1:]:
                entry["childCertificateHashData"] = [hash_data(*chain[i:i + 2])
                                                     for i in range(1, len(chain))]
            found.append(entry)
        return [e for e in found if types is None or e["certificateType"] in types]

    def delete(self, wanted: dict[str, str]) -> str:
        """DeleteCertificateStatusEnumType: Accepted when a root with that hash data was
        removed, NotFound otherwise."""
        for kind, certificates in self.roots.items():
            for certificate in certificates:
                if _same(hash_data(certificate), wanted):
                    certificates.remove(certificate)
                    if not certificates:
                        del self.roots[kind]
                    return "Accepted"
        return "NotFound"


def _same(ours: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(ours[k].lower() == str(wanted.get(k, "")).lower()
               for k in ("issuerNameHash", "issuerKeyHash", "serialNumber"))
