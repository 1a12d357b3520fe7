"""One station sends a 255-deep frame, then junk; the others are answered quickly, audit
rows keep landing, /health tells the truth and SIGTERM ends the server in bounded time."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import httpx
from websockets.exceptions import ConnectionClosed

from app.bench.stats import percentile
from tests.ocpp_client import RawStation, raw_station
from tests.serve_process import ServeProcess
from tests.soak.conftest import Size

POISON = '[3, "x", {"x": ' + "[" * 253 + "]" * 253 + "}]"
JUNK = [
    "this is not json",
    '[3, "nobody-asked", {"a": 1}]',
    '[2, "j{n}", "Heartbeat", {"unexpected": 1}]',
    '[2, "j{n}", "DataTransfer", {"vendorId": "v", "x": ' + "[" * 40 + "]" * 40 + "}]",
    '[4, "j{n}", "GenericError", "", {}]',
    "[" * 300 + "]" * 300,
]
BYSTANDERS = 5


async def send_junk(serve: ServeProcess, frames: int) -> int:
    """Junk from one station as fast as the server reads it, reconnecting whenever the
    server closes the connection (a policy on junk may); the frames sent."""
    sent = 0
    while sent < frames:
        try:
            async with raw_station(serve.station_url("CP-JUNK")) as junk:
                if sent == 0:
                    await junk.send_raw(POISON)
                    sent += 1
                for n in itertools.count(sent):
                    if n >= frames:
                        break
                    await junk.send_raw(JUNK[n % len(JUNK)].replace("{n}", str(n)))
                    sent += 1
        except (ConnectionClosed, OSError, TimeoutError):
            await asyncio.sleep(0.05)
    return sent


async def heartbeats(station: RawStation, stop: asyncio.Event, latencies: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await station.ok("Heartbeat", {})
        latencies.append((time.perf_counter() - started) * 1000.0)
        await asyncio.sleep(0.02)


def audit_rows(serve: ServeProcess, station_id: str) -> int:
    return int(serve.query("SELECT count(*) FROM audit_log WHERE station_id = ?",
                           station_id)[0][0])


async def test_junk_from_one_station_hurts_no_other(serve: ServeProcess, size: Size) -> None:
    latencies: list[float] = []
    stop = asyncio.Event()
    async with raw_station(serve.station_url("CP-B0")) as b0, \
            raw_station(serve.station_url("CP-B1")) as b1, \
            raw_station(serve.station_url("CP-B2")) as b2, \
            raw_station(serve.station_url("CP-B3")) as b3, \
            raw_station(serve.station_url("CP-B4")) as b4:
        beating = [asyncio.create_task(heartbeats(s, stop, latencies))
                   for s in (b0, b1, b2, b3, b4)]
        sent = await send_junk(serve, size.junk_frames)
        # Audit rows keep landing after the poison and the junk: a Heartbeat is answered
        # only once its row is committed, and here it is read back.
        before = audit_rows(serve, "CP-B0")
        await b0.ok("Heartbeat", {})
        assert audit_rows(serve, "CP-B0") >= before + 2
        health = serve.get("/health")
        stop.set()
        await asyncio.gather(*beating)
    assert sent == size.junk_frames
    assert health["status"] == "ok" and health["problems"] == []
    poison = serve.query("SELECT error_code FROM audit_log WHERE station_id = 'CP-JUNK' "
                         "AND unique_id = 'x'")
    assert poison == [("FormationViolation",)]
    exit_s = serve.terminate(timeout=30)
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert serve.process is not None and serve.process.returncode in (0, -15)
    if size.full:
        p99 = percentile(sorted(latencies), 0.99)
        print(f"junk: {sent} frames; bystander Heartbeats {len(latencies)}, "
              f"p99 {p99:.1f} ms; SIGTERM exit {exit_s:.2f} s")
        assert p99 is not None and p99 < 50.0
        assert exit_s < 10.0


async def test_sigterm_ends_the_server_while_its_writer_cannot_write(
    serve: ServeProcess, size: Size,
) -> None:
    async with raw_station(serve.station_url("CP-T1")) as station:
        await station.boot()
        # Every audit write fails from now on: answers wait for a commit that never comes.
        serve.query("ALTER TABLE audit_log RENAME TO audit_log_away")
        for n in range(20):
            await station.send_raw(json.dumps([2, f"t{n}", "Heartbeat", {}]))
        health = await _degraded(serve)
        assert any("audit_log writer failing" in p for p in health["problems"])
        exit_s = serve.terminate(timeout=30)
    log = serve.log.read_text()
    assert "rows it could not write" in log
    if size.full:
        print(f"SIGTERM with a failing writer: exit {exit_s:.2f} s")
        assert exit_s < 10.0


async def _degraded(serve: ServeProcess) -> dict[str, list[str]]:
    async with httpx.AsyncClient(base_url=serve.http_url, timeout=10) as http:
        for _ in range(400):
            response = await http.get("/health")
            if response.status_code == 503:
                body: dict[str, list[str]] = response.json()
                return body
            await asyncio.sleep(0.05)
    raise AssertionError("health never said degraded")
