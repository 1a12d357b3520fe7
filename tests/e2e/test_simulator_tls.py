"""`chargeplan simulate` against the server's security: profiles 2 and 3 (a wss:// url,
the CA that verifies the server, a client certificate that identifies the station), and a
station connecting from another address than one locked out for guessing its password."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.db.models import Station
from tests.certs import issue
from tests.conftest import RunningServer, free_port
from tests.e2e.harness import eventually
from tests.ocpp.test_security_profiles import (
    CPO,
    PASSWORD,
    Pki,
    basic,
    handshake_fails,
    pki,
    refused,
    register,
    tls_http,
    tls_server,
)
from tests.serve_process import ServeProcess

__all__ = ["pki", "tls_http", "tls_server"]


@asynccontextmanager
async def simulate(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "simulate", "--stations", "1", "--auto-charge",
        "--meter-interval", "0.5", *args, stderr=asyncio.subprocess.PIPE)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, stderr.decode()


async def charging(http: httpx.AsyncClient, station_id: str) -> list[dict[str, Any]]:
    answer = await http.get(f"/stations/{station_id}/transactions", params={"active": "true"})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_a_simulated_station_connects_and_charges_on_profiles_2_and_3(
        tls_server: RunningServer, tls_http: httpx.AsyncClient, pki: Pki) -> None:
    await tls_http.post("/id_tags", json={"id_tag": "SIM-TAG", "status": "Accepted"})
    url = f"wss://127.0.0.1:{tls_server.services.status.ocpp_tls_port}"
    await register(tls_http, "TLS-P3-0001", 3, password=None)
    cert, key = pki.station_cert("TLS-P3-0001")
    async with simulate("--url", url, "--id-prefix", "TLS-P3-", "--ca", str(pki.ca_file),
                        "--cert", str(cert), "--key", str(key)):
        (session,) = await eventually(lambda: charging(tls_http, "TLS-P3-0001"))
        assert session["connector_id"] == 1
    await register(tls_http, "TLS-P2-0001", 2)
    async with simulate("--url", url, "--id-prefix", "TLS-P2-", "--ca", str(pki.ca_file),
                        "--password", PASSWORD):
        assert await eventually(lambda: charging(tls_http, "TLS-P2-0001"))


async def test_simulate_refuses_certificate_options_it_cannot_use(pki: Pki) -> None:
    cert, key = pki.station_cert("TLS-BAD-0001")
    for args, message in (
            (["--url", "wss://127.0.0.1:1", "--cert", str(cert)], b"--cert and --key go together"),
            (["--url", "ws://127.0.0.1:1", "--ca", str(pki.ca_file)], b"need a wss:// --url"),
            (["--url", "wss://127.0.0.1:1", "--cert", str(key), "--key", str(key)],
             b"cannot load")):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", "simulate", *args,
            stderr=asyncio.subprocess.PIPE)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 2, stderr.decode()
        assert message in stderr, stderr.decode()


async def test_chargeplan_serve_on_tls_as_an_operator_runs_it(pki: Pki) -> None:
    """`chargeplan serve` runs on uvloop, whose sockets behave otherwise at the TLS
    handshake than asyncio's the other tests run on."""
    cert, key = issue(pki.ca, "localhost", server=True).write(pki.folder, "server")
    serve = ServeProcess(pki.folder / "serve.db", ocpp_tls_port=str(free_port()),
                         ocpp_tls_cert=str(cert), ocpp_tls_key=str(key),
                         ocpp_tls_client_ca=str(pki.ca_file), cpo_name=CPO)
    await asyncio.to_thread(serve.start)
    try:
        async with httpx.AsyncClient(base_url=serve.http_url, timeout=10) as http:
            await http.post("/id_tags", json={"id_tag": "SIM-TAG", "status": "Accepted"})
            await register(http, "SRV-P3-0001", 3, password=None)
            url = f"wss://127.0.0.1:{serve.env['CHARGEPLAN_OCPP_TLS_PORT']}"
            await handshake_fails(f"{url}/SRV-P3-0001",
                                  ssl=pki.context(pki.station_cert("SRV-P3-0001", expired=True)))
            station_cert, station_key = pki.station_cert("SRV-P3-0001")
            async with simulate("--url", url, "--id-prefix", "SRV-P3-", "--ca", str(pki.ca_file),
                                "--cert", str(station_cert), "--key", str(station_key)):
                assert await eventually(lambda: charging(http, "SRV-P3-0001"))


            async def refusals() -> list[dict[str, Any]]:
                answer = await http.get("/security_events",
                                        params={"kind": "certificate_refused"})
                items: list[dict[str, Any]] = answer.json()["items"]
                return items

            # Security events are written by the server's writer, after the handshake.
            refused = await eventually(refusals)
            assert [(e["remote_address"], e["detail"]["verify_message"]) for e in refused] == [
                ("127.0.0.1", "certificate has expired")]
    finally:
        serve.stop()


async def test_a_simulated_station_charges_from_elsewhere_than_a_locked_out_address(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    await http.post("/id_tags", json={"id_tag": "SIM-TAG", "status": "Accepted"})
    await register(http, "BF-0001", 1)
    url = server.station_url("BF-0001")
    codes = [await refused(url, additional_headers=basic("BF-0001", f"guess-{n:04d}"))
             for n in range(server.settings.ocpp_auth_failures_allowed + 1)]
    assert codes[-1] == 429
    async with simulate("--url", server.ocpp_url, "--id-prefix", "BF-", "--password",
                        PASSWORD, "--source-address", "127.0.0.2"):
        (session,) = await eventually(lambda: charging(http, "BF-0001"))
    assert session["id_tag"] == "SIM-TAG"
    async with server.services.db.uow() as session_db:
        row = await session_db.get(Station, "BF-0001")
    assert row is not None and (row.remote_address or "").startswith("127.0.0.2:")
