"""Failed and half-open websocket handshakes cost nothing once they are over, and one
address cannot hold many of them at once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.sql import ClauseElement
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import InvalidStatus
from websockets.server import ServerProtocol

from app.db.security_models import SecurityEvent
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually
from tests.ocpp_client import raw_station

UPGRADE = (b"Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
FAILURES = {
    "closed at once": b"",
    "half a request": b"GET /CP-1 HTTP/1.1\r\nHost: x\r\n",
    "not HTTP": b"\x16\x03\x01 not http\r\n\r\n",
    "no subprotocol": b"GET /CP-1 HTTP/1.1\r\n" + UPGRADE + b"\r\n",
    "bad station id": b"GET /.. HTTP/1.1\r\n" + UPGRADE
    + b"Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n",
}


async def fail_handshake(port: int, sent: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(sent)
    if sent.endswith(b"\r\n\r\n"):
        await reader.read()  # the refusal, then the server closes
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


@contextlib.contextmanager
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def websocket_garbage() -> list[str]:
    """What the cycle collector would have to free of websockets' connections and of the
    SQL statements their admission ran."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        # type(), not isinstance(): the garbage holds weak proxies to dead objects.
        return [type(o).__name__ for o in gc.garbage
                if issubclass(type(o), ServerConnection | ServerProtocol | ClauseElement)]
    finally:
        gc.garbage.clear()
        gc.set_debug(0)


@pytest.mark.parametrize("sent", FAILURES.values(), ids=FAILURES.keys())
async def test_a_failed_handshake_leaves_nothing_for_the_cycle_collector(
    server: RunningServer, sent: bytes
) -> None:
    port = server.services.status.ocpp_port
    assert port is not None
    with collector_off():
        for _ in range(20):
            await fail_handshake(port, sent)
        await eventually(lambda: server.services.status.handshakes_in_progress() == 0)
        assert websocket_garbage() == []


@pytest.fixture
async def two_per_address(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(make_settings(sqlite_url, handshakes_per_address=2))
    try:
        yield running
    finally:
        await stop_server(running)


async def test_handshakes_in_progress_are_limited_per_address(
    two_per_address: RunningServer,
) -> None:
    server = two_per_address
    port = server.services.status.ocpp_port
    assert port is not None
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    await eventually(lambda: server.services.status.handshakes_in_progress() == 2)
    with pytest.raises(InvalidStatus) as refused:
        async with raw_station(server.station_url("CP-LATE")):
            pass
    assert refused.value.response.status_code == 503
    assert refused.value.response.headers["Retry-After"] == "1"
    for _, writer in held:
        writer.close()
    await eventually(lambda: server.services.status.handshakes_in_progress() == 0)
    async with raw_station(server.station_url("CP-LATE")) as cp:
        assert (await cp.boot())["status"] == "Accepted"
        # A connection that is open no longer counts.
        assert server.services.status.handshakes_in_progress() == 0

    async def kinds() -> list[str]:
        async with server.services.db.uow() as session:
            return list((await session.scalars(select(SecurityEvent.kind))).all())

    assert await eventually(kinds) == ["handshake_limit"]


async def test_a_station_that_connects_and_leaves_leaves_nothing_for_the_cycle_collector(
    server: RunningServer,
) -> None:
    async with raw_station(server.station_url("CP-WARM")) as cp:
        await cp.boot()
    with collector_off():
        for n in range(10):
            async with raw_station(server.station_url(f"CP-VISIT-{n}")) as cp:
                await cp.ok("Heartbeat", {})
        await eventually(lambda: server.services.status.connected_stations() == 0)
        assert websocket_garbage() == []
