"""Live events over SSE and WebSocket, from a real server and the real simulator."""

from __future__ import annotations

import httpx
import pytest
import websockets

from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually, only, simulated
from tests.event_clients import sse, ws
from tests.profiles import TX_DEFAULT_7KW

SID = "PY-SIM-0001"
STORY = ["station.connected", "station.booted", "profile.stored", "profile.delivered",
         "profile.accepted", "verification.verified", "transaction.started",
         "transaction.stopped"]


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    # Heartbeats often enough for the test to see them; no interval jobs in between.
    return make_settings(sqlite_url, events_heartbeat_s=0.3, scheduler_enabled=False)


def in_order(types: list[str], wanted: list[str]) -> bool:
    """``wanted`` occurs in ``types`` as a subsequence."""
    remaining = iter(types)
    return all(t in remaining for t in wanted)


async def verified(http: httpx.AsyncClient) -> bool:
    return (await http.get(f"/stations/{SID}/verification")).json()["state"] == "verified"


async def test_sse_and_websocket_tell_the_same_story_in_order(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with sse(server.http_url, {"station_id": SID}) as by_sse, \
            ws(server.http_url, f"station_id={SID}") as by_ws:
        await eventually(lambda: server.services.events.listeners == 2)
        async with simulated(server, http) as sim:
            sent = await http.post(f"/stations/{SID}/charging_profile",
                                   json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
            assert sent.json()["status"] == "success", sent.text
            assert (await http.post("/jobs/verify/run", params={"station_id": SID})
                    ).status_code == 202
            await eventually(lambda: verified(http))
            await only(sim).start_transaction(1, "RFID-1")
            await only(sim).stop_transaction(1, "Local")
            for seen in (by_sse, by_ws):
                await eventually(lambda s=seen: "transaction.stopped" in s.types())
        assert in_order(by_sse.types(), STORY), by_sse.types()
        # Same events, same ids, same order on both transports; only this station's.
        assert by_ws.events[:len(by_sse.events)] == by_sse.events
        assert {e["station_id"] for e in by_sse.events} == {SID}
        accepted = next(e for e in by_sse.events if e["type"] == "profile.accepted")
        assert accepted["connector_id"] == 1 and accepted["data"]["profile_id"] == sent.json()[
            "profile_id"]
        ids = [e["id"] for e in by_sse.events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        await eventually(lambda: by_sse.heartbeats > 0 and by_ws.heartbeats > 0)


async def test_reconnecting_with_last_event_id_gets_what_it_missed(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        async with sse(server.http_url, {"station_id": SID}) as first:
            await eventually(lambda: server.services.events.listeners == 1)
            await http.post(f"/stations/{SID}/charging_profile",
                            json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
            await eventually(lambda: "profile.accepted" in first.types())
            seen = first.last_id()
        await eventually(lambda: server.services.events.listeners == 0)
        # Missed while disconnected.
        await only(sim).start_transaction(1, "RFID-1")
        await only(sim).stop_transaction(1, "Local")
        async with sse(server.http_url, {"station_id": SID}, last_event_id=seen) as again, \
                ws(server.http_url, f"station_id={SID}&last_event_id={seen}") as again_ws:
            for client in (again, again_ws):
                await eventually(lambda c=client: "transaction.stopped" in c.types())
            assert again.events[0]["id"] > seen
            assert in_order(again.types(), ["transaction.started", "transaction.stopped"])
            assert again_ws.events == again.events
            assert "profile.accepted" not in again.types()


async def test_type_filter_and_bad_filters(server: RunningServer, http: httpx.AsyncClient
                                           ) -> None:
    async with sse(server.http_url, {"type": "station.booted,transaction.started"}) as booted:
        await eventually(lambda: server.services.events.listeners == 1)
        async with simulated(server, http):
            await eventually(lambda: booted.types() == ["station.booted"])
    answer = await http.get("/events", params={"type": "station.exploded"})
    assert answer.status_code == 400
    assert answer.json()["extra"][0]["key"] == "type"
    assert "station.exploded" in answer.json()["extra"][0]["message"]
    answer = await http.get("/events", headers={"Last-Event-ID": "yesterday"})
    assert answer.status_code == 400 and answer.json()["extra"][0]["key"] == "Last-Event-ID"
    url = server.http_url.replace("http://", "ws://") + "/events/ws?type=station.exploded"
    async with websockets.connect(url) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason.startswith("type")


async def test_a_listener_too_far_behind_is_dropped_and_told(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    bus = server.services.events
    slow = bus.subscribe(queue_size=3)
    async with simulated(server, http):  # more than three events
        await eventually(lambda: slow.dropped)
    assert bus.listeners == 0 and bus.dropped_listeners == 1
    told = await slow.next(timeout=1)
    assert told is not None and told.type == "listener.dropped"




async def test_a_refused_handshake_is_a_security_event(server: RunningServer) -> None:
    async with sse(server.http_url, {"type": "security.event"}) as seen:
        await eventually(lambda: server.services.events.listeners == 1)
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(f"{server.ocpp_url}/ocpp",
                                          subprotocols=[websockets.Subprotocol("ocpp1.6")]):
                pass
        await eventually(lambda: seen.types() == ["security.event"])
    assert seen.events[0]["data"]["kind"] == "invalid_station_id"
