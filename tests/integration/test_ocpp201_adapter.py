"""OCPP 2.0.1 stations on the real server: the simulated 2.0.1 station (the real one of
``app/simulator``) connects with ``ocpp2.0.1`` over loopback, boots, runs a session and
takes profiles sent over REST, through the same services as a 1.6 station. Raw frames
show what a bad 2.0.1 frame is answered with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.simulator import Simulator
from app.simulator.station_v201 import SimulatedStation201
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually, simulated

SID = "PY-SIM-0001"
WAIT = 60.0  # bounds a failure only


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(make_settings(sqlite_url, unknown_id_tag_status="Accepted"))
    try:
        yield running
    finally:
        await stop_server(running)


def station_of(simulator: Simulator) -> SimulatedStation201:
    (station,) = simulator.stations.values()
    assert isinstance(station, SimulatedStation201)
    return station


async def until(check: Any) -> Any:
    return await eventually(check, timeout=WAIT)


async def station_view(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.get(f"/stations/{SID}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_201_station_connects_boots_and_shows_its_version_and_connectors(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2,
                         wait_configuration=False) as sim:
        station = station_of(sim)

        async def statuses() -> dict[int, str]:
            body = await station_view(http)
            return {c["connector_id"]: c["status"] for c in body["connectors"]}

        assert await until(lambda: _equal(statuses(), {1: "Available", 2: "Available"}))
        body = await station_view(http)
        assert body["ocpp_version"] == "2.0.1"
        assert (body["vendor"], body["model"], body["firmware_version"]) == (
            "chargeplan", "PY-SIM-201", "1.0.0")
        assert body["online"] is True
        await station.send_heartbeat()


async def _equal(got: Any, expected: Any) -> bool:
    return bool(await got == expected)
