"""A 2.0.1 station's TxProfile after the station booted: it goes out only for a
transaction the station still reports (OCPP 2.0.1 K01.FR.03, K01.FR.09). A raw 2.0.1
station on the real server, over loopback, with a SQLite file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually
from tests.ocpp201 import BOOT_201, RAW_201_ANSWERS, energy, stamp
from tests.ocpp_client import RawStation, raw_station

SID = "CP-TX-BOOT"
TOKEN = {"idToken": "TAG-1", "type": "ISO14443"}
WAIT = 60.0  # bounds a failure only


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    # Only the runs a test causes: no interval reconcile or verify in between.
    running = await start_server(make_settings(
        sqlite_url, unknown_id_tag_status="Accepted", reconcile_interval_s=3600,
        verify_interval_s=3600))
    try:
        yield running
    finally:
        await stop_server(running)


def station(server: RunningServer) -> Any:
    return raw_station(server.station_url(SID), subprotocols=["ocpp2.0.1"], answers={
        **RAW_201_ANSWERS, "SetChargingProfile": {"status": "Accepted"},
        "GetChargingProfiles": {"status": "NoProfiles"},
        "GetCompositeSchedule": {"status": "Rejected"}})


def event(event_type: str, seq_no: int, wh: float, **extra: Any) -> dict[str, Any]:
    at = stamp(datetime.now(UTC).replace(microsecond=0))
    return {"eventType": event_type, "timestamp": at, "seqNo": seq_no,
            "triggerReason": "MeterValuePeriodic",
            "transactionInfo": {"transactionId": "tx-before-boot"},
            "evse": {"id": 1, "connectorId": 1}, "meterValue": energy(at, wh), **extra}


def tx_profiles_sent(cp: RawStation) -> list[dict[str, Any]]:
    return [c[3] for c in cp.server_calls if c[2] == "SetChargingProfile"
            and c[3]["chargingProfile"]["chargingProfilePurpose"] == "TxProfile"]


async def job_ids(http: httpx.AsyncClient) -> set[int]:
    return {r["id"] for r in (await http.get("/jobs", params={"job": "reconcile"})).json()}


async def reconciled(http: httpx.AsyncClient, before: set[int], trigger: str) -> bool:
    runs = (await http.get("/jobs", params={"job": "reconcile"})).json()
    return any(r["id"] not in before and r["trigger"] == trigger and r["finished_at"]
               for r in runs)


async def test_a_tx_profile_waits_after_a_boot_until_its_transaction_is_reported(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with station(server) as cp:
        await cp.ok("BootNotification", BOOT_201)
        await cp.ok("TransactionEvent", event("Started", 0, 1000.0, idToken=TOKEN,
                                              triggerReason="Authorized"))
    (tx,) = (await http.get(f"/stations/{SID}/transactions",
                            params={"active": "true"})).json()["items"]
    # The station is away when its transaction gets a TxProfile: kept for it.
    sent = await http.post(f"/stations/{SID}/charging_profile", json={
        "connector_id": 1, "profile": {
            "chargingProfileId": 70, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative", "transactionId": tx["id"],
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 10}]}}})
    assert sent.json()["status"] == "pending", sent.text

    before = await job_ids(http)
    async with station(server) as cp:
        await cp.ok("BootNotification", BOOT_201)
        await eventually(lambda: reconciled(http, before, "boot"), timeout=WAIT)
        # Booted and silent about the transaction: it may have ended with the boot, and
        # a TxProfile for an EVSE with no transaction is rejected (K01.FR.09).
        assert tx_profiles_sent(cp) == []
        profiles = (await http.get(f"/stations/{SID}/charging_profiles")).json()
        assert [p["state"] for p in profiles] == ["pending"], profiles

        # The station tells of it: it still runs, and its TxProfile goes out.
        assert await cp.ok("TransactionEvent", event("Updated", 1, 1500.0)) == {}
        await eventually(lambda: tx_profiles_sent(cp), timeout=WAIT)
        (request,) = tx_profiles_sent(cp)
        assert (request["evseId"], request["chargingProfile"]["id"],
                request["chargingProfile"]["transactionId"]) == (1, 70, "tx-before-boot")
