"""The fleet table's read model: paged, searched and filtered on the server."""

from __future__ import annotations

import httpx

from tests.conftest import RunningServer
from tests.e2e.harness import simulated


async def test_pages_search_tag_and_state_filters(server: RunningServer,
                                                  http: httpx.AsyncClient) -> None:
    for n in range(120):
        answer = await http.post("/stations", json={
            "station_id": f"CP-{n:04d}", "tags": ["depot"] if n % 3 == 0 else []})
        assert answer.status_code == 201
    async with simulated(server, http, stations=1):
        first = (await http.get("/ui/api/fleet", params={"size": 50})).json()
        assert first["total"] == 121 and len(first["rows"]) == 50
        assert first["rows"][0]["station_id"] == "CP-0000" and first["tags"] == ["depot"]
        last = (await http.get("/ui/api/fleet", params={"size": 50, "page": 3})).json()
        assert [r["station_id"] for r in last["rows"]][-1] == "PY-SIM-0001"
        assert len(last["rows"]) == 21
        online = (await http.get("/ui/api/fleet", params={"state": "online"})).json()
        (sim,) = online["rows"]
        assert sim["station_id"] == "PY-SIM-0001" and sim["online"] is True
        assert [c["connector_id"] for c in sim["connectors"]] == [0, 1, 2]
        assert sim["limit_w"] == 22080.0  # its rating: nothing limits it
        depot = (await http.get("/ui/api/fleet", params={"tag": "depot", "q": "cp-00"})).json()
        assert depot["total"] == 34 and all("depot" in r["tags"] for r in depot["rows"])
    bad = await http.get("/ui/api/fleet", params={"state": "sleeping"})
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "state"
    bad = await http.get("/ui/api/fleet", params={"size": 0})
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "size"
