"""Transactions over REST, and an energy cap that needs a running one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually, simulated

FIRST, SECOND = "PY-SIM-0001", "PY-SIM-0002"


async def running(http: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    answer = await http.get(path, params={"active": "true"})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def energy_cap(transaction_id: int, connector_id: int = 1) -> dict[str, Any]:
    return {"scenario": "energy_cap", "connector_id": connector_id,
            "transaction_id": transaction_id, "max_energy_wh": 5000,
            "duration_seconds": 3600, "power_limit_w": 7400}


async def test_transactions_are_listed_filtered_and_paged(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    await http.post("/id_tags", json={"id_tag": "SIM-TAG", "status": "Accepted"})
    async with simulated(server, http, stations=2, auto_charge=True):
        both = await eventually(lambda: _count(running(http, "/transactions"), 2))
        assert {t["station_id"] for t in both} == {FIRST, SECOND}
        assert all(t["active"] and t["connector_id"] == 1 and t["energy_wh"] is None
                   for t in both)

        first_page = (await http.get("/transactions", params={"limit": 1})).json()
        second_page = (await http.get("/transactions", params={
            "limit": 1, "cursor": first_page["next_cursor"]})).json()
        assert [t["id"] for t in first_page["items"] + second_page["items"]] == \
            sorted((t["id"] for t in both), reverse=True)
        assert second_page["next_cursor"] is None

        mine = await running(http, f"/stations/{FIRST}/transactions")
        assert [t["station_id"] for t in mine] == [FIRST]
        for params in ({"connector_id": 2}, {"active": "false"},
                       {"since": "2999-01-01T00:00:00Z"}, {"until": "2000-01-01T00:00:00Z"}):
            page = (await http.get("/transactions", params=params)).json()
            assert page["items"] == [], params

    assert (await http.get("/stations/NOPE/transactions")).status_code == 404
    bad = await http.get("/transactions", params={"cursor": "not-ours"})
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "cursor"


async def _count(items: Any, n: int) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await items
    return found if len(found) == n else None


async def _stopped(http: httpx.AsyncClient, transaction_id: int) -> bool:
    page = (await http.get("/transactions", params={"active": "false"})).json()
    return any(t["id"] == transaction_id for t in page["items"])


async def test_energy_cap_goes_to_a_running_transaction_or_is_refused_with_409(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    await http.post("/id_tags", json={"id_tag": "SIM-TAG", "status": "Accepted"})
    async with simulated(server, http, auto_charge=True):
        (tx,) = await eventually(lambda: running(http, f"/stations/{FIRST}/transactions"))

        capped = await http.post(f"/stations/{FIRST}/test_profiles", json=energy_cap(tx["id"]))
        assert capped.status_code == 200, capped.text
        assert capped.json()["status"] == "success"
        assert capped.json()["profile"]["transactionId"] == tx["id"]

        unknown = await http.post(f"/stations/{FIRST}/test_profiles",
                                  json=energy_cap(tx["id"] + 1000))
        assert unknown.status_code == 409, unknown.text
        assert f"transaction {tx['id'] + 1000} is not a transaction of {FIRST}" in \
            unknown.json()["detail"]

        wrong_connector = await http.post(f"/stations/{FIRST}/test_profiles",
                                          json=energy_cap(tx["id"], connector_id=2))
        assert wrong_connector.status_code == 400
        assert wrong_connector.json()["extra"][0]["key"] == "connector_id"

        stop = await http.post(f"/stations/{FIRST}/commands/RemoteStopTransaction",
                               json={"transactionId": tx["id"]})
        assert stop.status_code == 200, stop.text
        await eventually(lambda: _stopped(http, tx["id"]))
        stopped = await http.post(f"/stations/{FIRST}/test_profiles",
                                  json=energy_cap(tx["id"]))
        assert stopped.status_code == 409
        assert "stopped at" in stopped.json()["detail"]
        (done,) = (await http.get("/transactions", params={"active": "false"})).json()["items"]
        assert done["energy_wh"] == done["meter_stop"] - done["meter_start"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        sqlite: str = request.getfixturevalue("sqlite_url")
        return sqlite
    url: str = request.getfixturevalue("postgres_head_url")
    return url


async def test_a_transactions_meter_curve_comes_from_its_stored_samples(
        database_url: str) -> None:
    server = await start_server(make_settings(database_url))
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            await http.post("/id_tags", json={"id_tag": "RFID-1", "status": "Accepted"})
            async with simulated(server, http, meter_interval=0.2) as sim:
                await sim.stations[FIRST].start_transaction(1, "RFID-1")
                (transaction,) = await eventually(
                    lambda: _count(running(http, "/transactions"), 1))
                path = f"/transactions/{transaction['id']}/meter_curve"

                async def curve(least: int) -> dict[str, Any] | None:
                    answer = await http.get(path)
                    assert answer.status_code == 200, answer.text
                    body: dict[str, Any] = answer.json()
                    return body if len(body["points"]) >= least else None

                body = await eventually(lambda: curve(3), timeout=20)
                assert (body["station_id"], body["connector_id"], body["active"]) == (
                    FIRST, 1, True)
                points = body["points"]
                assert [p["at"] for p in points] == sorted(p["at"] for p in points)
                energy = [p["energy_wh"] for p in points]
                assert energy == sorted(energy) and energy[0] >= 0 and energy[-1] > 0
                assert points[-1]["power_w"] > 0 and points[-1]["current_a"] > 0

                newest = (await http.get(path, params={"limit": 2})).json()["points"]
                assert len(newest) == 2 and newest[0]["at"] >= points[-2]["at"]

                await sim.stations[FIRST].stop_transaction(1, "Local")
                stopped = await eventually(lambda: _curve_once_stopped(http, path))
                assert stopped["points"][-1]["energy_wh"] >= energy[-1]

            assert (await http.get("/transactions/999/meter_curve")).status_code == 404
            for limit in (0, 10_001):
                bad = await http.get(path, params={"limit": limit})
                assert bad.status_code == 400, bad.text
                assert bad.json()["extra"][0]["key"] == "limit"
    finally:
        await stop_server(server)


async def _curve_once_stopped(http: httpx.AsyncClient, path: str) -> dict[str, Any] | None:
    body: dict[str, Any] = (await http.get(path)).json()
    return None if body["active"] else body
