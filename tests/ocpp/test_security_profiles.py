"""OCPP security profiles 2 and 3 over real TLS with certificates the tests make, the
throttling of failed authentication, and password rotation; several are cases of the OCPP
1.6 compliance catalogue for central systems (TC_073, TC_083, TC_085, TC_086, TC_087,
TC_088), played by a charger of our own."""

from __future__ import annotations

import asyncio
import base64
import gc
import ssl
from asyncio.sslproto import SSLProtocol
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import InvalidMessage, InvalidStatus

from app.clock import utcnow
from app.db.models import AuditFrame, Station
from app.db.security_models import SecurityEvent
from tests.certs import Issued, client_context, issue, make_ca
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually
from tests.integration.test_api_audit import database_url
from tests.integration.test_handshakes import collector_off
from tests.ocpp_client import RawStation, raw_station

__all__ = ["database_url"]

CPO = "Test CPO"
PASSWORD = "0123456789abcdefXYZ"
WHITEPAPER_CIPHERS = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                      "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"}


def basic(user: str, password: str | bytes) -> dict[str, str]:
    raw = password if isinstance(password, bytes) else password.encode()
    return {"Authorization": "Basic " + base64.b64encode(user.encode() + b":" + raw).decode()}


@dataclass
class Pki:
    folder: Path
    ca: Issued
    ca_file: Path

    def station_cert(self, common_name: str, organization: str | None = CPO, *,
                     ca: Issued | None = None, expired: bool = False) -> tuple[Path, Path]:
        issued = issue(ca or self.ca, common_name, organization, expired=expired)
        return issued.write(self.folder, f"{common_name}-{organization}-{expired}-{id(ca)}")

    def context(self, client: tuple[Path, Path] | None = None, **kwargs: Any
                ) -> ssl.SSLContext:
        return client_context(self.ca_file, client, **kwargs)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = make_ca()
    ca_file = tmp_path / "ca.pem"
    ca.write(tmp_path, "ca")
    return Pki(tmp_path, ca, ca_file)


@pytest.fixture
async def tls_server(sqlite_url: str, pki: Pki) -> AsyncIterator[RunningServer]:
    cert, key = issue(pki.ca, "localhost", server=True).write(pki.folder, "server")
    running = await start_server(make_settings(
        sqlite_url, ocpp_tls_cert=str(cert), ocpp_tls_key=str(key), ocpp_tls_port=0,
        ocpp_tls_client_ca=str(pki.ca_file), cpo_name=CPO, admit_unknown_stations=False))
    try:
        yield running
    finally:
        await stop_server(running)


@pytest.fixture
async def tls_http(tls_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=tls_server.http_url, timeout=10) as client:
        yield client


def wss(server: RunningServer, station_id: str) -> str:
    return f"wss://127.0.0.1:{server.services.status.ocpp_tls_port}/{station_id}"


