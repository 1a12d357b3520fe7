"""Two `chargeplan serve --node-id` processes on one PostgreSQL: an event stream on either
node carries the events of the stations the other node holds, a large event included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import eventually
from tests.event_clients import Collected, sse, ws
from tests.node_cluster import simulator, start_all
from tests.serve_process import ServeProcess

pytestmark = pytest.mark.postgres

SID = "ON-B-0001"
PROFILE = {"stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Absolute",
           "chargingSchedule": {"chargingRateUnit": "W",
                                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400}]}}
# Enough stations that a plan.applied event naming them all exceeds a NOTIFY payload.
MANY = 400


@pytest.fixture
def two_nodes(postgres_head_url: str, tmp_path: Path
              ) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    a, b = (ServeProcess(tmp_path / name, url=postgres_head_url, args=("--node-id", name),
                         node_heartbeat_s="1", call_timeout_s="5")
            for name in ("node-a", "node-b"))
    try:
        start_all([a, b])
        yield a, b
    finally:
        a.stop()
        b.stop()


def of(events: Collected, kind: str, station_id: str | None = SID) -> list[dict[str, Any]]:
    return [e for e in events.events if e["type"] == kind
            and (station_id is None or e["station_id"] == station_id)]


def upto_accepted(kinds: list[str]) -> list[str]:
    return kinds[:kinds.index("profile.accepted") + 1]


async def wanted_on(http: httpx.AsyncClient) -> bool:
    lines = (await http.get("/metrics")).text.splitlines()
    return "chargeplan_events_wanted_elsewhere 1" in lines


async def test_a_stream_on_one_node_carries_the_events_of_the_other(
        two_nodes: tuple[ServeProcess, ServeProcess]) -> None:
    a, b = two_nodes
    async with httpx.AsyncClient(base_url=a.http_url, timeout=30) as on_a, \
            httpx.AsyncClient(base_url=b.http_url, timeout=30) as on_b:
        # Nobody listens anywhere: node B is not asked for its events.
        assert not await wanted_on(on_b)
        async with sse(a.http_url) as on_a_stream, sse(b.http_url) as on_b_stream, \
                ws(a.http_url, f"station_id={SID}") as on_a_socket:
            # The listener on A says so; B publishes from then on.
            await eventually(lambda: wanted_on(on_b))
            async with simulator(f"ws://127.0.0.1:{b.ocpp_port}", "ON-B-", 1):
                await eventually(lambda: of(on_a_stream, "station.connected"), timeout=30)
                (connected,) = of(on_a_stream, "station.connected")
                assert (await on_a.get(f"/stations/{SID}")).json()["node_id"] == "node-b"

                # A profile posted on node A, delivered by node B: its events reach A.
                posted = await on_a.post(f"/stations/{SID}/charging_profile",
                                         json={"connector_id": 1, "profile": PROFILE})
                assert posted.status_code == 200, posted.text
                await eventually(lambda: of(on_a_stream, "profile.accepted"), timeout=30)
                kinds = [e["type"] for e in on_a_stream.events if e["station_id"] == SID]
                assert kinds.index("station.connected") < kinds.index("profile.accepted")
                # Numbered in A's own sequence, in the order A received them.
                ids = [e["id"] for e in on_a_stream.events]
                assert ids == sorted(ids) and len(set(ids)) == len(ids)
                assert connected["data"] == of(on_b_stream, "station.connected")[0]["data"]
                # The WebSocket on A, filtered to the station, gets them in the same order.
                await eventually(lambda: of(on_a_socket, "profile.accepted"), timeout=30)
                on_socket = [e["type"] for e in on_a_socket.events]
                assert upto_accepted(on_socket) == upto_accepted(kinds)

                # An event larger than a NOTIFY payload goes through the database.
                for n in range(MANY):
                    answer = await on_b.post("/stations", json={
                        "station_id": f"A-RATHER-LONG-STATION-ID-{n:04d}", "tags": ["many"]})
                    assert answer.status_code == 201, answer.text
                plan = await on_b.post("/plans", json={
                    "name": "many", "targets": {"tags": ["many"]}, "profile": PROFILE})
                assert plan.status_code == 201, plan.text
                applied = await eventually(
                    lambda: of(on_a_stream, "plan.applied", None), timeout=30)
                assert len(applied[0]["data"]["stations"]) == MANY
        metrics = (await on_a.get("/metrics")).text
        assert 'chargeplan_node_events_total{direction="received"}' in metrics
        assert 'chargeplan_node_events_total{direction="lost"} 0' in metrics
