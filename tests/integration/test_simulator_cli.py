"""`chargeplan simulate` connects its stations and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

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


async def test_simulate_site_boots_the_site_files_stations(
    central_system: CentralSystem, tmp_path: Path
) -> None:
    site = tmp_path / "site.json"
    site.write_text(json.dumps({
        "url": central_system.url,
        "stations": [{"id": "SITE-A"}, {"id": "SITE-B", "phases": 1}],
        "cars": [{"id": "EV1", "station": "SITE-B", "phases": 1}]}))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "simulate", "--site", str(site),
        stderr=asyncio.subprocess.PIPE)
    try:
        for station_id in ("SITE-A", "SITE-B"):
            await central_system.wait_for(station_id, "BootNotification", timeout=30)
        # The car arrives at once: its idTag is its id.
        await central_system.wait_for("SITE-B", "StartTransaction", timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()


def test_simulate_site_refuses_a_bad_site_file_naming_each_field(tmp_path: Path) -> None:
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"stations": [{"id": "S", "phases": 2}],
                                "cars": [{"id": "EV1", "station": "T"}]}))
    done = subprocess.run([sys.executable, "-m", "app.cli", "simulate", "--site", str(site)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "chargeplan simulate: stations[0].phases: must be 1 or 3",
        "chargeplan simulate: cars[0].station: 'T' is not one of the site's stations"]
