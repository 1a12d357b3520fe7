"""Which OCPP version each station speaks: the subprotocol its websocket negotiated,
stored on connect and shown over REST; stations from before it was recorded are 1.6."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.db.migrate import upgrade
from app.domain.protocol_rules import OcppVersion
from tests.conftest import RunningServer
from tests.e2e.harness import eventually
from tests.integration.test_migrations import run_sql
from tests.ocpp_client import raw_station


async def test_a_station_shows_the_version_it_connected_with(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with raw_station(server.station_url("CP-16")) as cp:
        await cp.boot()
        shown = (await http.get("/stations/CP-16")).json()
        assert shown["ocpp_version"] == "1.6"
        assert [s["ocpp_version"] for s in (await http.get("/stations/")).json()] == ["1.6"]

    # A connection on the 2.0.1 subprotocol records the version its adapter speaks.
    await server.services.stations.connected("CP-16", "node", None, OcppVersion.V201)

    async def shows_201() -> bool:
        answer = (await http.get("/stations/CP-16")).json()
        return bool(answer["ocpp_version"] == "2.0.1")

    await eventually(shows_201)
    assert (await server.services.stations.get("CP-16")).ocpp_version is OcppVersion.V201


def test_stations_registered_before_the_migration_speak_1_6(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0020")
    run_sql(url, "INSERT INTO stations (id, tags, created_at, online, drift_repairs) VALUES "
                 "('CP-OLD', '[]', '2026-11-28 01:00:00', false, 0)")
    upgrade(url)
    assert [tuple(r) for r in run_sql(url, "SELECT id, ocpp_version FROM stations")] == [
        ("CP-OLD", "1.6")]
