"""RemoteStartTransaction with a TxProfile: the transaction it starts is limited by it,
and the server knows it (OCPP 1.6 §5.11, errata §3.41)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from app.db.models import PendingRemoteStart
from app.domain.profiles import ChargingRateUnit
from app.settings import Settings
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually, only, simulated
from tests.ocpp_client import raw_station

SID = "PY-SIM-0001"
TX_10A = {"chargingProfileId": 7, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
          "chargingProfileKind": "Relative",
          "chargingSchedule": {"chargingRateUnit": "A",
                               "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}}


def first_limit(schedule: dict[str, Any]) -> float:
    limit: float = schedule["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
    return limit


async def test_remote_start_with_a_profile_limits_the_session_and_the_server_knows_it(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/id_tags", json={"id_tag": "DEMO", "status": "Accepted"})
    async with simulated(server, http) as sim:
        started = await http.post(f"/stations/{SID}/commands/RemoteStartTransaction", json={
            "idTag": "DEMO", "connectorId": 1, "chargingProfile": TX_10A})
        body = started.json()
        assert started.status_code == 200 and body["response"] == {"status": "Accepted"}
        await eventually(lambda: 1 in only(sim).transactions)
        assert only(sim).composite(1, 60, ChargingRateUnit.A).periods[0].limit == 10

        async def adopted() -> PendingRemoteStart | None:
            async with server.services.db.uow() as session:
                row = await session.get(PendingRemoteStart, body["remote_start_id"])
            return row if row is not None and row.desired_profile_id is not None else None

        link = await eventually(adopted)
        tx_id = only(sim).transactions[1].transaction_id
        assert link.transaction_id == tx_id

        composite = (await http.get(f"/stations/{SID}/composite_schedule", params={
            "connector_id": 1, "duration": 3600, "charging_rate_unit": "A"})).json()
        assert composite["status"] == "success"
        assert first_limit(composite["schedule"]) == 10
        assert first_limit(composite["expected"]) == 10
        assert composite["matches"] is True

        listed = (await http.get(f"/stations/{SID}/charging_profiles")).json()
        assert [(p["desired_id"], p["owner_kind"], p["owner_id"], p["state"],
                 p["profile"]["transactionId"]) for p in listed] == [
            (link.desired_profile_id, "remote_start", link.id, "accepted", tx_id)]
        # Desired and installed agree: reconcile sends nothing.
        assert (await server.services.smart_charging.reconcile(SID)).calls == 0


async def test_a_refused_remote_start_leaves_nothing_waiting(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http):
        await http.post(f"/stations/{SID}/commands/ChangeAvailability",
                        json={"connectorId": 1, "type": "Inoperative"})
        refused = await http.post(f"/stations/{SID}/commands/RemoteStartTransaction", json={
            "idTag": "DEMO", "connectorId": 1, "chargingProfile": TX_10A})
        assert refused.json()["response"] == {"status": "Rejected"}
        assert refused.json()["remote_start_id"] is None
    async with server.services.db.uow() as session:
        assert (await session.scalars(select(PendingRemoteStart))).all() == []


async def test_a_profile_with_a_transaction_id_is_refused_before_sending(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http) as sim:
        answer = await http.post(f"/stations/{SID}/commands/RemoteStartTransaction", json={
            "idTag": "DEMO", "connectorId": 1,
            "chargingProfile": {**TX_10A, "transactionId": 5}})
        assert answer.status_code == 400
        assert answer.json()["extra"][0]["key"].startswith("chargingProfile")
        assert only(sim).transactions == {}


async def start(station: Any, connector_id: int, tag: str) -> dict[str, Any]:
    result: dict[str, Any] = await station.ok("StartTransaction", {
        "connectorId": connector_id, "idTag": tag, "meterStart": 0,
        "timestamp": "2026-11-25T10:00:00Z"})
    return result


async def concurrent_answers(settings: Settings) -> tuple[str, str]:
    server = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            await http.post("/id_tags", json={"id_tag": "TAG-1", "status": "Accepted"})
        async with raw_station(server.station_url("CP-CTX")) as station:
            await station.boot()
            first = await start(station, 1, "TAG-1")
            second = await start(station, 2, "TAG-1")
    finally:
        await stop_server(server)
    return first["idTagInfo"]["status"], second["idTagInfo"]["status"]


async def test_an_unstopped_transaction_does_not_block_its_tag_by_default(
    sqlite_url: str,
) -> None:
    assert await concurrent_answers(make_settings(sqlite_url)) == ("Accepted", "Accepted")


async def test_concurrent_tx_reject_answers_concurrent_tx(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, concurrent_tx="reject")
    assert await concurrent_answers(settings) == ("Accepted", "ConcurrentTx")
