"""What a user sees over REST once a real charger has connected over OCPP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import RunningServer
from tests.ocpp_client import raw_station


async def logs_until(http: httpx.AsyncClient, path: str, count: int) -> list[dict[str, Any]]:
    """The audit writer flushes in batches: wait (bounded) until ``count`` frames are stored."""
    for _ in range(200):
        items: list[dict[str, Any]] = (await http.get(path)).json()
        if len(items) >= count:
            return items
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never held {count} frames")


async def test_a_booted_station_is_online_with_its_boot_data_and_connector_status(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    async with raw_station(server.station_url("CP-L1")) as station:
        await station.boot()
        await station.ok(
            "StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"}
        )

        body = (await http.get("/stations/CP-L1")).json()

    assert body["online"] is True
    assert body["connected_at"] is not None
    assert (body["vendor"], body["model"], body["firmware_version"]) == (
        "TestVendor",
        "TM-1",
        "9.9",
    )
    assert [(c["connector_id"], c["status"]) for c in body["connectors"]] == [(1, "Available")]


async def test_station_logs_show_the_boot_exchange_newest_first(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    async with raw_station(server.station_url("CP-L2")) as station:
        await station.boot()
        logs = await logs_until(http, "/stations/CP-L2/logs", 2)

    boot_call = next(
        i for i in logs if i["action"] == "BootNotification" and i["message_type"] == "CALL"
    )
    answer = next(
        i
        for i in logs
        if i["unique_id"] == boot_call["unique_id"] and i["message_type"] == "CALLRESULT"
    )
    assert boot_call["direction"] == "in"
    assert boot_call["payload"]["chargePointVendor"] == "TestVendor"
    assert answer["direction"] == "out"
    assert answer["payload"]["status"] == "Accepted"
    assert [i["id"] for i in logs] == sorted((i["id"] for i in logs), reverse=True)
