"""The built-in CA for charge-point certificates (security profile 3) and the checks of a
station's certificate signing request (SignCertificate, OCPP 1.6 security whitepaper).

``chargeplan ca init`` creates it under ``CHARGEPLAN_CA_DIR`` (``./var/ca``) for the demo;
production points ``CHARGEPLAN_OCPP_TLS_CLIENT_CA`` at the operator's CA instead. The
profile-3 listener trusts this CA when no other client CA is configured, so a station
that has just received its certificate reconnects with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca.key"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
STATION_CERT_DAYS = 365 * 2
CA_DAYS = 365 * 10


class CsrRejected(ValueError):
    """The CSR breaks a rule; the message says which."""


@dataclass(frozen=True)
class Paths:
    folder: Path

    @property
    def cert(self) -> Path:
        return self.folder / CA_CERT

    @property
    def key(self) -> Path:
        return self.folder / CA_KEY


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def init_ca(folder: Path, operator: str, now: datetime) -> Paths:
    """Create the CA (and a server certificate for localhost, for the demo's TLS
    listener) unless it exists; never overwrites."""
    paths = Paths(folder)
    if paths.cert.exists():
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(f"{operator} charge point CA", operator)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    paths.key.write_bytes(_pem_key(key))
    paths.key.chmod(0o600)
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(_name("localhost", operator))
              .issuer_name(subject).public_key(server_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(minutes=5))
              .not_valid_after(now + timedelta(days=STATION_CERT_DAYS))
              .add_extension(x509.SubjectAlternativeName([
                  x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]),
                  critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .sign(key, hashes.SHA256()))
    (folder / SERVER_KEY).write_bytes(_pem_key(server_key))
    (folder / SERVER_KEY).chmod(0o600)
    (folder / SERVER_CERT).write_bytes(server.public_bytes(serialization.Encoding.PEM))
    return paths


def check_csr(pem: str, station_id: str, operator: str) -> x509.CertificateSigningRequest:
    """The CSR, if it is well formed, self-signed, with a strong enough key and the
    subject the whitepaper requires (CN = the station id, O = the operator)."""
    csr = check_csr_key(pem)
    problem = subject_problem(csr, station_id, operator)
    if problem is not None:
        raise CsrRejected(problem)
    return csr


def check_csr_key(pem: str) -> x509.CertificateSigningRequest:
    """The CSR, if it is well formed, self-signed and with a strong enough key; its
    subject is not looked at."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except ValueError:
        raise CsrRejected("not a PEM certificate signing request") from None
    try:
        if not csr.is_signature_valid:
            raise CsrRejected("the CSR's signature does not verify")
    except InvalidSignature:
        raise CsrRejected("the CSR's signature does not verify") from None
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CsrRejected(f"RSA key of {key.key_size} bits: at least {MIN_RSA_BITS}")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_EC_BITS:
            raise CsrRejected(f"EC key of {key.curve.key_size} bits: at least {MIN_EC_BITS}")
    else:
        raise CsrRejected("key type must be RSA or EC")
    return csr


def subject_problem(csr: x509.CertificateSigningRequest, station_id: str,
                    operator: str) -> str | None:
    """What is wrong with the CSR's subject (whitepaper: CN = the charge point's identity,
    O = the operator, CpoName); None when it is right."""
    names = {a.oid: str(a.value) for a in csr.subject}
    if names.get(NameOID.COMMON_NAME) != station_id:
        return (f"subject CN must be the station id {station_id!r}, got "
                f"{names.get(NameOID.COMMON_NAME)!r}")
    if names.get(NameOID.ORGANIZATION_NAME) != operator:
        return (f"subject O must be the operator {operator!r}, got "
                f"{names.get(NameOID.ORGANIZATION_NAME)!r}")
    return None


def station_subject(station_id: str, operator: str) -> x509.Name:
    """The subject of a station's certificate: CN = its id, O = the operator."""
    return _name(station_id, operator)


class CertificateAuthority:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self._cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError(f"{paths.key}: the CA key must be EC or RSA")
        self._key = key

    @classmethod
    def load(cls, folder: Path) -> CertificateAuthority | None:
        paths = Paths(folder)
        return cls(paths) if paths.cert.is_file() and paths.key.is_file() else None

    def sign(self, csr: x509.CertificateSigningRequest, now: datetime,
             subject: x509.Name | None = None) -> str:
        """The station certificate (for the CSR's key, with ``subject`` or else the
        CSR's) followed by the CA's: the chain CertificateSigned carries (PEM)."""
        cert = (x509.CertificateBuilder().subject_name(subject or csr.subject)
                .issuer_name(self._cert.subject).public_key(csr.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + timedelta(days=STATION_CERT_DAYS))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .sign(self._key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM).decode()
                + self._cert.public_bytes(serialization.Encoding.PEM).decode())
