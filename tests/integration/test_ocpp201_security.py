"""OCPP 2.0.1 security (A, M) on the real server: the simulated 2.0.1 station is asked for
its certificates over REST, sends its CSRs, takes the certificates chargeplan's CA signs
(and connects on profile 3 with one) and answers the certificate commands; a raw 2.0.1
station reports security events, sends a CSR that breaks a rule, gets a new password and
is moved up a security profile. What the user sees is the station's answers, the security
events and the audit; every frame both ways fits the 2.0.1 schemas (``tests/ocpp201.py``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from websockets.exceptions import InvalidStatus

from app.services.security.certificates import SERVER_CERT, SERVER_KEY, init_ca
from tests.certs import client_context, csr
from tests.conftest import (
    RunningServer,
    make_settings,
    settled_audit_rows,
    start_server,
    stop_server,
)
from tests.e2e.harness import eventually, simulated
from tests.ocpp.test_security_profiles import refused
from tests.ocpp201 import BOOT_201, RAW_201_ANSWERS, check_201_frames, station_of
from tests.ocpp_client import raw_station

CPO = "Depot Energy"
SID = "PY-SIM-0001"
WAIT = 60.0  # bounds a failure only


@pytest.fixture
async def server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    ca_dir = tmp_path / "ca"
    init_ca(ca_dir, CPO, datetime.now(UTC))
    # No client CA configured: the TLS listener trusts the built-in one.
    running = await start_server(make_settings(
        sqlite_url, ca_dir=str(ca_dir), cpo_name=CPO, ocpp_tls_port=0,
        ocpp_tls_cert=str(ca_dir / SERVER_CERT), ocpp_tls_key=str(ca_dir / SERVER_KEY)))
    try:
        yield running
    finally:
        await stop_server(running)


async def command(http: httpx.AsyncClient, station_id: str, action: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    answer = await http.post(f"/stations/{station_id}/commands/{action}", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    assert result["status"] == "success", result
    return result


async def events(http: httpx.AsyncClient, kind: str, station_id: str) -> list[dict[str, Any]]:
    answer = await http.get("/security_events", params={"kind": kind, "station_id": station_id})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def issuer_of(chain: list[x509.Certificate]) -> str:
    return chain[0].issuer.rfc4514_string()


def write_identity(folder: Path, chain: list[x509.Certificate], key: Any
                   ) -> tuple[Path, Path]:
    cert_file, key_file = folder / "station.pem", folder / "station.key"
    cert_file.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


async def test_a_201_station_asked_for_its_certificates_gets_them_signed_by_the_ca(
    server: RunningServer, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    ca = x509.load_pem_x509_certificate((Path(server.settings.ca_dir) / "ca.pem").read_bytes())
    async with simulated(server, http, ocpp_version="2.0.1", connectors=1,
                         cpo_name=CPO) as sim:
        station = station_of(sim).certificates
        # The 2.0.1 trigger, and the security extension's one for the same thing.
        asked = await command(http, SID, "TriggerMessage",
                              {"requestedMessage": "SignV2GCertificate"})
        assert asked["response"] == {"status": "Accepted"}
        asked = await command(http, SID, "ExtendedTriggerMessage",
                              {"requestedMessage": "SignChargePointCertificate"})
        assert asked["response"] == {"status": "Accepted"}

        async def both_signed() -> bool:
            found = await events(http, "certificate_signed", SID)
            return len(found) == 2

        assert await eventually(both_signed, timeout=WAIT)
        signed = await events(http, "certificate_signed", SID)
        assert sorted((e["detail"]["certificate_type"], e["detail"]["delivered"],
                       e["detail"]["status"]) for e in signed) == [
            ("ChargingStationCertificate", True, "Accepted"),
            ("V2GCertificate", True, "Accepted")]
        # The station kept both, each for the key it made, from chargeplan's CA.
        assert sorted(station.own) == ["ChargingStationCertificate", "V2GCertificate"]
        for chain in station.own.values():
            assert issuer_of(chain) == ca.subject.rfc4514_string()
            assert chain[0].subject.rfc4514_string() == f"O={CPO},CN={SID}"
        assert station.pending == {}
        # A02: the station reconnects with its new certificate, on security profile 3.
        identity = write_identity(tmp_path, station.own["ChargingStationCertificate"],
                                  station.keys["ChargingStationCertificate"])
    raised = await http.put(f"/stations/{SID}/security_profile", json={"security_profile": 3})
    assert raised.status_code == 200, raised.text
    tls = client_context(Path(server.settings.ca_dir) / "ca.pem", identity)
    url = f"wss://127.0.0.1:{server.services.status.ocpp_tls_port}/{SID}"
    async with raw_station(url, subprotocols=["ocpp2.0.1"], answers=RAW_201_ANSWERS,
                           ssl=tls) as cp:
        assert (await cp.ok("BootNotification", BOOT_201))["status"] == "Accepted"
    rows = await settled_audit_rows(server, SID)
    seen = check_201_frames(rows)
    assert ("out", "CALL", "CertificateSigned") in seen
    sign_requests = [r.payload for r in rows if r.action == "SignCertificate"
                     and r.message_type == "CALL"]
    assert sorted(p["certificateType"] for p in sign_requests) == [
        "ChargingStationCertificate", "V2GCertificate"]
    signed_calls = [r.payload for r in rows if r.action == "CertificateSigned"
                    and r.message_type == "CALL"]
    assert sorted(p["certificateType"] for p in signed_calls) == [
        "ChargingStationCertificate", "V2GCertificate"]


async def test_root_certificates_installed_listed_and_deleted_in_both_shapes(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    root = (Path(server.settings.ca_dir) / "ca.pem").read_text()
    async with simulated(server, http, ocpp_version="2.0.1", connectors=1,
                         cpo_name=CPO) as sim:
        # The 1.6 body, and the 2.0.1 type a 1.6 station has no word for.
        installed = await command(http, SID, "InstallCertificate", {
            "certificateType": "CentralSystemRootCertificate", "certificate": root})
        assert installed["response"] == {"status": "Accepted"}
        installed = await command(http, SID, "InstallCertificate", {
            "certificateType": "V2GRootCertificate", "certificate": root})
        assert installed["response"] == {"status": "Accepted"}
        assert sorted(station_of(sim).certificates.roots) == [
            "CSMSRootCertificate", "V2GRootCertificate"]

        listed = await command(http, SID, "GetInstalledCertificateIds", {
            "certificateType": "CentralSystemRootCertificate"})
        response = listed["response"]
        assert response["status"] == "Accepted"
        (csms_root,) = response["certificateHashData"]
        assert [e["certificateType"] for e in response["certificateHashDataChain"]] == [
            "CSMSRootCertificate"]
        every = await command(http, SID, "GetInstalledCertificateIds", {})
        assert len(every["response"]["certificateHashData"]) == 2
        some = await command(http, SID, "GetInstalledCertificateIds", {
            "certificateType": ["MORootCertificate"]})
        assert some["response"] == {"status": "NotFound"}

        # The same certificate was installed as two types: one goes a time.
        answers = [(await command(http, SID, "DeleteCertificate",
                                  {"certificateHashData": csms_root}))["response"]
                   for _ in range(3)]
        assert answers == [{"status": "Accepted"}, {"status": "Accepted"},
                           {"status": "NotFound"}]
        assert station_of(sim).certificates.roots == {}
    seen = check_201_frames(await settled_audit_rows(server, SID))
    for action in ("InstallCertificate", "GetInstalledCertificateIds", "DeleteCertificate"):
        assert ("out", "CALL", action) in seen and ("in", "CALLRESULT", action) in seen


async def test_a_16_station_is_refused_the_201_certificate_words(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, connectors=1):
        refused = await http.post(f"/stations/{SID}/commands/GetInstalledCertificateIds",
                                  json={"certificateType": ["V2GRootCertificate"]})
    assert refused.status_code == 400, refused.text
    assert refused.json()["extra"][0]["key"] == "certificateType"


async def test_a_raw_201_station_reports_events_a_bad_csr_and_takes_a_new_password(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    sid = "CP-SEC-201"
    registered = await http.post("/stations", json={"station_id": sid,
                                                    "password": "first-password-0001"})
    assert registered.status_code == 201, registered.text
    answers = {**RAW_201_ANSWERS, "CertificateSigned": {"status": "Accepted"},
               "SetVariables": {"setVariableResult": [{
                   "attributeStatus": "Accepted", "component": {"name": "SecurityCtrlr"},
                   "variable": {"name": "BasicAuthPassword"}}]}}
    auth = httpx.BasicAuth(sid, "first-password-0001")
    header = auth._auth_header  # noqa: SLF001 (the Basic header the upgrade carries)
    async with raw_station(server.station_url(sid), subprotocols=["ocpp2.0.1"],
                           answers=answers,
                           additional_headers={"Authorization": header}) as cp:
        await cp.ok("BootNotification", BOOT_201)
        assert await cp.ok("SecurityEventNotification", {
            "type": "InvalidChargingStationCertificate", "timestamp": "2030-01-07T08:00:00Z",
            "techInfo": "chain did not verify"}) == {}
        # O is not the operator: Rejected (A02.FR.07 lets the CSMS refuse), said why.
        assert await cp.ok("SignCertificate", {
            "csr": csr(sid, "Someone Else"), "certificateType": "ChargingStationCertificate",
        }) == {"status": "Rejected"}
        # One certificate for both uses: signed, and sent without a type (A02.FR.14).
        assert await cp.ok("SignCertificate", {"csr": csr(sid, CPO)}) == {"status": "Accepted"}
        assert await eventually(lambda: events(http, "certificate_signed", sid), timeout=WAIT)
        rotated = await http.post(f"/stations/{sid}/password")
        assert rotated.status_code == 200, rotated.text
        (set_call,) = [c for c in cp.server_calls if c[2] == "SetVariables"
                       and "BasicAuthPassword" in json.dumps(c[3])]
        new_password = set_call[3]["setVariableData"][0]["attributeValue"]
        (signed_call,) = [c for c in cp.server_calls if c[2] == "CertificateSigned"]
        assert "certificateType" not in signed_call[3]
    reported = await events(http, "station_reported", sid)
    assert reported[0]["detail"] == {"type": "InvalidChargingStationCertificate",
                                     "timestamp": "2030-01-07T08:00:00Z",
                                     "techInfo": "chain did not verify"}
    (rejected,) = await events(http, "csr_rejected", sid)
    assert rejected["detail"]["certificate_type"] == "ChargingStationCertificate"
    assert "O must be the operator" in rejected["detail"]["reason"]
    assert await eventually(lambda: events(http, "password_rotation_sent", sid), timeout=WAIT)
    rows = await settled_audit_rows(server, sid)
    check_201_frames(rows)
    # The new password is never audited in clear.
    assert new_password not in json.dumps([r.payload for r in rows])
    # The station connects with it.
    new_header = httpx.BasicAuth(sid, new_password)._auth_header  # noqa: SLF001
    async with raw_station(server.station_url(sid), subprotocols=["ocpp2.0.1"],
                           answers=answers,
                           additional_headers={"Authorization": new_header}) as cp:
        assert (await cp.ok("BootNotification", BOOT_201))["status"] == "Accepted"
    assert await eventually(lambda: events(http, "password_rotated", sid), timeout=WAIT)


async def test_a_password_set_through_set_variables_is_a_rotation(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """An operator's own SetVariables of BasicAuthPassword is the station's new password:
    the station connects with it once it took it (and with the old one until then); one
    the station refuses is not taken, and one that breaks the password rules is refused
    before anything is sent."""
    sid = "CP-SETVAR-PW"
    old, new, refused_one = ("old-password-0000001", "operator-chosen-42",
                             "refused-passwd-0001")
    assert (await http.post("/stations", json={"station_id": sid, "password": old})
            ).status_code == 201
    password = {"component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"}}

    def answer(status: str) -> dict[str, Any]:
        return {"setVariableResult": [{**password, "attributeStatus": status}]}

    def basic(secret: str) -> dict[str, str]:
        return {"Authorization": httpx.BasicAuth(sid, secret)._auth_header}  # noqa: SLF001

    async def set_password(value: str) -> httpx.Response:
        return await http.post(f"/stations/{sid}/commands/SetVariables", json={
            "setVariableData": [{**password, "attributeValue": value}]})

    async with raw_station(server.station_url(sid), subprotocols=["ocpp2.0.1"],
                           answers={**RAW_201_ANSWERS, "SetVariables": answer("Rejected")},
                           additional_headers=basic(old)) as cp:
        await cp.ok("BootNotification", BOOT_201)
        short = await set_password("short")
        assert short.status_code == 400, short.text
        assert short.json()["extra"][0]["key"] == "setVariableData[0].attributeValue"
        assert not [c for c in cp.server_calls if c[2] == "SetVariables"]
        declined = await set_password(refused_one)
        assert declined.status_code == 200, declined.text
        cp.answers["SetVariables"] = answer("Accepted")
        taken = await set_password(new)
        assert taken.status_code == 200, taken.text
        assert taken.json()["request"]["setVariableData"][0]["attributeValue"] == "***"
        assert taken.json()["response"] == answer("Accepted")
    assert await eventually(lambda: events(http, "password_rotation_sent", sid), timeout=WAIT)
    assert await refused(server.station_url(sid), subprotocols=["ocpp2.0.1"],
                         additional_headers=basic(refused_one)) == 401
    async with raw_station(server.station_url(sid), subprotocols=["ocpp2.0.1"],
                           answers=RAW_201_ANSWERS, additional_headers=basic(new)) as cp:
        assert (await cp.ok("BootNotification", BOOT_201))["status"] == "Accepted"
    assert await eventually(lambda: events(http, "password_rotated", sid), timeout=WAIT)
    assert await refused(server.station_url(sid), subprotocols=["ocpp2.0.1"],
                         additional_headers=basic(old)) == 401


async def test_a05_raising_a_201_stations_profile_is_network_profile_reset_and_rest(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    sid = "CP-A05"
    password = "upgrade-password-01"
    assert (await http.post("/stations", json={"station_id": sid, "password": password})
            ).status_code == 201
    answers = {**RAW_201_ANSWERS, "SetNetworkProfile": {"status": "Accepted"},
               "Reset": {"status": "Accepted"},
               "SetVariables": {"setVariableResult": [{
                   "attributeStatus": "Accepted", "component": {"name": "OCPPCommCtrlr"},
                   "variable": {"name": "NetworkConfigurationPriority"}}]}}
    header = httpx.BasicAuth(sid, password)._auth_header  # noqa: SLF001
    network = {"configurationSlot": 2, "connectionData": {
        "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppInterface": "Wired0",
        "ocppCsmsUrl": "wss://csms.example:9443/", "messageTimeout": 30,
        "securityProfile": 2}}
    async with raw_station(server.station_url(sid), subprotocols=["ocpp2.0.1"],
                           answers=answers, additional_headers={"Authorization": header}) as cp:
        await cp.ok("BootNotification", BOOT_201)
        # 2.0.1 has no writable SecurityProfile: refused, nothing sent.
        changed = await http.post(f"/stations/{sid}/commands/ChangeConfiguration",
                                  json={"key": "SecurityProfile", "value": "2"})
        assert changed.json()["status"] == "error", changed.text
        assert (await command(http, sid, "SetNetworkProfile", network))["response"] == {
            "status": "Accepted"}
        priority = {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "NetworkConfigurationPriority"}, "attributeValue": "2,1"}]}
        assert (await command(http, sid, "SetVariables", priority))["response"][
            "setVariableResult"][0]["attributeStatus"] == "Accepted"
        assert (await command(http, sid, "Reset", {"type": "Immediate"}))["response"] == {
            "status": "Accepted"}
        sent = [c[2] for c in cp.server_calls]
        assert "SetNetworkProfile" in sent and "Reset" in sent
        assert not any(c[2] == "SetVariables" and "SecurityProfile" in json.dumps(c[3])
                       for c in cp.server_calls)
        (network_call,) = [c[3] for c in cp.server_calls if c[2] == "SetNetworkProfile"]
        assert network_call == network
    raised = await http.put(f"/stations/{sid}/security_profile", json={"security_profile": 2})
    assert raised.status_code == 200 and raised.json()["security_profile"] == 2
    # The old way in is closed: plain ws with the right password.
    with pytest.raises(InvalidStatus) as refused:
        async with raw_station(server.station_url(sid), subprotocols=["ocpp2.0.1"],
                               additional_headers={"Authorization": header}):
            pass
    assert refused.value.response.status_code == 403
    lowered = await http.put(f"/stations/{sid}/security_profile", json={"security_profile": 1})
    assert lowered.status_code == 400
    check_201_frames(await settled_audit_rows(server, sid))
