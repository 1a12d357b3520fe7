"""/health: 200 when the database answers and the OCPP port listens, 503 otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.db.engine import Database
from tests.conftest import RunningServer
from tests.e2e.harness import eventually
from tests.ocpp_client import raw_station


async def test_a_healthy_server_says_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": True,
        "ocpp_listener": True,
        "connected_stations": 0,
        "audit_queue_depth": 0,
        "problems": [],
    }


async def test_connected_stations_are_counted(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    async with raw_station(server.station_url("CP-H1")) as station:
        await station.boot()

        body = (await http.get("/health")).json()

    assert body["connected_stations"] == 1


async def test_a_stopped_ocpp_listener_is_503(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    server.services.status.ocpp_listening = False

    response = await http.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["ocpp_listener"], body["database"]) == ("degraded", False, True)


@pytest.fixture
async def unreachable_database(server: RunningServer, tmp_path: Path) -> AsyncIterator[None]:
    """Point the health check at a 'database file' that is a directory: every connect fails."""
    folder = tmp_path / "not-a-database"
    folder.mkdir()
    real = server.services.db
    broken = Database(f"sqlite+aiosqlite:///{folder}")
    server.services.db = broken
    try:
        yield
    finally:
        server.services.db = real
        await broken.dispose()


@pytest.mark.usefixtures("unreachable_database")
async def test_an_unreachable_database_is_503(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["ocpp_listener"]) == ("degraded", False, True)


async def test_a_failing_audit_writer_makes_health_degraded_and_says_why(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    db = server.services.db
    async with db.core() as conn:  # every audit write fails from now on
        await conn.exec_driver_sql("ALTER TABLE audit_log RENAME TO audit_log_away")
    async with raw_station(server.station_url("CP-H2")) as station:
        await station.send_raw('[2, "h1", "Heartbeat", {}]')
        body = await eventually(lambda: _degraded(http))
        assert any("audit_log writer failing" in p for p in body["problems"])
        async with db.core() as conn:
            await conn.exec_driver_sql("ALTER TABLE audit_log_away RENAME TO audit_log")
        # Answered once its row is written; health is ok again.
        assert (await station.reply(timeout=15))[:2] == [3, "h1"]
    response = await http.get("/health")
    assert response.status_code == 200 and response.json()["problems"] == []


async def _degraded(http: httpx.AsyncClient) -> dict[str, object] | None:
    response = await http.get("/health")
    if response.status_code != 503:
        return None
    body: dict[str, object] = response.json()
    return body
