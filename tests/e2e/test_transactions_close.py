"""A connector runs one transaction at a time: a StartTransaction on a connector whose
transaction never stopped closes that one, and its TxProfile is never sent again."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.models import Transaction
from jobs.reconcile import reconcile_stations, verify_stations
from tests.conftest import RunningServer, settled_audit_rows
from tests.ocpp_client import raw_station

SID = "CP-TWICE"
ANSWERS = {"SetChargingProfile": {"status": "Accepted"},
           "ClearChargingProfile": {"status": "Accepted"},
           "GetCompositeSchedule": {"status": "Rejected"}}


def tx_profile(transaction_id: int) -> dict[str, Any]:
    return {"stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative", "transactionId": transaction_id,
            "chargingSchedule": {"chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}}


async def start(cp: Any, minute: int) -> int:
    answer = await cp.ok("StartTransaction", {
        "connectorId": 1, "idTag": "TAG-1", "meterStart": minute * 100,
        "timestamp": f"2026-11-28T01:{minute:02d}:00Z"})
    transaction_id: int = answer["transactionId"]
    return transaction_id


async def test_a_second_start_closes_the_first_and_its_tx_profile_is_never_sent_again(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    async with raw_station(server.station_url(SID), answers=ANSWERS) as cp:
        await cp.boot()
        first = await start(cp, 10)
        sent = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": tx_profile(first)})
        assert sent.json()["status"] == "success", sent.text
        second = await start(cp, 20)  # no StopTransaction in between
        await reconcile_stations(server.services, None, "interval", force=True)
        await verify_stations(server.services, None, "interval")
        late = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": tx_profile(first)})
        rows = await settled_audit_rows(server, SID)
    async with server.services.db.uow() as session:
        closed = await session.get(Transaction, first)
        running = await session.get(Transaction, second)
    assert closed is not None and running is not None
    assert closed.stop_reason == "Superseded" and closed.meter_stop is None
    assert closed.stopped_at == running.started_at and running.stopped_at is None
    assert (await http.get(f"/stations/{SID}/charging_profiles")).json() == []
    assert late.status_code == 400 and "transactionId" in late.text
    sets_for_first = [r for r in rows if r.direction == "out" and r.message_type == "CALL"
                      and r.action == "SetChargingProfile"
                      and r.payload["csChargingProfiles"].get("transactionId") == first]
    assert len(sets_for_first) == 1  # the one REST asked for; never again
    # The charger dropped it with its transaction: nothing is cleared either.
    assert not [r for r in rows if r.direction == "out" and r.action == "ClearChargingProfile"]
