"""A listener that stops reading costs nobody else anything: stations are answered and
every other listener gets every event, while the stalled one is dropped once its bounded
buffer is full."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from app.events import EventType
from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually
from tests.event_clients import sse
from tests.ocpp_client import raw_station

QUEUE = 32
# Events are emitted a few at a time, each round waiting for the reading listener, which
# has the same small buffer as the stalled one.
PER_ROUND = 8
PADDING = "x" * 16_000
MAX_ROUNDS = 500


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, events_queue_size=QUEUE, scheduler_enabled=False)


@pytest.fixture
def stalled(server: RunningServer) -> Iterator[socket.socket]:
    """An SSE client that sends its request and then never reads: a browser tab frozen
    by its debugger, a proxy stuck on a full buffer."""
    host, port = server.http_url.removeprefix("http://").split(":")
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect((host, int(port)))
    client.sendall(f"GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    try:
        yield client
    finally:
        client.close()


async def test_a_stalled_sse_listener_is_dropped_while_stations_and_others_go_on(
    server: RunningServer, http: httpx.AsyncClient, stalled: socket.socket
) -> None:
    bus = server.services.events
    async with sse(server.http_url) as reading:
        await eventually(lambda: bus.listeners == 2)
        first = bus.last_id + 1
        async with raw_station(server.station_url("CP-STALL")) as station:
            await station.boot()
            answered = 0
            for _ in range(MAX_ROUNDS):
                for _ in range(PER_ROUND):
                    bus.emit(EventType.JOB_FINISHED, job="padding", detail=PADDING)
                # The station is answered whatever the stalled listener does.
                assert "currentTime" in await station.ok("Heartbeat", {})
                answered += 1
                last = bus.last_id
                await eventually(lambda last=last: reading.events
                                 and reading.events[-1]["id"] >= last)
                if bus.dropped_listeners:
                    break
        assert bus.dropped_listeners == 1, "the stalled listener was never dropped"
        assert bus.listeners == 1 and not reading.ended
        # The reading listener missed nothing: every id from its first on, in order.
        ids = [event["id"] for event in reading.events]
        assert ids == list(range(first, bus.last_id + 1))
        assert reading.types().count("job.finished") == answered * PER_ROUND
        assert "station.booted" in reading.types()
