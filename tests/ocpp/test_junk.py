"""Junk from a station is bounded: it costs rate-limit tokens, a flood of it disconnects
the station (1008) with a security event, and what is stored of it is capped."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from app.db.security_models import SecurityEvent
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.conftest import settled_audit_rows as audit_rows
from tests.e2e.harness import eventually
from tests.ocpp_client import RawStation, raw_station


@pytest.fixture
async def strict(sqlite_url: str) -> AsyncIterator[RunningServer]:
    """A server that disconnects after 20 malformed frames a minute."""
    running = await start_server(make_settings(sqlite_url, malformed_frames_per_minute=20))
    try:
        yield running
    finally:
        await stop_server(running)


async def closed_with(cp: RawStation) -> int | None:
    await asyncio.wait_for(cp.ws.wait_closed(), 10)
    return cp.ws.close_code


async def send_junk(cp: RawStation, count: int, text: str = "junk") -> None:
    # The server may close the socket part way: what is left is not sent.
    with contextlib.suppress(ConnectionClosed):
        for _ in range(count):
            await cp.send_raw(text)


async def test_malformed_frames_spend_the_stations_rate_limit(sqlite_url: str) -> None:
    running = await start_server(make_settings(
        sqlite_url, inbound_rate_per_s=0.01, inbound_burst=5.0))
    try:
        async with raw_station(running.station_url("CP-JUNKRATE")) as cp:
            await send_junk(cp, 5)
            answer = await cp.call("Heartbeat", {})
        assert answer[0] == 4 and answer[2] == "GenericError" and "rate limit" in answer[3]
    finally:
        await stop_server(running)


async def test_a_flood_of_malformed_frames_disconnects_with_1008_and_a_security_event(
    strict: RunningServer,
) -> None:
    async with raw_station(strict.station_url("CP-CALM")) as calm:
        async with raw_station(strict.station_url("CP-FLOOD")) as flood:
            await send_junk(flood, 200)
            assert await closed_with(flood) == 1008
        assert "currentTime" in await calm.ok("Heartbeat", {})

    async def events() -> list[SecurityEvent]:
        async with strict.services.db.uow() as session:
            return list((await session.scalars(select(SecurityEvent))).all())

    [event] = await eventually(events)
    assert (event.kind, event.station_id, event.remote_address) == (
        "malformed_flood", "CP-FLOOD", "127.0.0.1")
    assert event.detail["malformed_frames_per_minute"] == 20
    rows = await audit_rows(strict, "CP-FLOOD")
    assert 20 <= sum(1 for r in rows if r.message_type == "INVALID" and r.raw) <= 21


async def test_reconnecting_does_not_reset_the_malformed_count(strict: RunningServer) -> None:
    async with raw_station(strict.station_url("CP-AGAIN")) as flood:
        await send_junk(flood, 50)
        assert await closed_with(flood) == 1008
    async with raw_station(strict.station_url("CP-AGAIN")) as again:
        # Valid frames are still served...
        assert "currentTime" in await again.ok("Heartbeat", {})
        # ...but the next junk frame within the minute ends the connection.
        await send_junk(again, 1)
        assert await closed_with(again) == 1008


async def test_an_invalid_frame_is_stored_truncated_with_its_length_and_hash(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    junk = "x" * 250_000
    async with raw_station(server.station_url("CP-HUGE")) as cp:
        await cp.send_raw(junk)
        assert "currentTime" in await cp.ok("Heartbeat", {})
    [row] = [r for r in await audit_rows(server, "CP-HUGE") if r.message_type == "INVALID"]
    limit = server.settings.audit_raw_max_bytes
    assert row.raw == junk[:limit]
    assert row.raw_length == 250_000
    assert row.raw_sha256 == hashlib.sha256(junk.encode()).hexdigest()
    [item] = (await http.get("/audit", params={"station_id": "CP-HUGE",
                                               "message_type": "INVALID"})).json()["items"]
    assert (item["raw_length"], item["raw_sha256"]) == (250_000, row.raw_sha256)


async def test_truncation_never_splits_a_character(server: RunningServer) -> None:
    limit = server.settings.audit_raw_max_bytes
    junk = "é" * limit  # two bytes each in UTF-8
    async with raw_station(server.station_url("CP-UTF8")) as cp:
        await cp.send_raw(junk)
        assert "currentTime" in await cp.ok("Heartbeat", {})
    [row] = [r for r in await audit_rows(server, "CP-UTF8") if r.message_type == "INVALID"]
    assert row.raw == "é" * (limit // 2)
    assert row.raw_length == 2 * limit
