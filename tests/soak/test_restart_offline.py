"""After SIGKILL and a restart, GET /stations shows every station offline until it
reconnects."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from tests.ocpp_client import raw_station
from tests.serve_process import ServeProcess
from tests.soak.conftest import Size


def online(serve: ServeProcess) -> dict[str, bool]:
    return {s["station_id"]: s["online"] for s in serve.get("/stations")}


async def test_no_station_looks_connected_after_a_crash(serve: ServeProcess, size: Size) -> None:
    ids = [f"CP-R{i:04d}" for i in range(size.stations)]
    async with AsyncExitStack() as stack:
        stations = []
        # A few dozen handshakes at a time: the server limits those in progress per address.
        for start in range(0, len(ids), 32):
            stations += await asyncio.gather(*(
                stack.enter_async_context(raw_station(serve.station_url(i)))
                for i in ids[start:start + 32]))
        await asyncio.gather(*(s.boot() for s in stations))
        assert online(serve) == dict.fromkeys(ids, True)
        serve.kill()
    serve.start()
    assert online(serve) == dict.fromkeys(ids, False)
    async with raw_station(serve.station_url(ids[0])) as back:
        await back.boot()
        now = online(serve)
        assert now[ids[0]] and not any(now[i] for i in ids[1:])
