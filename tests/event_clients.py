"""Event stream clients as integrators write them: an SSE reader over httpx and a
WebSocket reader over websockets, each collecting events in the order received."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets


class Collected:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.ended = False

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def last_id(self) -> int:
        return int(self.events[-1]["id"])


async def _read_sse(response: httpx.Response, into: Collected) -> None:
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            if "heartbeat" in line:
                into.heartbeats += 1
        elif not line:
            if "data" in fields:
                event = json.loads(fields["data"])
                assert fields.get("event") == event["type"] and fields.get("id") == str(
                    event["id"])
                into.events.append(event)
            fields = {}
        else:
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
    into.ended = True


@asynccontextmanager
async def sse(base_url: str, params: dict[str, Any] | None = None,
              last_event_id: int | None = None) -> AsyncIterator[Collected]:
    """Listen at GET /events until the block ends."""
    into = Collected()
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(10, read=None)
                                 ) as client, client.stream("GET", "/events", params=params,
                                                            headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = asyncio.create_task(_read_sse(response, into))
        try:
            yield into
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


@asynccontextmanager
async def ws(base_url: str, query: str = "") -> AsyncIterator[Collected]:
    """Listen at /events/ws until the block ends."""
    into = Collected()
    url = base_url.replace("http://", "ws://") + "/events/ws" + (f"?{query}" if query else "")
    async with websockets.connect(url) as socket:

        async def read() -> None:
            async for message in socket:
                event = json.loads(message)
                if event["type"] == "heartbeat":
                    into.heartbeats += 1
                else:
                    into.events.append(event)
            into.ended = True

        reader = asyncio.create_task(read())
        try:
            yield into
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
