"""/audit and /stations/{id}/logs: OCPP frames filtered and paged newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.db.models import AuditFrame
from app.services.fleet.audit_log import encode_cursor
from tests.conftest import RunningServer, make_settings, start_server, stop_server

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def frame(n: int, **values: Any) -> AuditFrame:
    """Frame n is n seconds after T0; a Heartbeat CALL from CP-A unless told otherwise."""
    row: dict[str, Any] = {
        "ts": T0 + timedelta(seconds=n),
        "station_id": "CP-A",
        "direction": "in",
        "message_type": "CALL",
        "unique_id": f"u{n}",
        "action": "Heartbeat",
        "payload": {},
    }
    row.update(values)
    return AuditFrame(**row)


async def insert(server: RunningServer, *frames: AuditFrame) -> None:
    async with server.services.db.uow() as session:
        session.add_all(frames)


async def test_frames_come_newest_first_with_every_field(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await insert(
        server,
        frame(1),
        frame(
            2,
            direction="out",
            message_type="CALLERROR",
            action=None,
            payload=None,
            error_code="NotImplemented",
            error_description="no",
            rtt_ms=12.5,
        ),
    )

    page = (await http.get("/audit")).json()

    assert page["next_cursor"] is None
    newest, oldest = page["items"]
    assert (newest["unique_id"], oldest["unique_id"]) == ("u2", "u1")
    assert newest["message_type"] == "CALLERROR"
    assert newest["error_code"] == "NotImplemented"
    assert newest["error_description"] == "no"
    assert newest["rtt_ms"] == 12.5
    assert datetime.fromisoformat(newest["ts"]) == T0 + timedelta(seconds=2)
    assert set(oldest) == {
        "id",
        "ts",
        "station_id",
        "direction",
        "message_type",
        "unique_id",
        "action",
        "payload",
        "raw",
        "raw_length",
        "raw_sha256",
        "error_code",
        "error_description",
        "rtt_ms",
        "desired_profile_id",
    }


async def test_an_unparseable_frame_keeps_its_raw_text(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await insert(
        server,
        frame(1, message_type="INVALID", unique_id=None, action=None, payload=None, raw="[2, oops"),
    )

    [item] = (await http.get("/audit", params={"message_type": "INVALID"})).json()["items"]

    assert item["raw"] == "[2, oops"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"station_id": "CP-B"}, ["u3"]),
        ({"action": "MeterValues"}, ["u4"]),
        ({"direction": "out"}, ["u2"]),
        ({"message_type": "CALLRESULT"}, ["u2"]),
        ({"station_id": "CP-A", "direction": "in"}, ["u4", "u1"]),
        ({"since": "2026-03-01T12:00:02Z"}, ["u4", "u3", "u2"]),
        ({"until": "2026-03-01T12:00:02Z"}, ["u1"]),
        ({"since": "2026-03-01T12:00:02Z", "until": "2026-03-01T12:00:04Z"}, ["u3", "u2"]),
        # Without an offset the time is UTC.
        ({"since": "2026-03-01T12:00:03"}, ["u4", "u3"]),
        ({"since": "2026-03-01T13:00:03+01:00"}, ["u4", "u3"]),
    ],
)
async def test_filters_select_matching_frames(
    http: httpx.AsyncClient, server: RunningServer, params: dict[str, str], expected: list[str]
) -> None:
    await insert(
        server,
        frame(1),
        frame(2, direction="out", message_type="CALLRESULT", action=None),
        frame(3, station_id="CP-B"),
        frame(4, action="MeterValues"),
    )

    response = await http.get("/audit", params=params)

    assert response.status_code == 200
    assert [i["unique_id"] for i in response.json()["items"]] == expected


async def test_cursor_pages_walk_every_frame_once(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await insert(server, *(frame(n) for n in range(1, 8)))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0

    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await http.get("/audit", params=params)).json()
        seen += [i["unique_id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == [f"u{n}" for n in range(7, 0, -1)]


async def test_frames_written_after_the_first_page_do_not_shift_later_pages(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await insert(server, *(frame(n) for n in range(1, 5)))
    first = (await http.get("/audit", params={"limit": 2})).json()
    await insert(server, frame(99))

    second = await http.get("/audit", params={"limit": 2, "cursor": first["next_cursor"]})

    assert [i["unique_id"] for i in second.json()["items"]] == ["u2", "u1"]


async def test_an_exact_last_page_has_no_cursor(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await insert(server, frame(1), frame(2))

    page = (await http.get("/audit", params={"limit": 2})).json()

    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


async def test_filters_hold_across_pages(http: httpx.AsyncClient, server: RunningServer) -> None:
    await insert(server, *(frame(n, station_id="CP-A" if n % 2 else "CP-B") for n in range(1, 7)))
    first = (await http.get("/audit", params={"station_id": "CP-A", "limit": 2})).json()

    second = (
        await http.get(
            "/audit", params={"station_id": "CP-A", "limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()

    assert [i["unique_id"] for i in first["items"]] == ["u5", "u3"]
    assert [i["unique_id"] for i in second["items"]] == ["u1"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"direction": "sideways"}, "direction"),
        ({"message_type": "PING"}, "message_type"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": ""}, "cursor"),
    ({"cursor": encode_cursor(2**70)}, "cursor"),
    ({"since": "9999-12-31T23:00:00-05:00"}, "since"),
    ],
)
async def test_bad_query_parameters_are_400_naming_them(
    shared_http: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await shared_http.get("/audit", params=params)

    assert response.status_code == 400
    assert field in [entry["key"] for entry in response.json()["extra"]]


async def test_station_logs_are_that_stations_latest_frames(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await http.post("/stations", json={"station_id": "CP-A"})
    await insert(server, *(frame(n) for n in range(1, 5)), frame(9, station_id="CP-B"))

    logs = await http.get("/stations/CP-A/logs", params={"limit": 3})

    assert logs.status_code == 200
    assert [i["unique_id"] for i in logs.json()] == ["u4", "u3", "u2"]
    assert {i["station_id"] for i in logs.json()} == {"CP-A"}


async def test_station_logs_limit_is_checked(http: httpx.AsyncClient) -> None:
    await http.post("/stations", json={"station_id": "CP-A"})

    response = await http.get("/stations/CP-A/logs", params={"limit": 5000})

    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "limit"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        sqlite: str = request.getfixturevalue("sqlite_url")
        return sqlite
    url: str = request.getfixturevalue("postgres_head_url")
    return url


async def test_pages_are_bounded_in_bytes_and_the_cursor_continues(database_url: str) -> None:
    budget = 350_000
    running = await start_server(make_settings(database_url, audit_page_max_bytes=budget))
    try:
        await insert(running, *(frame(n, message_type="INVALID", payload=None,
                                      raw="r" * 100_000) for n in range(1, 11)))
        seen: list[str] = []
        cursor = None
        async with httpx.AsyncClient(base_url=running.http_url) as http:
            for _ in range(10):
                params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
                response = await http.get("/audit", params=params)
                assert response.status_code == 200
                assert len(response.content) <= budget
                page = response.json()
                assert page["items"], "a page makes progress"
                seen += [item["unique_id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
        assert seen == [f"u{n}" for n in range(10, 0, -1)]
        assert len(seen) > 3, "several pages were needed"
    finally:
        await stop_server(running)
