"""Failed commands to chargers map to status codes that say whose fault it was."""

from __future__ import annotations

import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from app.api import exception_handlers
from app.services.ports import (
    CallErrorReceived,
    CallTimeout,
    InvalidResponse,
    StationCallError,
    StationOffline,
)

FAILURES: dict[str, StationCallError] = {
    "offline": StationOffline("CP-1", "GetCompositeSchedule"),
    "timeout": CallTimeout("CP-1", "GetCompositeSchedule", 30),
    "callerror": CallErrorReceived("CP-1", "GetCompositeSchedule", "NotSupported", "no"),
    "invalid": InvalidResponse("CP-1", "GetCompositeSchedule", "status missing"),
}


@get("/fail/{kind:str}", sync_to_thread=False)
def fail(kind: FromPath[str]) -> None:
    raise FAILURES[kind]


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("offline", 409, "station offline"),
        ("timeout", 504, "no answer within 30 s"),
        ("callerror", 502, "CALLERROR NotSupported: no"),
        ("invalid", 502, "status missing"),
    ],
)
async def test_a_failed_station_call_keeps_its_reason(kind: str, status: int, reason: str) -> None:
    app = Litestar([fail], exception_handlers=exception_handlers)
    async with AsyncTestClient(app=app) as client:
        response = await client.get(f"/fail/{kind}")

    assert response.status_code == status
    body = response.json()
    assert body["status_code"] == status
    assert reason in body["detail"]
    assert body["extra"][0]["action"] == "GetCompositeSchedule"
    assert body["extra"][0]["kind"] == FAILURES[kind].kind
