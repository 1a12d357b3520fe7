"""Security events: recorded off the hot path, a flood folded into few rows."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.exceptions import InvalidStatus

from app.db.security_models import SecurityEvent, SecurityEventKind
from app.services.security.security_events import SecurityEvents
from tests.conftest import RunningServer
from tests.e2e.harness import eventually
from tests.ocpp_client import raw_station

PASSWORD = "0123456789abcdefXYZ"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_flood_is_one_row_per_window_saying_how_many_it_folded() -> None:
    rows: list[dict[str, Any]] = []
    clock = Clock()
    events = SecurityEvents(lambda row: rows.append(row) is None, clock=clock, window_s=60)
    for _ in range(1000):
        events.record(SecurityEventKind.HANDSHAKE_LIMIT, remote_address="192.0.2.7",
                      coalesce=True)
    events.record(SecurityEventKind.HANDSHAKE_LIMIT, remote_address="192.0.2.8", coalesce=True)
    assert [r["remote_address"] for r in rows] == ["192.0.2.7", "192.0.2.8"]
    clock.now += timedelta(seconds=61)
    events.record(SecurityEventKind.HANDSHAKE_LIMIT, remote_address="192.0.2.7", coalesce=True)
    assert rows[-1]["detail"] == {"repeated": 999}
    assert rows[-1]["ts"] == clock.now and rows[-1]["kind"] == "handshake_limit"


def test_a_full_writer_drops_and_counts_instead_of_blocking() -> None:
    events = SecurityEvents(lambda row: False, clock=Clock())
    events.record(SecurityEventKind.AUTH_FAILED, station_id="CP-1")
    assert (events.recorded, events.dropped) == (0, 1)


def test_remembered_keys_stay_bounded() -> None:
    rows: list[dict[str, Any]] = []
    events = SecurityEvents(lambda row: rows.append(row) is None, clock=Clock(), max_keys=100)
    for i in range(1000):
        events.record(SecurityEventKind.AUTH_FAILED, remote_address=f"10.0.{i // 256}.{i % 256}",
                      coalesce=True)
    assert len(rows) == 1000
    assert len(events._last) <= 100


async def test_a_wrong_password_is_recorded_as_a_security_event(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/stations", json={"station_id": "CP-SEC", "password": PASSWORD})
    token = base64.b64encode(b"CP-SEC:not-the-password-1").decode()
    with pytest.raises(InvalidStatus) as refused:
        async with raw_station(server.station_url("CP-SEC"),
                               additional_headers={"Authorization": f"Basic {token}"}):
            pass
    assert refused.value.response.status_code == 401

    async def recorded() -> list[SecurityEvent]:
        async with server.services.db.uow() as session:
            return list((await session.scalars(select(SecurityEvent))).all())

    events = await eventually(recorded)
    assert [(e.kind, e.station_id, e.remote_address) for e in events] == [
        ("auth_failed", "CP-SEC", "127.0.0.1")]
    assert events[0].detail == {"reason": "bad_credentials"}
    assert events[0].ts.tzinfo is not None
