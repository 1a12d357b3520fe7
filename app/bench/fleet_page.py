"""The dashboard's fleet table on a large fleet: ``GET /ui/api/fleet`` (one page of 50,
with connectors, delivery states and the limit in force) while the database holds
``fleet_page_stations`` stations, written straight into the run's database as a fleet
registered over months would be.

Figures: stations (in the table), first_p50_ms and first_p99_ms (page 1), last_p99_ms (the
last page), search_p99_ms (``q`` = the last station's id: one row), each over
``REPEATS`` requests one after another on a kept-alive connection.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from app.bench import stats
from app.bench.config import BenchConfig
from app.bench.errors import BenchError
from app.bench.rest import RestClient
from app.bench.scenarios import Outcome
from app.bench.servers import RunningServer
from app.db.models import Station

REPEATS: Final = 30
PAGE: Final = 50


def station_id(n: int) -> str:
    return f"BENCH-FLEET-{n:06d}"


async def _insert(url: str, stations: int) -> None:
    engine = create_async_engine(url)
    created = datetime.now(UTC)
    try:
        async with engine.begin() as connection:
            for start in range(0, stations, 5_000):
                await connection.execute(insert(Station), [
                    {"id": station_id(n), "tags": ["bench-fleet"] if n % 10 == 0 else [],
                     "created_at": created, "online": False}
                    for n in range(start, min(stations, start + 5_000))])
    finally:
        await engine.dispose()


def _timed(client: RestClient, path: str, rows: int) -> list[float]:
    took = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        status, body = client.request("GET", path)
        took.append((time.perf_counter() - started) * 1000)
        if status != 200 or len(body["rows"]) != rows:
            raise BenchError(f"GET {path}: {status} {str(body)[:200]}")
    return sorted(took)


def fleet_page(server: RunningServer, config: BenchConfig) -> Outcome:
    if server.database is None or server.http_url is None:
        raise BenchError("the fleet_page scenario needs the server's database and REST API")
    stations = config.fleet_page_stations
    asyncio.run(_insert(server.database.url, stations))
    client = RestClient(server.http_url)
    try:
        status, first = client.request("GET", f"/ui/api/fleet?size={PAGE}")
        if status != 200:
            raise BenchError(f"GET /ui/api/fleet: {status} {first}")
        total = int(first["total"])
        pages = -(-total // PAGE)
        last_rows = total - (pages - 1) * PAGE
        first_ms = _timed(client, f"/ui/api/fleet?size={PAGE}", min(PAGE, total))
        last_ms = _timed(client, f"/ui/api/fleet?size={PAGE}&page={pages}", last_rows)
        search_ms = _timed(client, f"/ui/api/fleet?size={PAGE}&q={station_id(stations - 1)}",
                           1)
    finally:
        client.close()
    return Outcome(figures={
        "stations": total,
        "first_p50_ms": stats.rounded(stats.percentile(first_ms, 0.50)),
        "first_p99_ms": stats.rounded(stats.percentile(first_ms, 0.99)),
        "last_p99_ms": stats.rounded(stats.percentile(last_ms, 0.99)),
        "search_p99_ms": stats.rounded(stats.percentile(search_ms, 0.99)),
    })
