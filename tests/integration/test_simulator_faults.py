"""Injected faults: unanswered CALLs, slow answers and dropped connections."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.conftest_simulator import (
    CentralSystem,
    central_system,
    running,
    station_config,
)

__all__ = ["central_system"]

STATION = "PY-SIM-0001"


async def test_drop_rate_one_leaves_every_server_call_unanswered(
    central_system: CentralSystem,
) -> None:
    async with running(station_config(central_system.url, drop_rate=1.0)) as simulator:
        with pytest.raises(TimeoutError):
            await central_system.call(STATION, "GetConfiguration", {}, timeout=0.5)
        still_connected = simulator.stations[STATION].connected.is_set()

    assert still_connected


async def test_delay_ms_holds_back_each_answer(central_system: CentralSystem) -> None:
    loop = asyncio.get_running_loop()
    async with running(station_config(central_system.url, delay_ms=300)):
        began = loop.time()
        answer = await central_system.result(STATION, "DataTransfer", {"vendorId": "acme"})
        elapsed = loop.time() - began

    assert answer == {"status": "UnknownVendorId"}
    assert elapsed >= 0.3


async def test_disconnect_every_closes_the_socket_and_the_station_reconnects_and_boots(
    central_system: CentralSystem,
) -> None:
    config = station_config(central_system.url, disconnect_every=0.2, reconnect_delay=0.05)
    async with running(config):
        boots = await central_system.wait_for(STATION, "BootNotification", count=3)

    assert len(boots) >= 3
    assert central_system.connections_opened[STATION] >= 3


async def test_same_seed_gives_the_same_faults(central_system: CentralSystem) -> None:
    def outcomes(seed: int) -> list[bool]:
        from app.simulator.faults import FaultInjector

        injector = FaultInjector(station_config(central_system.url, reject_rate=0.5, seed=seed), 0)
        return [injector.reject_profile() for _ in range(32)]

    assert outcomes(7) == outcomes(7)
    assert outcomes(7) != outcomes(8)
    assert 0 < sum(outcomes(7)) < 32
