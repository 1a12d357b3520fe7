"""Failed and half-open websocket handshakes against `chargeplan serve` (its own process,
with the collector tuning of serve), on its plain and its TLS listener: memory comes back.

Full size (``CHARGEPLAN_SOAK=full``, as ``make soak`` runs it): 50,000 failed handshakes
and 25,000 refused TLS handshakes from one address, and the server's RSS must end within
10 % of where it started (refused TLS handshakes alone grew it by 200 MiB per 10,000
before they left no reference cycle behind). The short
form (``make test``) runs a few hundred and asserts behaviour only: every handshake is
refused or dropped, none stays in progress, and a station still connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.certs import client_context, issue, make_ca
from tests.conftest import HTTP_TLS, free_port
from tests.e2e.harness import eventually
from tests.ocpp_client import raw_station

FULL = os.environ.get("CHARGEPLAN_SOAK") == "full"
HANDSHAKES = 50_000 if FULL else 300
WARM_UP = 2_000 if FULL else 50
# Clients at once, all from 127.0.0.1: beyond twice the per-address limit (128) the
# server drops new sockets at once.
CONCURRENCY = 400
TLS_CONCURRENCY = 50
UPGRADE = (b"Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
# (what the client sends, whether it then waits for the server to give up on it)
FAILURES = [
    (b"", False),  # connects and leaves
    (b"GET /CP-1 HTTP/1.1\r\nHost: x\r\n", True),  # half a request, held open
    (b"GET /CP-1 HTTP/1.1\r\nHost: x\r\n", False),  # half a request, then leaves
    (b"\x16\x03\x01 not http\r\n\r\n", False),  # not HTTP (a TLS hello, say)
    (b"GET /CP-1 HTTP/1.1\r\n" + UPGRADE + b"\r\n", False),  # no subprotocol: 400
    (b"GET /.. HTTP/1.1\r\n" + UPGRADE + b"Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n",
     False),  # invalid station id: 400
]


class Serve:
    def __init__(self, database: Path) -> None:
        self.http_port = free_port()
        self.ocpp_port = free_port()
        self.tls_port = free_port()
        folder = database.parent
        cert, key = issue(make_ca(), "localhost", server=True).write(folder, "server")
        make_ca("Another CA").write(folder, "stranger")
        # Refused in the TLS handshake: a client that offers only TLS 1.1, and one that
        # does not trust the server's certificate.
        old = client_context(folder / "stranger.pem", minimum=ssl.TLSVersion.TLSv1_1,
                             maximum=ssl.TLSVersion.TLSv1_1)
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.refused_tls = [old, client_context(folder / "stranger.pem")]
        # Only the settings given here: serve refuses CHARGEPLAN_ variables it does not
        # know (CHARGEPLAN_SOAK is the suite's).
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CHARGEPLAN_")}
        env = dict(
            inherited, CHARGEPLAN_HTTP_PORT=str(self.http_port),
            CHARGEPLAN_OCPP_PORT=str(self.ocpp_port), CHARGEPLAN_OCPP_HOST="127.0.0.1",
            CHARGEPLAN_OCPP_TLS_PORT=str(self.tls_port), CHARGEPLAN_OCPP_TLS_CERT=str(cert),
            CHARGEPLAN_OCPP_TLS_KEY=str(key),
            CHARGEPLAN_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
            CHARGEPLAN_AUTO_MIGRATE="true", CHARGEPLAN_ADMIT_UNKNOWN_STATIONS="true",
            CHARGEPLAN_API_AUTH="false", CHARGEPLAN_LOG_LEVEL="WARNING")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("chargeplan")), "serve", "--no-demo-station"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    async def idle(self) -> bool:
        """No handshake in progress (the server's gauge in /metrics). Polled: the client
        shares the suite's TLS context (tests/conftest.py), not a CA bundle load a poll."""
        async with httpx.AsyncClient(verify=HTTP_TLS) as http:
            text = (await http.get(f"http://127.0.0.1:{self.http_port}/metrics")).text
        line = next(x for x in text.splitlines()
                    if x.startswith("chargeplan_ocpp_handshakes_in_progress "))
        return float(line.split()[1]) == 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    server = Serve(tmp_path / "chargeplan.db")
    try:
        yield server
    finally:
        server.stop()


async def ready(server: Serve) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(verify=HTTP_TLS) as http:
            return (await http.get(f"http://127.0.0.1:{server.http_port}/health")
                    ).status_code == 200
    return False


async def fail_one(port: int, sent: bytes, hold: bool) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        writer.write(sent)
        if hold or sent.endswith(b"\r\n\r\n"):
            # Until the server answers, gives up (its open timeout) or drops the socket.
            await asyncio.wait_for(reader.read(), 60)
        else:
            await writer.drain()
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def fail_tls(port: int, context: ssl.SSLContext) -> None:
    with contextlib.suppress(ssl.SSLError, OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                  server_hostname="localhost")
        writer.close()


async def fail_many(server: Serve, count: int) -> None:
    """``count`` failed handshakes of each kind of FAILURES in turn on the plain port, then
    ``count // 2`` refused TLS handshakes on the TLS port, fewer at once than one address
    may have in progress (beyond it they would be dropped before TLS even starts)."""
    failures = itertools.cycle(FAILURES)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(sent: bytes, hold: bool) -> None:
        async with gate:
            await fail_one(server.ocpp_port, sent, hold)

    await asyncio.gather(*(one(*next(failures)) for _ in range(count)))
    await eventually(server.idle)
    refusals = itertools.cycle(server.refused_tls)
    tls_gate = asyncio.Semaphore(TLS_CONCURRENCY)

    async def refused(context: ssl.SSLContext) -> None:
        async with tls_gate:
            await fail_tls(server.tls_port, context)

    await asyncio.gather(*(refused(next(refusals)) for _ in range(count // 2)))


@pytest.mark.timeout(1800 if FULL else 120)
async def test_failed_handshakes_give_their_memory_back(serve: Serve) -> None:
    await eventually(lambda: ready(serve), timeout=60)
    await fail_many(serve, WARM_UP)
    await eventually(serve.idle)
    baseline = serve.rss_mib()

    await fail_many(serve, HANDSHAKES)
    await eventually(serve.idle)
    after = serve.rss_mib()
    print(f"\nRSS after {WARM_UP} failed handshakes and {WARM_UP // 2} refused TLS ones: "
          f"{baseline:.1f} MiB; after {HANDSHAKES} and {HANDSHAKES // 2} more: {after:.1f} MiB "
          f"({(after / baseline - 1) * 100:+.1f} %)")

    async with raw_station(f"ws://127.0.0.1:{serve.ocpp_port}/CP-AFTER") as cp:
        assert (await cp.boot())["status"] == "Accepted"
    if FULL:
        assert after <= baseline * 1.10, f"RSS grew from {baseline:.1f} to {after:.1f} MiB"

