"""Station clocks are not trusted blindly: a future-dated status does not freeze a
connector, the station's clock offset is shown, absurd times are stored flagged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.models import MeterValue, Transaction
from app.settings import Settings
from tests.conftest import RunningServer, start_server, stop_server
from tests.e2e.harness import eventually
from tests.ocpp_client import raw_station


def stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def status(connector: int, state: str, at: str) -> dict[str, Any]:
    return {"connectorId": connector, "errorCode": "NoError", "status": state, "timestamp": at}


async def connector_status(http: httpx.AsyncClient, station_id: str, connector: int) -> str:
    view = (await http.get(f"/stations/{station_id}")).json()
    return next((c["status"] for c in view["connectors"] if c["connector_id"] == connector), "")


async def test_a_status_dated_2099_does_not_freeze_the_connector(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with raw_station(server.station_url("CP-2099")) as cp:
        await cp.boot()
        await cp.ok("StatusNotification", status(1, "Faulted", "2099-01-01T00:00:00Z"))
        await eventually(lambda: connector_status(http, "CP-2099", 1))
        now = datetime.now(UTC)
        await cp.ok("StatusNotification", status(1, "Available", stamp(now)))
        assert await eventually(
            lambda: _is(connector_status(http, "CP-2099", 1), "Available"))
        await cp.ok("StatusNotification",
                    status(1, "Charging", stamp(now + timedelta(seconds=1))))
        assert await eventually(lambda: _is(connector_status(http, "CP-2099", 1), "Charging"))
        # An older replayed status still does not overwrite a newer one.
        await cp.ok("StatusNotification",
                    status(1, "Available", stamp(now - timedelta(minutes=10))))
        await cp.ok("Heartbeat", {})
        assert await connector_status(http, "CP-2099", 1) == "Charging"


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)


class SteeredClock:
    """The server's clock, set by the test: which second a receipt falls in is chosen,
    not raced."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def steered(settings: Settings) -> AsyncIterator[tuple[RunningServer, SteeredClock]]:
    clock = SteeredClock(datetime(2026, 11, 28, 12, 0, 25, 894000, tzinfo=UTC))
    running = await start_server(settings, clock=clock)
    try:
        yield running, clock
    finally:
        await stop_server(running)


async def test_a_status_dated_by_its_receipt_does_not_hide_a_later_one_of_that_second(
    steered: tuple[RunningServer, SteeredClock],
) -> None:
    server, clock = steered
    async with (httpx.AsyncClient(base_url=server.http_url, timeout=10) as http,
                raw_station(server.station_url("CP-SECOND")) as cp):
        await cp.boot()
        # Received at 12:00:25.894: dated by its receipt, 2099 cannot be true.
        await cp.ok("StatusNotification", status(1, "Faulted", "2099-01-01T00:00:00Z"))
        assert await eventually(lambda: _is(connector_status(http, "CP-SECOND", 1), "Faulted"))
        # Sent after it, stamped by a station clock that speaks whole seconds.
        clock.now += timedelta(milliseconds=50)
        await cp.ok("StatusNotification", status(1, "Available", "2026-11-28T12:00:25Z"))
        assert await eventually(
            lambda: _is(connector_status(http, "CP-SECOND", 1), "Available"))
        # A real station time orders against real ones again: an older one is dropped.
        await cp.ok("StatusNotification", status(1, "Charging", "2026-11-28T12:00:24Z"))
        await cp.ok("Heartbeat", {})
        assert await connector_status(http, "CP-SECOND", 1) == "Available"


async def test_a_status_dated_by_its_receipt_is_not_hidden_by_a_clock_running_ahead(
    steered: tuple[RunningServer, SteeredClock],
) -> None:
    server, clock = steered
    async with (httpx.AsyncClient(base_url=server.http_url, timeout=10) as http,
                raw_station(server.station_url("CP-AHEAD")) as cp):
        await cp.boot()
        # Two minutes ahead of ours: within the skew allowed, so its time orders it.
        await cp.ok("StatusNotification", status(1, "Available", "2026-11-28T12:02:25Z"))
        assert await eventually(
            lambda: _is(connector_status(http, "CP-AHEAD", 1), "Available"))
        clock.now += timedelta(seconds=1)
        await cp.ok("StatusNotification", status(1, "Faulted", "2099-01-01T00:00:00Z"))
        assert await eventually(lambda: _is(connector_status(http, "CP-AHEAD", 1), "Faulted"))


async def test_the_station_clock_offset_is_shown(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with raw_station(server.station_url("CP-SKEW")) as cp:
        await cp.boot()
        ahead = datetime.now(UTC) + timedelta(hours=1)
        await cp.ok("StatusNotification", status(0, "Available", stamp(ahead)))

        async def offset() -> float | None:
            value: float | None = (await http.get("/stations/CP-SKEW")).json()[
                "clock_offset_s"]
            return value

        measured = await eventually(offset)
        assert 3500 < measured <= 3600
        view = (await http.get("/stations/CP-SKEW")).json()
        assert view["clock_offset_measured_at"] is not None


async def test_absurd_meter_timestamps_are_stored_flagged(server: RunningServer) -> None:
    now = datetime.now(UTC)
    async with raw_station(server.station_url("CP-METER")) as cp:
        await cp.boot()
        for at in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", stamp(now)):
            await cp.ok("MeterValues", {"connectorId": 1, "meterValue": [
                {"timestamp": at, "sampledValue": [{"value": "1000"}]}]})

    async def rows() -> list[MeterValue]:
        async with server.services.db.uow() as session:
            found = (await session.scalars(
                select(MeterValue).where(MeterValue.station_id == "CP-METER"))).all()
        return list(found) if len(found) == 3 else []

    flags = {row.ts.year: row.ts_flag for row in await eventually(rows)}
    assert flags == {9999: "future", 1: "too_old", now.year: None}


async def test_a_stop_dated_before_its_start_is_flagged(server: RunningServer) -> None:
    now = datetime.now(UTC)
    async with raw_station(server.station_url("CP-STOP")) as cp:
        await cp.boot()
        started = await cp.ok("StartTransaction", {
            "connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": stamp(now)})
        tx_id = started["transactionId"]
        await cp.ok("StopTransaction", {
            "transactionId": tx_id, "meterStop": 10,
            "timestamp": stamp(now - timedelta(days=1))})
    async with server.services.db.uow() as session:
        tx = await session.get(Transaction, tx_id)
    assert tx is not None
    assert tx.stopped_at == now - timedelta(days=1)
    assert (tx.start_time_flag, tx.stop_time_flag) == (None, "before_start")
