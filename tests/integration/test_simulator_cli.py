"""`chargeplan simulate` connects its stations and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

from tests.integration.conftest_simulator import CentralSystem, central_system

__all__ = ["central_system"]


async def test_simulate_command_boots_every_station_and_exits_zero_on_sigterm(
    central_system: CentralSystem,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "simulate",
        "--url",
        central_system.url,
        "--stations",
        "3",
        "--id-prefix",
        "CLI-",
        "--first-index",
        "7",
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for station_id in ("CLI-0007", "CLI-0008", "CLI-0009"):
            await central_system.wait_for(station_id, "BootNotification", timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)

    assert process.returncode == 0, stderr.decode()
    assert b"CLI-0009: boot accepted" in stderr


async def test_simulate_command_refuses_a_rate_above_one() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "simulate",
        "--drop-rate",
        "1.5",
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)

    assert process.returncode == 2
    assert b"a rate is between 0 and 1" in stderr
