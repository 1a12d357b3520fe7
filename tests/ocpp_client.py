"""A raw OCPP-J 1.6 charge point for tests: exact frames out, exact frames in."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

_ids = itertools.count(1)


class RawStation:
    """Sends CALLs, answers the server's CALLs with canned payloads, keeps every frame."""

    def __init__(self, ws: ClientConnection, answers: dict[str, Any] | None = None) -> None:
        self.ws = ws
        self.answers: dict[str, Any] = {"GetConfiguration": {"configurationKey": []}}
        self.answers.update(answers or {})
        self.server_calls: list[list[Any]] = []
        self._replies: asyncio.Queue[list[Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            frame = json.loads(message)
            if frame[0] == 2:
                self.server_calls.append(frame)
                answer = self.answers.get(frame[2], {})
                if answer is not None:
                    await self.ws.send(json.dumps([3, frame[1], answer]))
            else:
                await self._replies.put(frame)

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def reply(self, timeout: float = 5.0) -> list[Any]:
        return await asyncio.wait_for(self._replies.get(), timeout)

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        """Send a CALL, return the whole answer frame ([3, id, payload] or [4, ...])."""
        unique_id = f"t-{next(_ids)}"
        await self.ws.send(json.dumps([2, unique_id, action, payload]))
        frame = await self.reply()
        assert frame[1] == unique_id, f"answer {frame} is not for {unique_id}"
        return frame

    async def ok(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        frame = await self.call(action, payload)
        assert frame[0] == 3, f"{action} answered {frame}"
        result: dict[str, Any] = frame[2]
        return result

    async def boot(self) -> dict[str, Any]:
        return await self.ok("BootNotification", {
            "chargePointVendor": "TestVendor", "chargePointModel": "TM-1",
            "chargePointSerialNumber": "SN-1", "firmwareVersion": "9.9"})

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


@asynccontextmanager
async def raw_station(url: str, *, subprotocols: list[str] | None = None,
                      answers: dict[str, Any] | None = None,
                      **kwargs: Any) -> AsyncIterator[RawStation]:
    protocols = ["ocpp1.6"] if subprotocols is None else subprotocols
    async with connect(url, subprotocols=protocols,  # type: ignore[arg-type]
                       open_timeout=5, **kwargs) as ws:
        station = RawStation(ws, answers)
        try:
            yield station
        finally:
            station._reader.cancel()
