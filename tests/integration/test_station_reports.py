"""Station reports under a reconnect storm: written together, each caller sees its own.

Hundreds of stations connect, boot and report their connectors at once. Their writes are
committed in a few shared transactions, yet every caller returns only once its own row is
committed, a station's writes keep their order, and a write that fails (its station was
deleted meanwhile) fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db.engine import Database
from app.db.models import Connector, Station
from app.services.fleet.stations import TOUCH_CHUNK, Admission, StationService

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "AC22", "firmwareVersion": "1.2"}


def status(connector_id: int, state: str) -> dict[str, object]:
    return {"connectorId": connector_id, "status": state, "errorCode": "NoError"}


async def storm(service: StationService, station_ids: list[str]) -> None:
    async def one(station_id: str) -> None:
        assert await service.admit(station_id, None) is Admission.ADMITTED_NEW
        await service.connected(station_id, "node-a", "127.0.0.1:1")
        await service.boot(station_id, BOOT)
        await asyncio.gather(service.status(station_id, status(1, "Available"), T0),
                             service.status(station_id, status(2, "Preparing"), T0))

    await asyncio.gather(*(one(sid) for sid in station_ids))


async def test_a_storm_of_stations_is_written_in_few_transactions_sqlite(
    sqlite_url: str,
) -> None:
    await check_storm(sqlite_url)


async def test_a_storm_of_stations_is_written_in_few_transactions_postgresql(
    postgres_head_url: str,
) -> None:
    await check_storm(postgres_head_url)


async def check_storm(url: str) -> None:
    db = Database(url)
    service = StationService(db, admit_unknown=True, clock=lambda: T0)
    ids = [f"CP-{i:03d}" for i in range(300)]
    try:
        await storm(service, ids)
        async with db.uow() as session:
            stations = (await session.scalars(select(Station).order_by(Station.id))).all()
            connectors = (await session.execute(
                select(Connector.station_id, Connector.connector_id, Connector.status))).all()
        # Every caller returned after its own commit: all rows are there now.
        assert [s.id for s in stations] == ids
        assert all(s.online and s.vendor == "Acme" and s.node_id == "node-a" for s in stations)
        assert len(connectors) == 600
        assert {(sid, 2): "Preparing" for sid in ids}.items() <= {
            (sid, c): st for sid, c, st in connectors}.items()
        # 300 stations x 5 writes went out in far fewer transactions.
        assert service._writes.writes == 1500
        assert service._writes.transactions < 150
    finally:
        await service.close()
        await db.dispose()


@pytest.fixture
async def service(sqlite_url: str) -> AsyncIterator[StationService]:
    db = Database(sqlite_url)
    reports = StationService(db, admit_unknown=True, clock=lambda: T0)
    yield reports
    await reports.close()
    await db.dispose()


async def test_a_station_that_connects_and_drops_at_once_ends_offline(
    service: StationService,
) -> None:
    await service.admit("CP-1", None)
    # Made one after the other without awaiting: the second must be applied second.
    both = asyncio.gather(service.connected("CP-1", "node-a", None),
                          service.disconnected("CP-1", "node-a", T0 + timedelta(seconds=1)))
    await both
    station = await service.get("CP-1")
    assert station.online is False
    assert station.last_seen == T0 + timedelta(seconds=1)


async def test_a_write_for_a_deleted_station_fails_alone(service: StationService) -> None:
    for sid in ("CP-1", "CP-2", "CP-3"):
        await service.admit(sid, None)
    await service.delete("CP-2")
    results = await asyncio.gather(
        service.status("CP-1", status(1, "Charging"), T0),
        service.status("CP-2", status(1, "Charging"), T0),
        service.status("CP-3", status(1, "Faulted"), T0),
        return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], IntegrityError)
    async with service._db.uow() as session:
        rows = dict((await session.execute(
            select(Connector.station_id, Connector.status))).all())
    assert rows == {"CP-1": "Charging", "CP-3": "Faulted"}


async def test_an_older_replayed_status_does_not_overwrite_a_newer_one(
    service: StationService,
) -> None:
    await service.admit("CP-1", None)
    await service.status("CP-1", status(1, "Charging"), T0 + timedelta(minutes=5))
    # OCPP 1.6 §3.7: a queued notification delivered late carries its own timestamp.
    await service.status("CP-1", status(1, "Available"), T0)
    async with service._db.uow() as session:
        state = await session.scalar(select(Connector.status))
    assert state == "Charging"


async def test_last_seen_of_a_fleet_larger_than_one_write_reaches_every_station(
    service: StationService,
) -> None:
    ids = [f"CP-{i:04d}" for i in range(TOUCH_CHUNK * 2 + 7)]
    for sid in ids:
        await service.admit(sid, None)
    seen = {sid: T0 + timedelta(seconds=i) for i, sid in enumerate(ids)}
    await service.touch(seen)
    async with service._db.uow() as session:
        stored = dict((await session.execute(select(Station.id, Station.last_seen))).all())
    assert stored == seen
