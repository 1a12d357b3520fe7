"""Server plus simulator on real websockets, as a user runs them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.clock import Clock
from app.settings import Settings
from app.simulator import SimulatedStation, Simulator, SimulatorConfig
from tests.conftest import RunningServer, start_server, stop_server


async def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until ``check()`` is truthy (the server works asynchronously). The timeout
    only bounds a failure: on a loaded machine a condition can take many seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def serving(settings: Settings, clock: Clock) -> AsyncIterator[RunningServer]:
    """The server with its own clock (a simulator's start time, or a faster clock)."""
    running = await start_server(settings, clock=clock)
    try:
        yield running
    finally:
        await stop_server(running)


@asynccontextmanager
async def simulated(server: RunningServer, http: httpx.AsyncClient, *, register: bool = True,
                    wait_configuration: bool = True, **options: Any) -> AsyncIterator[Simulator]:
    config = SimulatorConfig(url=server.ocpp_url, reconnect_delay=0.2, **options)
    if register:
        for station_id in config.station_ids():
            answer = await http.post("/stations", json={
                "station_id": station_id, "max_power_w": config.max_power_w,
                **({"password": config.password} if config.password else {})})
            assert answer.status_code == 201, answer.text
    simulator = Simulator(config)
    await simulator.start()
    try:
        for station in simulator.stations.values():
            await eventually(lambda s=station: s.boot_accepted)
        # The server reads the configuration after each boot; wait for it.
        for station_id in simulator.stations if wait_configuration else ():
            await eventually(lambda sid=station_id: configuration_read(http, sid))
        yield simulator
    finally:
        await simulator.stop()


async def configuration_read(http: httpx.AsyncClient, station_id: str) -> bool:
    body = (await http.get(f"/stations/{station_id}")).json()
    return body.get("configuration_read_at") is not None


def only(simulator: Simulator) -> SimulatedStation:
    (station,) = simulator.stations.values()
    return station
