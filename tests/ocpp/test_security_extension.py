"""The security extension for OCPP 1.6 played by a charger of our own: certificate
signing on the built-in CA and reconnecting with the new certificate (TC_074), CSR checks,
certificate management, security log and signed firmware (TC_075-TC_081), and the
security events they leave (GET /security_events)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.services.security.certificates import (
    SERVER_CERT,
    SERVER_KEY,
    CertificateAuthority,
    check_csr,
    init_ca,
)
from tests.certs import client_context, csr
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually
from tests.ocpp.test_security_profiles import PASSWORD, basic, refused, register
from tests.ocpp_client import RawStation, raw_station

CPO = "Test CPO"
ACCEPT_ALL = {action: {"status": "Accepted"} for action in (
    "CertificateSigned", "InstallCertificate", "GetInstalledCertificateIds",
    "DeleteCertificate", "ExtendedTriggerMessage", "GetLog", "SignedUpdateFirmware",
    "ChangeConfiguration")}


@pytest.fixture
async def ca_server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    ca_dir = tmp_path / "ca"
    init_ca(ca_dir, CPO, datetime.now(UTC))
    # No client CA configured: the TLS listener trusts the built-in one.
    running = await start_server(make_settings(
        sqlite_url, ca_dir=str(ca_dir), cpo_name=CPO, ocpp_tls_port=0,
        ocpp_tls_cert=str(ca_dir / SERVER_CERT), ocpp_tls_key=str(ca_dir / SERVER_KEY),
        admit_unknown_stations=False))
    try:
        yield running
    finally:
        await stop_server(running)


@pytest.fixture
async def rewrite_server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    ca_dir = tmp_path / "ca"
    init_ca(ca_dir, CPO, datetime.now(UTC))
    running = await start_server(make_settings(
        sqlite_url, ca_dir=str(ca_dir), cpo_name=CPO, csr_subject="rewrite",
        admit_unknown_stations=False))
    try:
        yield running
    finally:
        await stop_server(running)


@pytest.fixture
async def ca_http(ca_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=ca_server.http_url, timeout=30) as client:
        yield client


def wss(server: RunningServer, station_id: str) -> str:
    return f"wss://127.0.0.1:{server.services.status.ocpp_tls_port}/{station_id}"


def trust(server: RunningServer, client: tuple[Path, Path] | None = None) -> Any:
    return client_context(Path(server.settings.ca_dir) / "ca.pem", client)


async def security_events(http: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    answer = await http.get("/security_events", params=filters)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def server_calls(station: RawStation, action: str) -> list[list[Any]]:
    return [c for c in station.server_calls if c[2] == action]


async def test_tc074_sign_certificate_then_reconnect_with_it(
        ca_server: RunningServer, ca_http: httpx.AsyncClient, tmp_path: Path) -> None:
    await register(ca_http, "CP-74", 2)
    key = ec.generate_private_key(ec.SECP256R1())
    async with raw_station(wss(ca_server, "CP-74"), ssl=trust(ca_server), answers=ACCEPT_ALL,
                           additional_headers=basic("CP-74", PASSWORD)) as cp:
        await cp.boot()
        answer = await cp.ok("SignCertificate", {"csr": csr("CP-74", CPO, key)})
        assert answer == {"status": "Accepted"}
        (call,) = await eventually(lambda: server_calls(cp, "CertificateSigned"))
    chain = call[3]["certificateChain"]
    assert chain.count("BEGIN CERTIFICATE") == 2  # the station's, then the CA's
    cert_file, key_file = tmp_path / "cp74.pem", tmp_path / "cp74.key"
    cert_file.write_text(chain)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    raised = await ca_http.put("/stations/CP-74/security_profile", json={"security_profile": 3})
    assert raised.status_code == 200
    async with raw_station(wss(ca_server, "CP-74"),
                           ssl=trust(ca_server, (cert_file, key_file))) as cp:
        assert (await cp.boot())["status"] == "Accepted"
    assert await refused(wss(ca_server, "CP-74"), ssl=trust(ca_server),
                         additional_headers=basic("CP-74", PASSWORD)) == 403
    signed = await eventually(lambda: security_events(ca_http, kind="certificate_signed"))
    assert signed[0]["station_id"] == "CP-74" and signed[0]["detail"]["delivered"] is True


def write_identity(folder: Path, name: str, chain: str, key: ec.EllipticCurvePrivateKey
                   ) -> tuple[Path, Path]:
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_text(chain)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


async def test_tc074_renewal_on_profile_3_asked_for_by_the_central_system(
        ca_server: RunningServer, ca_http: httpx.AsyncClient, tmp_path: Path) -> None:
    """The catalogue's sequence: a station on profile 3 is asked (ExtendedTriggerMessage
    SignChargePointCertificate) for a CSR, gets CertificateSigned, and reconnects with
    the new certificate."""
    await register(ca_http, "CP-74R", 3, password=None)
    authority = CertificateAuthority.load(Path(ca_server.settings.ca_dir))
    assert authority is not None
    old_key = ec.generate_private_key(ec.SECP256R1())
    old = write_identity(tmp_path, "old", authority.sign(
        check_csr(csr("CP-74R", CPO, old_key), "CP-74R", CPO), datetime.now(UTC)), old_key)
    new_key = ec.generate_private_key(ec.SECP256R1())
    async with raw_station(wss(ca_server, "CP-74R"), ssl=trust(ca_server, old),
                           answers=ACCEPT_ALL) as cp:
        await cp.boot()
        asked = await ca_http.post("/stations/CP-74R/commands/ExtendedTriggerMessage",
                                   json={"requestedMessage": "SignChargePointCertificate"})
        assert asked.status_code == 200 and asked.json()["response"]["status"] == "Accepted"
        answer = await cp.ok("SignCertificate", {"csr": csr("CP-74R", CPO, new_key)})
        assert answer == {"status": "Accepted"}
        (call,) = await eventually(lambda: server_calls(cp, "CertificateSigned"))
    new = write_identity(tmp_path, "new", call[3]["certificateChain"], new_key)
    async with raw_station(wss(ca_server, "CP-74R"), ssl=trust(ca_server, new)) as cp:
        assert (await cp.boot())["status"] == "Accepted"
    signed = await eventually(lambda: security_events(ca_http, kind="certificate_signed",
                                                      station_id="CP-74R"))
    assert signed[0]["detail"]["delivered"] is True


@pytest.mark.parametrize(("make_csr", "reason"), [
    (lambda: csr("CP-CSR", CPO, rsa.generate_private_key(65537, 1024)), "at least 2048"),
    (lambda: csr("CP-OTHER", CPO), "CN must be the station id"),
    (lambda: csr("CP-CSR", "Another CPO"), "O must be the operator"),
    (lambda: csr("CP-CSR", None), "O must be the operator"),
    (lambda: "-----BEGIN CERTIFICATE REQUEST-----\nnonsense\n", "not a PEM"),
])
async def test_a_csr_breaking_a_rule_is_rejected_with_a_security_event(
        ca_server: RunningServer, ca_http: httpx.AsyncClient, make_csr: Any,
        reason: str) -> None:
    await register(ca_http, "CP-CSR", 1)
    async with raw_station(ca_server.station_url("CP-CSR"), answers=ACCEPT_ALL,
                           additional_headers=basic("CP-CSR", PASSWORD)) as cp:
        await cp.boot()
        assert await cp.ok("SignCertificate", {"csr": make_csr()}) == {"status": "Rejected"}
        # A schema break is still a CALLERROR, not a Rejected.
        assert (await cp.call("SignCertificate", {}))[2] == "ProtocolError"
        assert not server_calls(cp, "CertificateSigned")
    rejected = await eventually(lambda: security_events(ca_http, kind="csr_rejected",
                                                        station_id="CP-CSR"))
    assert reason in rejected[0]["detail"]["reason"]


def subject_of(chain: str) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for attribute in x509.load_pem_x509_certificate(chain.encode()).subject:
        names.setdefault(attribute.oid._name, []).append(str(attribute.value))
    return names


async def test_rewrite_signs_a_csr_without_o_with_the_subject_chargeplan_decides(
        rewrite_server: RunningServer) -> None:
    """As some firmware sends it (and the outside suite's TC_074/TC_077): no O."""
    async with httpx.AsyncClient(base_url=rewrite_server.http_url, timeout=30) as http:
        await register(http, "CP-RW", 1)
        key = ec.generate_private_key(ec.SECP256R1())
        async with raw_station(rewrite_server.station_url("CP-RW"), answers=ACCEPT_ALL,
                               additional_headers=basic("CP-RW", PASSWORD),
                               local_addr=("127.0.0.2", 0)) as cp:
            await cp.boot()
            assert await cp.ok("SignCertificate", {"csr": csr("CP-RW", None, key)}) == {
                "status": "Accepted"}
            (call,) = await eventually(lambda: server_calls(cp, "CertificateSigned"))
            # Every other check stands: a weak key is still rejected.
            weak = csr("CP-RW", None, rsa.generate_private_key(65537, 1024))
            assert await cp.ok("SignCertificate", {"csr": weak}) == {"status": "Rejected"}
        (rewritten,) = await eventually(lambda: security_events(
            http, kind="csr_subject_rewritten", station_id="CP-RW"))
        (rejected,) = await eventually(lambda: security_events(
            http, kind="csr_rejected", station_id="CP-RW"))
    chain = call[3]["certificateChain"]
    assert subject_of(chain) == {"commonName": ["CP-RW"], "organizationName": [CPO]}
    issued = x509.load_pem_x509_certificate(chain.encode())
    assert issued.public_key() == key.public_key()
    assert rewritten["detail"]["requested"] == "CN=CP-RW"
    assert rewritten["detail"]["signed"] == f"O={CPO},CN=CP-RW"
    assert "O must be the operator" in rewritten["detail"]["reason"]
    assert "at least 2048" in rejected["detail"]["reason"]
    assert rewritten["remote_address"] == rejected["remote_address"] == "127.0.0.2"


async def test_security_events_of_a_connected_station_carry_its_address(
        ca_server: RunningServer, ca_http: httpx.AsyncClient) -> None:
    await register(ca_http, "CP-ADDR", 1)
    async with raw_station(ca_server.station_url("CP-ADDR"), answers=ACCEPT_ALL,
                           additional_headers=basic("CP-ADDR", PASSWORD),
                           local_addr=("127.0.0.3", 0)) as cp:
        await cp.boot()
        assert await cp.ok("SecurityEventNotification", {
            "type": "TamperDetectionActivated", "timestamp": "2026-11-28T03:05:00Z"}) == {}
        assert await cp.ok("SignCertificate", {"csr": csr("CP-ADDR", None)}) == {
            "status": "Rejected"}
        assert await cp.ok("SignCertificate", {"csr": csr("CP-ADDR", CPO)}) == {
            "status": "Accepted"}
        await eventually(lambda: server_calls(cp, "CertificateSigned"))
        recorded = await eventually(lambda: at_least(3, security_events(
            ca_http, station_id="CP-ADDR")))
    assert {(e["kind"], e["remote_address"]) for e in recorded} == {
        ("station_reported", "127.0.0.3"), ("csr_rejected", "127.0.0.3"),
        ("certificate_signed", "127.0.0.3")}


async def at_least(count: int, rows: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await rows
    return found if len(found) >= count else []


async def test_tc075_to_tc081_certificate_management_log_and_signed_firmware(
        ca_server: RunningServer, ca_http: httpx.AsyncClient) -> None:
    await register(ca_http, "CP-EXT", 1)
    root = (Path(ca_server.settings.ca_dir) / "ca.pem").read_text()
    commands = {
        "InstallCertificate": {"certificateType": "CentralSystemRootCertificate",
                               "certificate": root},
        "GetInstalledCertificateIds": {"certificateType": "CentralSystemRootCertificate"},
        "DeleteCertificate": {"certificateHashData": {
            "hashAlgorithm": "SHA256", "issuerNameHash": "a" * 64,
            "issuerKeyHash": "b" * 64, "serialNumber": "01"}},
        "ExtendedTriggerMessage": {"requestedMessage": "SignChargePointCertificate"},
        "GetLog": {"logType": "SecurityLog", "requestId": 7,
                   "log": {"remoteLocation": "ftp://logs.example/cp-ext"}},
        "SignedUpdateFirmware": {"requestId": 8, "firmware": {
            "location": "https://fw.example/1.2.bin",
            "retrieveDateTime": "2026-11-28T03:00:00Z",
            "signingCertificate": root, "signature": "c2lnbmF0dXJl"}},
    }
    async with raw_station(ca_server.station_url("CP-EXT"), answers=ACCEPT_ALL,
                           additional_headers=basic("CP-EXT", PASSWORD)) as cp:
        await cp.boot()
        for action, payload in commands.items():
            answer = await ca_http.post(f"/stations/CP-EXT/commands/{action}", json=payload)
            assert answer.status_code == 200, (action, answer.text)
            assert answer.json()["response"] == {"status": "Accepted"}
            assert server_calls(cp, action)[-1][3] == payload
        bad = await ca_http.post("/stations/CP-EXT/commands/GetLog",
                                 json={"logType": "EverythingLog", "requestId": 1,
                                       "log": {"remoteLocation": "x"}})
        assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "logType"
        # What the station reports back: stored and answered, never NotImplemented.
        assert await cp.ok("LogStatusNotification",
                           {"status": "Uploaded", "requestId": 7}) == {}
        assert await cp.ok("SignedFirmwareStatusNotification",
                           {"status": "InvalidSignature", "requestId": 8}) == {}
        assert await cp.ok("SecurityEventNotification", {
            "type": "InvalidFirmwareSignature", "timestamp": "2026-11-28T03:05:00Z",
            "techInfo": "signature did not verify"}) == {}
    station = (await ca_http.get("/stations/CP-EXT")).json()
    assert station["diagnostics_status"] == "Uploaded"
    assert station["firmware_status"] == "InvalidSignature"
    reported = await eventually(lambda: security_events(ca_http, kind="station_reported"))
    assert reported[0]["detail"]["type"] == "InvalidFirmwareSignature"
    assert reported[0]["detail"]["techInfo"] == "signature did not verify"


async def test_security_events_filter_and_page(ca_server: RunningServer,
                                               ca_http: httpx.AsyncClient) -> None:
    await register(ca_http, "CP-EV", 1)
    for n in range(3):
        assert await refused(ca_server.station_url("CP-EV"),
                             additional_headers=basic("CP-EV", f"wrong-password-{n:03d}")
                             ) == 401
    await register(ca_http, "CP-EV2", 2)
    await eventually(lambda: security_events(ca_http, kind="profile_changed",
                                             station_id="CP-EV2"))
    everything = await security_events(ca_http)
    assert {e["kind"] for e in everything} >= {"auth_failed", "profile_changed"}
    first = (await ca_http.get("/security_events", params={"limit": 1})).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = (await ca_http.get("/security_events",
                                params={"limit": 1, "cursor": first["next_cursor"]})).json()
    assert second["items"][0]["id"] < first["items"][0]["id"]
    bad = await ca_http.get("/security_events", params={"cursor": "nonsense"})
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "cursor"
