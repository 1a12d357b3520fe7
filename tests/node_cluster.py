"""Helpers for tests of several `chargeplan serve --node-id` processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg

from app.db.migrate import upgrade
from app.simulator import Simulator, SimulatorConfig
from tests.serve_process import ServeProcess

NODES = ("node-a", "node-b", "node-c")


@contextmanager
def three_nodes(postgres_url: str, directory: Path, *, call_timeout_s: str = "5"
                ) -> Iterator[dict[str, ServeProcess]]:
    """Three nodes on one fresh database, heartbeats every second (a node silent for three
    holds nothing). The database is migrated first unless it is at the latest revision
    already (``postgres_head_url``): the nodes must not all migrate it at once."""
    upgrade(postgres_url)
    processes = {name: ServeProcess(directory / name, url=postgres_url,
                                    args=("--node-id", name), node_heartbeat_s="1",
                                    call_timeout_s=call_timeout_s)
                 for name in NODES}
    try:
        start_all(list(processes.values()))
        yield processes
    finally:
        for process in processes.values():
            process.stop()


def start_all(processes: list[ServeProcess]) -> None:
    """Start the processes side by side (each waits for its /health)."""
    async def start() -> None:
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes))

    asyncio.run(start())


@asynccontextmanager
async def simulator(url: str, prefix: str, count: int, *, ocpp_version: str = "1.6"
                    ) -> AsyncIterator[Simulator]:
    sim = Simulator(SimulatorConfig(url=url, stations=count, id_prefix=prefix,
                                    reconnect_delay=0.2, ocpp_version=ocpp_version))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def fetch(url: str, sql: str, *args: object) -> list[Any]:
    """Rows of ``sql`` read straight from the nodes' database."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def set_profile_calls(url: str) -> dict[int, list[list[float]]]:
    """desired profile id -> when each SetChargingProfile CALL for it was sent (epoch s),
    in runs split where its station sent a BootNotification in between: a station that
    boots gets back what it acknowledged before (it may have lost it), which is not a
    send twice."""
    rows = await fetch(
        url, "SELECT desired_profile_id, station_id, extract(epoch FROM ts) AS at "
        "FROM audit_log WHERE action = 'SetChargingProfile' AND message_type = 'CALL' "
        "AND direction = 'out' AND desired_profile_id IS NOT NULL ORDER BY ts")
    boots: dict[str, list[float]] = {}
    for row in await fetch(
            url, "SELECT station_id, extract(epoch FROM ts) AS at FROM audit_log "
            "WHERE action = 'BootNotification' AND message_type = 'CALL' "
            "AND direction = 'in'"):
        boots.setdefault(row["station_id"], []).append(float(row["at"]))
    sent: dict[int, list[list[float]]] = {}
    for row in rows:
        at = float(row["at"])
        runs = sent.setdefault(row["desired_profile_id"], [])
        if not runs or any(runs[-1][-1] < boot < at
                           for boot in boots.get(row["station_id"], ())):
            runs.append([])
        runs[-1].append(at)
    return sent


def sent_twice_within(sent: dict[int, list[list[float]]], seconds: float
                      ) -> dict[int, list[float]]:
    """The desired profiles whose SetChargingProfile went out twice within ``seconds``
    with no boot of their station in between."""
    twice = {}
    for desired_id, runs in sent.items():
        if any(later - earlier < seconds
               for times in runs for earlier, later in zip(times, times[1:], strict=False)):
            twice[desired_id] = [at for times in runs for at in times]
    return twice
