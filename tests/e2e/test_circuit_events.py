"""A circuit's re-plan is a live event: each session's new limit and what binds it."""

from __future__ import annotations

import httpx
import pytest

from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually, simulated
from tests.event_clients import sse


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05)


async def test_a_car_starting_and_stopping_replans_its_circuit_live(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/circuits", json={"id": "site", "max_current_a": 32, "connector_count": 2})
    async with simulated(server, http, stations=2, connectors=1, id_prefix="LM-") as sim:
        for station_id in sim.stations:
            assert (await http.patch(f"/stations/{station_id}",
                                     json={"circuit_id": "site"})).status_code == 200
        first, second = sim.stations["LM-0001"], sim.stations["LM-0002"]
        async with sse(server.http_url, {"circuit_id": "site"}) as seen:
            await eventually(lambda: server.services.events.listeners == 1)
            await first.start_transaction(1, "TAG-1")
            await second.start_transaction(1, "TAG-2")

            def shares() -> list[list[tuple[str, float]]]:
                return [sorted((s["station_id"], s["limit_a"]) for s in e["data"]["sessions"])
                        for e in seen.events if e["type"] == "circuit.replanned"]

            # Two cars on 32 A: 16 A each, and the circuit is what binds them.
            await eventually(lambda: [("LM-0001", 16.0), ("LM-0002", 16.0)] in shares())
            await second.stop_transaction(1, "Local")
            # The car that stopped leaves the whole circuit to the other.
            await eventually(lambda: shares()[-1] == [("LM-0001", 32.0)])
        replans = [e for e in seen.events if e["type"] == "circuit.replanned"]
        assert all(e["circuit_id"] == "site" for e in seen.events)
        both = next(e for e in replans if len(e["data"]["sessions"]) == 2)
        assert [s["binding"] for s in both["data"]["sessions"]] == ["site L1", "site L1"]
        assert {s["circuit_id"] for s in both["data"]["sessions"]} == {"site"}
