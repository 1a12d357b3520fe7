"""Who may connect: subprotocol, registration, HTTP Basic (OCPP security profile 1)."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy import select
from websockets.exceptions import InvalidStatus

from app.db.models import Station
from app.db.security_models import SecurityEvent
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually
from tests.ocpp_client import raw_station

PASSWORD = "0123456789abcdefXYZ"  # 19 bytes: within the 16..20 the whitepaper requires


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def refused(url: str, **kwargs: object) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as info:
        async with raw_station(url, **kwargs):  # type: ignore[arg-type]
            pass
    return info.value


@pytest.mark.parametrize("subprotocols", [[], ["ocpp2.1"]])
async def test_missing_or_other_subprotocol_is_refused_with_a_clear_error(
    server: RunningServer, subprotocols: list[str]
) -> None:
    error = await refused(server.station_url("CP-SP"), subprotocols=subprotocols)
    assert error.response.status_code == 400
    assert b"ocpp1.6" in error.response.body


async def test_station_may_connect_under_the_ocpp_prefix(server: RunningServer) -> None:
    async with raw_station(f"{server.ocpp_url}/ocpp/CP-PREFIX") as cp:
        assert (await cp.boot())["status"] == "Accepted"
        assert cp.ws.subprotocol == "ocpp1.6"


async def test_unknown_station_is_refused_unless_admission_is_open(sqlite_url: str) -> None:
    running = await start_server(make_settings(sqlite_url, admit_unknown_stations=False))
    try:
        error = await refused(running.station_url("STRANGER"))
        assert error.response.status_code == 404
        async with httpx.AsyncClient(base_url=running.http_url) as http:
            assert (await http.post("/stations", json={"station_id": "KNOWN"})).status_code == 201
        async with raw_station(running.station_url("KNOWN")) as cp:
            assert (await cp.boot())["status"] == "Accepted"
    finally:
        await stop_server(running)


async def test_password_is_required_and_checked_at_the_handshake(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    created = await http.post("/stations", json={"station_id": "CP-PW", "password": PASSWORD})
    assert created.status_code == 201
    assert PASSWORD not in created.text
    url = server.station_url("CP-PW")
    assert (await refused(url)).response.status_code == 401
    assert (await refused(url, additional_headers=basic("CP-PW", "wrong-password-123"))
            ).response.status_code == 401
    assert (await refused(url, additional_headers=basic("OTHER", PASSWORD))
            ).response.status_code == 401
    async with raw_station(url, additional_headers=basic("CP-PW", PASSWORD)) as cp:
        assert (await cp.boot())["status"] == "Accepted"
    async with server.services.db.uow() as session:
        station = await session.get(Station, "CP-PW")
    assert station is not None and station.password_hash is not None
    assert PASSWORD not in station.password_hash


async def test_repeated_wrong_passwords_are_throttled(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/stations", json={"station_id": "CP-BRUTE", "password": PASSWORD})
    url = server.station_url("CP-BRUTE")
    statuses = [
        (await refused(url, additional_headers=basic("CP-BRUTE", f"guess-number-{i:04d}"))
         ).response.status_code
        for i in range(7)
    ]
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429, 429]


async def test_reconnect_replaces_the_old_connection(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-RE")) as first:
        await first.boot()
        async with raw_station(server.station_url("CP-RE")) as second:
            await second.boot()
            await first.ws.wait_closed()
            assert first.ws.close_code == 1000
            assert (await second.ok("Heartbeat", {}))["currentTime"]
            assert server.services.gateway.is_connected("CP-RE")


async def test_an_impostor_without_the_password_never_displaces_the_charger(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/stations", json={"station_id": "CP-REAL", "password": PASSWORD})
    url = server.station_url("CP-REAL")
    async with raw_station(url, additional_headers=basic("CP-REAL", PASSWORD)) as real:
        await real.boot()
        assert (await refused(url)).response.status_code == 401
        assert (await real.ok("Heartbeat", {}))["currentTime"]


# Paths as a station would send them: odd ids percent-encoded where HTTP requires it.
BAD_ID_PATHS = [
    "/..", "/.", "/ocpp/", "/ocpp/..", "/%27%3BDROP-TABLE-stations%3B--", "/%24(id)",
    "/A%0A", "/" + "x" * 49, "/CP%20SPACE", "/CP%2FSLASH", "/caf%C3%A9",
]


@pytest.mark.parametrize("path", BAD_ID_PATHS)
async def test_an_invalid_station_id_is_refused_at_the_handshake_with_the_rule(
    server: RunningServer, path: str
) -> None:
    error = await refused(server.ocpp_url + path)
    assert error.response.status_code == 400
    assert b"1 to 48 characters" in error.response.body
    async with server.services.db.uow() as session:
        assert (await session.scalars(select(Station))).all() == []

    async def recorded() -> list[str]:
        async with server.services.db.uow() as session:
            return list((await session.scalars(select(SecurityEvent.kind))).all())

    assert await eventually(recorded) == ["invalid_station_id"]


async def test_the_longest_and_oddest_valid_station_ids_connect(server: RunningServer) -> None:
    for station_id in ("x" * 48, "A-z_0.9~", "..."):
        async with raw_station(server.station_url(station_id)) as cp:
            assert (await cp.boot())["status"] == "Accepted"
