"""A minimal OCPP 1.6J central system for testing the simulated charge points over sockets.

It answers the station's CALLs with fixed payloads, records them, and lets a test send raw
OCPP-J CALLs to a station and read the raw answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.simulator import Simulator, SimulatorConfig

WAIT = 10.0


@dataclass
class StationLink:
    """What the central system knows of one connected station."""

    connection: ServerConnection
    pending: dict[str, asyncio.Future[list[Any]]] = field(default_factory=dict)


class CentralSystem:
    """Answers Boot/Status/Heartbeat/Start/Stop/MeterValues; records every CALL received."""

    def __init__(self, boot_interval: int = 300) -> None:
        self.boot_interval = boot_interval
        self.links: dict[str, StationLink] = {}
        self.received: list[tuple[str, str, dict[str, Any]]] = []
        self.connections_opened: dict[str, int] = {}
        self._changed = asyncio.Condition()
        self._transaction_ids = itertools.count(1)
        self._server: Server | None = None
        self.url = ""

    async def __aenter__(self) -> CentralSystem:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")]
        )
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        station_id = connection.request.path.strip("/")
        link = StationLink(connection)
        self.links[station_id] = link
        self.connections_opened[station_id] = self.connections_opened.get(station_id, 0) + 1
        try:
            async for raw in connection:
                frame = json.loads(raw)
                if frame[0] == 2:
                    try:
                        await self._answer(station_id, connection, frame)
                    except ConnectionClosed:
                        # The station closed while we answered; frames it sent before
                        # closing (e.g. its answer to a Reset) are still to be read.
                        continue
                elif frame[1] in link.pending:
                    link.pending.pop(frame[1]).set_result(frame)
        except ConnectionClosed:
            pass
        async with self._changed:
            self._changed.notify_all()

    async def _answer(
        self, station_id: str, connection: ServerConnection, frame: list[Any]
    ) -> None:
        _, unique_id, action, payload = frame
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        answers: dict[str, Callable[[], dict[str, Any]]] = {
            "BootNotification": lambda: {
                "status": "Accepted",
                "currentTime": now,
                "interval": self.boot_interval,
            },
            "Heartbeat": lambda: {"currentTime": now},
            "StartTransaction": lambda: {
                "transactionId": next(self._transaction_ids),
                "idTagInfo": {"status": "Accepted"},
            },
            "StopTransaction": lambda: {"idTagInfo": {"status": "Accepted"}},
        }
        answer = answers.get(action, dict)()
        await connection.send(json.dumps([3, unique_id, answer]))
        async with self._changed:
            self.received.append((station_id, action, payload))
            self._changed.notify_all()

    def calls(self, station_id: str, action: str) -> list[dict[str, Any]]:
        """Payloads of every ``action`` CALL the station sent, oldest first."""
        return [p for s, a, p in self.received if s == station_id and a == action]

    async def wait_for(
        self, station_id: str, action: str, count: int = 1, timeout: float = WAIT
    ) -> list[dict[str, Any]]:
        """Wait until the station has sent ``count`` ``action`` CALLs; returns them all."""

        def enough() -> bool:
            return len(self.calls(station_id, action)) >= count

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(enough)
        return self.calls(station_id, action)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float = WAIT
    ) -> list[Any]:
        """Send a raw CALL to the station; returns its raw CALLRESULT or CALLERROR frame."""
        link = self.links[station_id]
        unique_id = str(uuid.uuid4())
        answer: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        link.pending[unique_id] = answer
        await link.connection.send(json.dumps([2, unique_id, action, payload]))
        async with asyncio.timeout(timeout):
            return await answer

    async def result(self, station_id: str, action: str, payload: dict[str, Any]) -> Any:
        """The payload of the station's CALLRESULT (fails on a CALLERROR)."""
        frame = await self.call(station_id, action, payload)
        assert frame[0] == 3, frame
        return frame[2]


@pytest.fixture
async def central_system() -> AsyncIterator[CentralSystem]:
    async with CentralSystem() as system:
        yield system


def station_config(url: str, **overrides: Any) -> SimulatorConfig:
    """A one-station configuration with short intervals for tests."""
    settings: dict[str, Any] = {
        "url": url,
        "reconnect_delay": 0.05,
        "meter_interval": 3600.0,
        "response_timeout": 5.0,
    }
    settings.update(overrides)
    return SimulatorConfig(**settings)


@contextlib.asynccontextmanager
async def running(config: SimulatorConfig) -> AsyncIterator[Simulator]:
    """The simulator of ``config``, started (every station booted) and stopped afterwards."""
    simulator = Simulator(config)
    try:
        async with asyncio.timeout(WAIT):
            await simulator.start()
        yield simulator
    finally:
        await simulator.stop()
