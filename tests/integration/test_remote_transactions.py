"""OCPP 2.0.1 transactions (a string transactionId the station chooses) on the same rows as
OCPP 1.6 ones, through the service the 2.0.1 adapter calls: one list over REST shows both
kinds, a 2.0.1 session's meter values make its meter curve, a repeated Started is the same
session, and Ended stops it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.services.errors import NotFound
from tests.conftest import RunningServer, settled_audit_rows
from tests.ocpp_client import raw_station

REMOTE = "6a0d3f3e-2a41-4c7e-9d1b-1f3b7c2a9e55"  # 36 characters, as 2.0.1 allows


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_201_transaction_shares_the_rows_and_meter_curve_of_16_ones(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    async with raw_station(server.station_url("CP-1")) as cp:
        await cp.boot()
        v16 = await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "OLD",
                                               "meterStart": 0, "timestamp": stamp(started)})
    await http.post("/id_tags", json={"id_tag": "NEW"})
    remote = server.services.remote_transactions
    first = await remote.started("CP-1", REMOTE, evse_id=2, id_token="NEW",
                                 meter_start_wh=1000, started_at=started)
    again = await remote.started("CP-1", REMOTE, evse_id=2, id_token="NEW",
                                 meter_start_wh=1000, started_at=started)
    assert (first.replayed, again.replayed, again.transaction_id) == \
        (False, True, first.transaction_id)
    assert first.id_token_info["status"] == "Accepted"

    # The adapter maps the string to the integer and stores samples as 1.6 does.
    tx_id = await remote.transaction_id("CP-1", REMOTE)
    assert tx_id == first.transaction_id
    await server.services.transactions.meter_values("CP-1", {
        "connectorId": 2, "transactionId": tx_id, "meterValue": [
            {"timestamp": stamp(started + timedelta(minutes=5)), "sampledValue": [
                {"value": "3500", "measurand": "Energy.Active.Import.Register",
                 "unit": "Wh"}]}]})
    await settled_audit_rows(server, "CP-1")

    listed = (await http.get("/stations/CP-1/transactions")).json()["items"]
    assert {t["id"]: (t["connector_id"], t["id_tag"], t["remote_id"]) for t in listed} == {
        v16["transactionId"]: (1, "OLD", None), tx_id: (2, "NEW", REMOTE)}
    curve = (await http.get(f"/transactions/{tx_id}/meter_curve")).json()
    assert [p["energy_wh"] for p in curve["points"]] == [2500.0]

    assert await remote.ended("CP-1", REMOTE, meter_stop_wh=9000,
                              stopped_at=started + timedelta(minutes=9),
                              reason="EVDisconnected") == tx_id
    ended = next(t for t in (await http.get("/transactions?station_id=CP-1")).json()["items"]
                 if t["id"] == tx_id)
    assert (ended["active"], ended["energy_wh"], ended["stop_reason"]) == \
        (False, 8000, "EVDisconnected")
    with pytest.raises(NotFound):
        await remote.ended("CP-1", "never-started", meter_stop_wh=0,
                           stopped_at=started)