async def refused(url: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with raw_station(url, **kwargs):
            pass
    return info.value.response.status_code


async def handshake_fails(url: str, **kwargs: Any) -> None:
    # With TLS 1.3 the client finishes its side before the server checks its certificate:
    # it sees the connection end instead of an HTTP answer.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError, InvalidMessage)):
        async with raw_station(url, **kwargs):
            pass


async def register(http: httpx.AsyncClient, station_id: str, profile: int,
                   password: str | None = PASSWORD) -> None:
    body: dict[str, Any] = {"station_id": station_id}
    if password is not None:
        body["password"] = password
    assert (await http.post("/stations", json=body)).status_code == 201
    answer = await http.put(f"/stations/{station_id}/security_profile",
                            json={"security_profile": profile})
    assert answer.status_code == 200, answer.text
    assert answer.json()["security_profile"] == profile


async def events(server: RunningServer, kind: str) -> list[SecurityEvent]:
    async with server.services.db.uow() as session:
        return list((await session.scalars(
            select(SecurityEvent).where(SecurityEvent.kind == kind))).all())


def tls_details(station: RawStation) -> tuple[str, str]:
    ssl_object = station.ws.transport.get_extra_info("ssl_object")
    return ssl_object.version(), ssl_object.cipher()[0]


async def test_tc086_tc085_profile_2_is_tls_with_basic_and_refuses_plain(
        tls_server: RunningServer, tls_http: httpx.AsyncClient, pki: Pki) -> None:
    await register(tls_http, "CP-P2", 2)
    # Below the profile: plain ws:// with the right password is refused.
    assert await refused(tls_server.station_url("CP-P2"),
                         additional_headers=basic("CP-P2", PASSWORD)) == 403
    # TC_085: over TLS without Basic, exactly HTTP 401.
    assert await refused(wss(tls_server, "CP-P2"), ssl=pki.context()) == 401
    assert await refused(wss(tls_server, "CP-P2"), ssl=pki.context(),
                         additional_headers=basic("CP-P2", "wrong-password-000")) == 401
    # TC_086 / TC_088: TLS 1.2+ with a whitepaper suite, subprotocol ocpp1.6.
    tls12 = pki.context(maximum=ssl.TLSVersion.TLSv1_2)
    async with raw_station(wss(tls_server, "CP-P2"), ssl=tls12,
                           additional_headers=basic("CP-P2", PASSWORD)) as station:
        assert (await station.boot())["status"] == "Accepted"
        version, cipher = tls_details(station)
        assert station.ws.subprotocol == "ocpp1.6"
    assert version == "TLSv1.2" and cipher in WHITEPAPER_CIPHERS
    async with raw_station(wss(tls_server, "CP-P2"), ssl=pki.context(),
                           additional_headers=basic("CP-P2", PASSWORD)) as station:
        assert tls_details(station)[0] in ("TLSv1.2", "TLSv1.3")
    refusals = await eventually(lambda: events(tls_server, "profile_refused"))
    assert refusals[0].station_id == "CP-P2"
    assert refusals[0].detail["reason"] == "needs_tls"


async def test_tc088_tls_without_the_ocpp_subprotocol_is_refused(
        tls_server: RunningServer, tls_http: httpx.AsyncClient, pki: Pki) -> None:
    await register(tls_http, "CP-SUB", 2)
    assert await refused(wss(tls_server, "CP-SUB"), ssl=pki.context(), subprotocols=[],
                         additional_headers=basic("CP-SUB", PASSWORD)) == 400


async def test_tls_1_1_and_suites_outside_the_whitepaper_are_refused(
        tls_server: RunningServer, tls_http: httpx.AsyncClient, pki: Pki) -> None:
    await register(tls_http, "CP-OLD", 2)
    old = pki.context(minimum=ssl.TLSVersion.TLSv1_1, maximum=ssl.TLSVersion.TLSv1_1)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # the client offers TLS 1.1 for real
    await handshake_fails(wss(tls_server, "CP-OLD"), ssl=old,
                          additional_headers=basic("CP-OLD", PASSWORD))
    # CBC suites (and the static RSA ones, which this ECDSA-only server cannot serve).
    outside = pki.context(maximum=ssl.TLSVersion.TLSv1_2)
    outside.set_ciphers("AES128-GCM-SHA256:AES256-SHA256:ECDHE-ECDSA-AES128-SHA256")
    await handshake_fails(wss(tls_server, "CP-OLD"), ssl=outside, local_addr=("127.0.0.2", 0),
                          additional_headers=basic("CP-OLD", PASSWORD))
    # Refused before any HTTP, so without a station id; each with its address and reason.
    refusals = await eventually(lambda: at_least(2, events(tls_server, "tls_refused")))
    assert {(e.remote_address, e.station_id, e.detail["reason"]) for e in refusals} == {
        ("127.0.0.1", None, "unsupported_protocol"), ("127.0.0.2", None, "no_shared_cipher")}
    # The listener is none the worse for them.
    async with raw_station(wss(tls_server, "CP-OLD"), ssl=pki.context(),
                           additional_headers=basic("CP-OLD", PASSWORD)) as station:
        assert (await station.boot())["status"] == "Accepted"


async def test_a00_fr_318_the_four_suites_with_an_ecdsa_and_an_rsa_certificate(
        sqlite_url: str, pki: Pki) -> None:
    cert, key = issue(pki.ca, "localhost", server=True).write(pki.folder, "server-ec")
    rsa_cert, rsa_key = issue(pki.ca, "localhost", server=True, rsa_bits=2048).write(
        pki.folder, "server-rsa")
    server = await start_server(make_settings(
        sqlite_url, ocpp_tls_cert=str(cert), ocpp_tls_key=str(key), ocpp_tls_port=0,
        ocpp_tls_rsa_cert=str(rsa_cert), ocpp_tls_rsa_key=str(rsa_key),
        ocpp_tls_client_ca=str(pki.ca_file), cpo_name=CPO, admit_unknown_stations=False))
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            await register(http, "CP-SUITES", 2)
        suites = ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                  "AES128-GCM-SHA256", "AES256-GCM-SHA384")
        for suite in suites:
            offered = pki.context(maximum=ssl.TLSVersion.TLSv1_2)
            offered.set_ciphers(suite)
            async with raw_station(wss(server, "CP-SUITES"), ssl=offered,
                                   additional_headers=basic("CP-SUITES", PASSWORD)) as station:
                assert tls_details(station) == ("TLSv1.2", suite)
        # A client offering both gets forward secrecy: the server's preference.
        both = pki.context(maximum=ssl.TLSVersion.TLSv1_2)
        both.set_ciphers("AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
        async with raw_station(wss(server, "CP-SUITES"), ssl=both,
                               additional_headers=basic("CP-SUITES", PASSWORD)) as station:
            assert tls_details(station)[1] == "ECDHE-RSA-AES128-GCM-SHA256"
    finally:
        await stop_server(server)


async def test_tc087_profile_3_identifies_the_station_by_its_certificate(
        tls_server: RunningServer, tls_http: httpx.AsyncClient, pki: Pki) -> None:
    await register(tls_http, "CP-P3", 3, password=None)
    good = pki.context(pki.station_cert("CP-P3"))
    async with raw_station(wss(tls_server, "CP-P3"), ssl=good) as station:
        assert (await station.boot())["status"] == "Accepted"
    # No certificate: below profile 3, even with a password-shaped header.
    assert await refused(wss(tls_server, "CP-P3"), ssl=pki.context(),
                         additional_headers=basic("CP-P3", PASSWORD)) == 403
    # A valid certificate of another station, or of another operator.
    assert await refused(wss(tls_server, "CP-P3"),
                         ssl=pki.context(pki.station_cert("CP-OTHER"))) == 403
    assert await refused(wss(tls_server, "CP-P3"),
                         ssl=pki.context(pki.station_cert("CP-P3", "Other CPO"))) == 403
    assert await refused(wss(tls_server, "CP-P3"),
                         ssl=pki.context(pki.station_cert("CP-P3", None))) == 403
    # Expired, or from a CA the server does not trust: the handshake itself fails, and
    # is recorded with the address (the station id is in no HTTP request yet).
    await handshake_fails(wss(tls_server, "CP-P3"), local_addr=("127.0.0.2", 0),
                          ssl=pki.context(pki.station_cert("CP-P3", expired=True)))
    stranger = make_ca("Somebody Else's CA")
    await handshake_fails(wss(tls_server, "CP-P3"), local_addr=("127.0.0.3", 0),
                          ssl=pki.context(pki.station_cert("CP-P3", ca=stranger)))
    refused_certs = await eventually(
        lambda: at_least(3, events(tls_server, "certificate_refused")))
    assert {(e.remote_address, e.station_id, e.detail["reason"],
             e.detail.get("verify_message")) for e in refused_certs} == {
        ("127.0.0.1", "CP-P3", "certificate_mismatch", None),
        ("127.0.0.2", None, "certificate_verify_failed", "certificate has expired"),
        ("127.0.0.3", None, "certificate_verify_failed", "unable to get local issuer certificate"),
    }


async def test_a_flood_of_refused_handshakes_adds_one_row_per_address_and_minute(
        tls_server: RunningServer, pki: Pki) -> None:
    expired = pki.context(pki.station_cert("CP-FLOOD", expired=True))
    attempts = 40
    for _ in range(attempts):
        await handshake_fails(wss(tls_server, "CP-FLOOD"), ssl=expired)
    recorder = tls_server.services.security_events
    # Every refusal is accounted for: written, or folded into the address's row of the
    # minute (the next row says how many were folded).
    rows = await eventually(lambda: rows_accounting_for(attempts, tls_server))
    assert 1 <= len(rows) < attempts and recorder.coalesced >= attempts - len(rows)
    assert {e.remote_address for e in rows} == {"127.0.0.1"}


async def rows_accounting_for(attempts: int, server: RunningServer) -> list[SecurityEvent]:
    rows = await events(server, "certificate_refused")
    return rows if len(rows) + server.services.security_events.coalesced >= attempts else []


async def at_least(count: int, rows: Any) -> list[SecurityEvent]:
    found: list[SecurityEvent] = await rows
    return found if len(found) >= count else []


async def test_a_profile_only_goes_up(tls_server: RunningServer, tls_http: httpx.AsyncClient
                                      ) -> None:
    await register(tls_http, "CP-UP", 2)
    lower = await tls_http.put("/stations/CP-UP/security_profile", json={"security_profile": 1})
    assert lower.status_code == 400
    assert lower.json()["extra"][0]["key"] == "security_profile"
    assert "never lowered" in lower.json()["extra"][0]["message"]
    assert (await tls_http.put("/stations/CP-UP/security_profile",
                           json={"security_profile": 4})).status_code == 400
    await tls_http.post("/stations", json={"station_id": "CP-NOPW"})
    no_password = await tls_http.put("/stations/CP-NOPW/security_profile",
                                 json={"security_profile": 2})
    assert no_password.status_code == 400 and "password" in no_password.text
    changes = await eventually(lambda: events(tls_server, "profile_changed"))
    assert (changes[0].detail["from"], changes[0].detail["to"]) == (1, 2)


async def test_tc083_profile_upgrade_1_to_2_through_change_configuration(
        tls_server: RunningServer, tls_http: httpx.AsyncClient, pki: Pki) -> None:
    await register(tls_http, "CP-83", 1)
    url, auth = tls_server.station_url("CP-83"), basic("CP-83", PASSWORD)
    async with raw_station(url, additional_headers=auth,
                           answers={"ChangeConfiguration": {"status": "Accepted"}}) as cp:
        await cp.boot()
        lower = await tls_http.post("/stations/CP-83/commands/ChangeConfiguration",
                                json={"key": "SecurityProfile", "value": "0"})
        assert lower.status_code == 400 and "never lowered" in lower.text
        answer = await tls_http.post("/stations/CP-83/commands/ChangeConfiguration",
                                 json={"key": "SecurityProfile", "value": "2"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["response"] == {"status": "Accepted"}
    station = (await tls_http.get("/stations/CP-83")).json()
    assert station["security_profile"] == 2
    # The station reconnects over TLS; plain ws:// is refused from now on.
    assert await refused(url, additional_headers=auth) == 403
    async with raw_station(wss(tls_server, "CP-83"), ssl=pki.context(),
                           additional_headers=auth) as cp:
        assert (await cp.boot())["status"] == "Accepted"
    changes = await eventually(lambda: events(tls_server, "profile_changed"))
    assert changes[-1].detail["to"] == 2 and "ChangeConfiguration" in changes[-1].detail["via"]


async def test_a_profile_upgrade_the_station_rejects_changes_nothing(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    await register(http, "CP-84", 1)
    url, auth = server.station_url("CP-84"), basic("CP-84", PASSWORD)
    async with raw_station(url, additional_headers=auth,
                           answers={"ChangeConfiguration": {"status": "Rejected"}}) as cp:
        await cp.boot()
        answer = await http.post("/stations/CP-84/commands/ChangeConfiguration",
                                 json={"key": "SecurityProfile", "value": "2"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["response"] == {"status": "Rejected"}
    assert (await http.get("/stations/CP-84")).json()["security_profile"] == 1
    # Still profile 1: the plain connection with the password goes on working.
    async with raw_station(url, additional_headers=auth) as cp:
        assert (await cp.boot())["status"] == "Accepted"
    (refusal,) = await eventually(lambda: events(server, "profile_changed"))
    assert refusal.detail["refused_by_station"] == "Rejected"


async def test_tc073_password_rotation_old_and_new_until_the_new_is_used(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    await register(http, "CP-73", 1)
    url = server.station_url("CP-73")
    async with raw_station(url, additional_headers=basic("CP-73", PASSWORD),
                           answers={"ChangeConfiguration": {"status": "Accepted"}}) as cp:
        await cp.boot()
        rotated = await http.post("/stations/CP-73/password")
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["status"] == "accepted"
        (call,) = [c for c in cp.server_calls if c[2] == "ChangeConfiguration"]
    key = call[3]["value"]
    assert call[3]["key"] == "AuthorizationKey" and len(key) == 40
    assert key not in rotated.text
    assert (await http.get("/stations/CP-73")).json()["password_rotation_pending"] is True
    # Both work until the station has used the new one; chargers send the hex text or the
    # 20 bytes it encodes.
    async with raw_station(url, additional_headers=basic("CP-73", PASSWORD)):
        pass
    async with raw_station(url, additional_headers=basic("CP-73", bytes.fromhex(key))):
        pass
    assert await refused(url, additional_headers=basic("CP-73", PASSWORD)) == 401
    async with raw_station(url, additional_headers=basic("CP-73", key.upper())):
        pass
    station = (await http.get("/stations/CP-73")).json()
    assert station["password_rotation_pending"] is False
    assert key not in str(station)
    async def audited() -> list[AuditFrame]:
        async with server.services.db.uow() as session:
            return list((await session.scalars(select(AuditFrame).where(
                AuditFrame.action == "ChangeConfiguration"))).all())

    frames = await eventually(audited)
    assert all(key not in str(f.payload) for f in frames)
    assert await eventually(lambda: events(server, "password_rotated"))
    assert await eventually(lambda: events(server, "password_rotation_sent"))


async def test_a_hex_authorization_key_through_the_commands_endpoint(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    await register(http, "CP-HEX", 1)
    url = server.station_url("CP-HEX")
    key = "00112233445566778899AABBCCDDEEFF0a0b0c0d"
    async with raw_station(url, additional_headers=basic("CP-HEX", PASSWORD),
                           answers={"ChangeConfiguration": {"status": "Accepted"}}) as cp:
        await cp.boot()
        too_short = await http.post("/stations/CP-HEX/commands/ChangeConfiguration",
                                    json={"key": "AuthorizationKey", "value": "short"})
        assert too_short.status_code == 400
        assert too_short.json()["extra"][0]["key"] == "AuthorizationKey"
        sent = await http.post("/stations/CP-HEX/commands/ChangeConfiguration",
                               json={"key": "AuthorizationKey", "value": key})
        assert sent.status_code == 200, sent.text
        assert sent.json()["request"]["value"] == "***" and key not in sent.text
    async with raw_station(url, additional_headers=basic("CP-HEX", bytes.fromhex(key))):
        pass
    assert await refused(url, additional_headers=basic("CP-HEX", PASSWORD)) == 401
    configuration = (await http.get("/stations/CP-HEX")).json()["configuration"] or {}
    assert configuration.get("AuthorizationKey", {}).get("value") in (None, "***")


async def test_brute_force_from_one_address_never_locks_out_the_real_station(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    await register(http, "CP-BF", 1)
    await http.post("/id_tags", json={"id_tag": "CARD-1", "status": "Accepted",
                                      "expiry_date": None, "parent_id_tag": None})
    url = server.station_url("CP-BF")
    statuses: dict[int, int] = {}
    for attempt in range(1000):
        code = await refused(url, additional_headers=basic("CP-BF", f"guess-{attempt:012d}"))
        statuses[code] = statuses.get(code, 0) + 1
    assert statuses[401] == server.settings.ocpp_auth_failures_allowed
    assert statuses[429] == 1000 - statuses[401]
    # Even the right password is refused from the locked-out address...
    assert await refused(url, additional_headers=basic("CP-BF", PASSWORD)) == 429
    # ...but the real station, connecting from elsewhere, connects and charges.
    async with raw_station(url, additional_headers=basic("CP-BF", PASSWORD),
                           local_addr=("127.0.0.2", 0)) as real:
        assert (await real.boot())["status"] == "Accepted"
        assert (await real.ok("Authorize", {"idTag": "CARD-1"}))["idTagInfo"]["status"] \
            == "Accepted"
        started = await real.ok("StartTransaction", {
            "connectorId": 1, "idTag": "CARD-1", "meterStart": 0,
            "timestamp": "2026-11-28T02:00:00Z"})
        assert started["idTagInfo"]["status"] == "Accepted"
        await real.ok("MeterValues", {"connectorId": 1, "transactionId":
                                      started["transactionId"], "meterValue": [{
                                          "timestamp": "2026-11-28T02:10:00Z",
                                          "sampledValue": [{"value": "1500"}]}]})
        stopped = await real.ok("StopTransaction", {
            "transactionId": started["transactionId"], "meterStop": 1500,
            "idTag": "CARD-1", "timestamp": "2026-11-28T02:20:00Z"})
        assert stopped["idTagInfo"]["status"] == "Accepted"
    lockouts = await eventually(lambda: events(server, "auth_lockout"))
    assert lockouts[0].station_id == "CP-BF" and lockouts[0].remote_address == "127.0.0.1"
    async with server.services.db.uow() as session:
        row = await session.get(Station, "CP-BF")
    assert row is not None and row.remote_address is not None


def nat_password(station_id: str) -> str:
    return f"{station_id[-1]}{PASSWORD}"


class SteeredClock:
    """The server's clock, moved forward by the test instead of waiting."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.ahead


async def test_a_charger_with_a_stale_password_never_locks_out_its_neighbours(
        sqlite_url: str) -> None:
    """Depot chargers share one public address: one of them failing must not keep the
    others off, and it stays refused for its own (station, address) lockout only."""
    clock = SteeredClock()
    server = await start_server(make_settings(sqlite_url, admit_unknown_stations=False),
                                clock=clock)
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            for station_id in ("CP-NAT-A", "CP-NAT-B", "CP-NAT-C"):
                await register(http, station_id, 1, password=nat_password(station_id))
        allowed = server.settings.ocpp_auth_failures_allowed
        codes = [await refused(server.station_url("CP-NAT-A"),
                               additional_headers=basic("CP-NAT-A", f"stale-{n:04d}"))
                 for n in range(60)]
        assert codes == [401] * allowed + [429] * (60 - allowed)
        # Another station, from the same address, with its own password: in at once.
        async with raw_station(server.station_url("CP-NAT-B"),
                               additional_headers=basic("CP-NAT-B", nat_password("CP-NAT-B"))
                               ) as neighbour:
            assert (await neighbour.boot())["status"] == "Accepted"
        # The address is throttled for what fails: a wrong password, an unknown station.
        assert await refused(server.station_url("CP-NAT-C"),
                             additional_headers=basic("CP-NAT-C", "stale")) == 429
        assert await refused(server.station_url("CP-NAT-UNKNOWN")) == 429
        # The stale charger, even with its right password, waits out its pair lockout...
        with pytest.raises(InvalidStatus) as info:
            async with raw_station(server.station_url("CP-NAT-A"), additional_headers=basic(
                    "CP-NAT-A", nat_password("CP-NAT-A"))):
                pass
        assert info.value.response.status_code == 429
        assert 0 < int(info.value.response.headers["Retry-After"]) \
            <= server.settings.ocpp_auth_lock_s
        # ...and is admitted once it has run out.
        clock.ahead += timedelta(seconds=server.settings.ocpp_auth_lock_s + 1)
        async with raw_station(server.station_url("CP-NAT-A"), additional_headers=basic(
                "CP-NAT-A", nat_password("CP-NAT-A"))) as fixed:
            assert (await fixed.boot())["status"] == "Accepted"
        lockouts = await eventually(lambda: at_least(3, events(server, "auth_lockout")))
        assert {(e.station_id, e.detail["key"]) for e in lockouts} == {
            ("CP-NAT-A", "addr"), ("CP-NAT-A", "pair"), ("CP-NAT-C", "pair")}
    finally:
        await stop_server(server)


async def test_a_station_certificate_is_admitted_from_a_throttled_address(
        tls_server: RunningServer, tls_http: httpx.AsyncClient, pki: Pki) -> None:
    await register(tls_http, "CP-STALE", 2)
    await register(tls_http, "CP-CERT", 3, password=None)
    allowed = tls_server.settings.ocpp_auth_failures_allowed
    codes = [await refused(wss(tls_server, "CP-STALE"), ssl=pki.context(),
                           additional_headers=basic("CP-STALE", f"stale-{n:04d}"))
             for n in range(allowed + 1)]
    assert codes == [401] * allowed + [429]
    async with raw_station(wss(tls_server, "CP-CERT"),
                           ssl=pki.context(pki.station_cert("CP-CERT"))) as station:
        assert (await station.boot())["status"] == "Accepted"
    # A certificate naming another operator fails: throttled like a wrong password.
    assert await refused(wss(tls_server, "CP-CERT"),
                         ssl=pki.context(pki.station_cert("CP-CERT", "Other CPO"))) == 429


async def test_only_an_authenticated_connection_replaces_the_station(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    await register(http, "CP-RPL", 1)
    url = server.station_url("CP-RPL")
    async with raw_station(url, additional_headers=basic("CP-RPL", PASSWORD)) as first:
        assert (await first.boot())["status"] == "Accepted"
        # Without credentials, or with wrong ones, a newcomer is refused before its socket
        # opens: the station's connection stays and keeps being answered.
        assert await refused(url, local_addr=("127.0.0.3", 0)) == 401
        assert await refused(url, local_addr=("127.0.0.3", 0),
                             additional_headers=basic("CP-RPL", "not-the-password")) == 401
        assert "currentTime" in await first.ok("Heartbeat", {})
        assert await events(server, "connection_replaced") == []
        # The same station authenticated from elsewhere replaces the old connection.
        async with raw_station(url, additional_headers=basic("CP-RPL", PASSWORD),
                               local_addr=("127.0.0.2", 0)) as second:
            await asyncio.wait_for(first.ws.wait_closed(), 10)
            assert first.ws.close_code == 1000
            assert "replaced" in (first.ws.close_reason or "")
            assert "currentTime" in await second.ok("Heartbeat", {})
            assert (await http.get("/stations/CP-RPL")).json()["online"] is True
            async with server.services.db.uow() as session:
                row = await session.get(Station, "CP-RPL")
            assert row is not None and (row.remote_address or "").startswith("127.0.0.2")
    (replaced,) = await eventually(lambda: events(server, "connection_replaced"))
    assert replaced.station_id == "CP-RPL" and replaced.remote_address == "127.0.0.2"


async def test_a_station_that_leaves_right_after_its_handshake_keeps_its_address(
        tls_server: RunningServer, tls_http: httpx.AsyncClient, pki: Pki) -> None:
    """A closed TLS transport forgets its peer: the address is the one taken when the
    connection was accepted, never None."""
    await register(tls_http, "CP-GONE", 2)
    url, login = wss(tls_server, "CP-GONE"), basic("CP-GONE", PASSWORD)
    registry = tls_server.services.gateway._registry  # type: ignore[attr-defined]

    async def row() -> Station:
        async with tls_server.services.db.uow() as session:
            station = await session.get(Station, "CP-GONE")
        assert station is not None
        return station

    async with raw_station(url, ssl=pki.context(), additional_headers=login) as first:
        await first.boot()
        replaced = registry.get("CP-GONE")
        # The first connection stops reading: its replacement's handler waits in closing
        # it until this test lets it go on.
        first.ws.transport.pause_reading()
        async with raw_station(url, ssl=pki.context(), additional_headers=login,
                               local_addr=("127.0.0.2", 0)) as second:
            newer = await eventually(lambda: registry.get("CP-GONE") is not replaced
                                     and registry.get("CP-GONE"))
            second.ws.transport.abort()
            await eventually(lambda: newer.ws.transport.get_extra_info("peername") is None)
            first.ws.transport.resume_reading()
            station = await eventually(lambda: offline(row()))
    assert station.remote_address is not None
    assert station.remote_address.startswith("127.0.0.2:"), station.remote_address


async def offline(station: Any) -> Station | None:
    found: Station = await station
    return None if found.online else found


async def test_a_restart_does_not_lift_a_lockout(database_url: str) -> None:
    settings = make_settings(database_url)
    first = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=first.http_url, timeout=10) as http:
            await register(http, "CP-RS", 1)
        url = first.station_url("CP-RS")
        codes = [await refused(url, additional_headers=basic("CP-RS", f"guess-{n:04d}"))
                 for n in range(settings.ocpp_auth_failures_allowed + 1)]
        assert codes[-2:] == [401, 429]
        assert await eventually(lambda: events(first, "auth_lockout"))
    finally:
        await stop_server(first)
    second = await start_server(settings)
    try:
        url = second.station_url("CP-RS")
        with pytest.raises(InvalidStatus) as info:
            async with raw_station(url, additional_headers=basic("CP-RS", PASSWORD)):
                pass
        assert info.value.response.status_code == 429
        retry_after = int(info.value.response.headers["Retry-After"])
        assert 0 < retry_after <= settings.ocpp_auth_lock_s
        async with raw_station(url, additional_headers=basic("CP-RS", PASSWORD),
                               local_addr=("127.0.0.2", 0)) as real:
            assert (await real.boot())["status"] == "Accepted"
    finally:
        await stop_server(second)


async def test_a_lockout_on_one_node_is_taken_in_by_the_others(sqlite_url: str) -> None:
    a = await start_server(make_settings(sqlite_url, node_id="node-a"))
    b = await start_server(make_settings(sqlite_url, node_id="node-b"))
    try:
        async with httpx.AsyncClient(base_url=a.http_url, timeout=10) as http:
            await register(http, "CP-NODES", 1)
        allowed = a.settings.ocpp_auth_failures_allowed
        codes = [await refused(a.station_url("CP-NODES"),
                               additional_headers=basic("CP-NODES", f"guess-{n:04d}"))
                 for n in range(allowed + 1)]
        assert codes[-1] == 429
        # Node b never saw a failure: it refuses the address once it has read the lockout.
        async def refused_by_b() -> bool:
            try:
                async with raw_station(b.station_url("CP-NODES"),
                                       additional_headers=basic("CP-NODES", PASSWORD)):
                    return False  # not yet
            except InvalidStatus as exc:
                assert exc.response.status_code == 429
                return True

        assert await eventually(refused_by_b)
        async with raw_station(b.station_url("CP-NODES"), local_addr=("127.0.0.2", 0),
                               additional_headers=basic("CP-NODES", PASSWORD)) as real:
            assert (await real.boot())["status"] == "Accepted"
    finally:
        await stop_server(b)
        await stop_server(a)


async def test_refused_tls_handshakes_leave_nothing_for_the_cycle_collector(
        tls_server: RunningServer, pki: Pki) -> None:
    """A refused TLS handshake kept its TLS objects in a reference cycle (the failed
    upgrade's exception held the frame that held the upgrade): 10,000 of them grew the
    server by 200 MiB, which only a full collection would give back."""
    port = tls_server.services.status.ocpp_tls_port
    assert port is not None
    old = pki.context(minimum=ssl.TLSVersion.TLSv1_1, maximum=ssl.TLSVersion.TLSv1_1)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    stranger = make_ca("Another CA")
    stranger.write(pki.folder, "stranger")
    distrusting = client_context(pki.folder / "stranger.pem")

    async def turned_away(context: ssl.SSLContext) -> None:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                      server_hostname="localhost")
            writer.close()

    with collector_off():
        for _ in range(10):
            await turned_away(old)
            await turned_away(distrusting)
        await eventually(lambda: tls_server.services.status.handshakes_in_progress() == 0)
        assert server_side_garbage() == []


def server_side_garbage() -> list[str]:
    """What the cycle collector would have to free of the server's connections and TLS
    protocols (the test's own client side is not the server's)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return [type(o).__name__ for o in gc.garbage
                if issubclass(type(o), ServerConnection)
                or (isinstance(o, SSLProtocol) and o._server_side)]
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
