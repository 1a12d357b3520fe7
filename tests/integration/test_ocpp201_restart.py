"""A 2.0.1 station names its transactions by its own strings; chargeplan names them by
integers. After chargeplan restarts, a station that reconnects without a new boot is
sent a RequestStopTransaction with its own string at once, not only after its next
TransactionEvent: its first message brings its running transactions' strings from the
database. A real `chargeplan serve` process, stopped and started on the same file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.e2e.harness import eventually
from tests.integration.test_ocpp201_frames import event
from tests.ocpp201 import BOOT_201, RAW_201_ANSWERS, stamp
from tests.ocpp_client import raw_station
from tests.serve_process import ServeProcess

SID = "CP-RESTART"


async def test_a_station_that_reconnects_to_a_restarted_server_can_be_stopped_at_once(
    tmp_path: Path,
) -> None:
    serve = ServeProcess(tmp_path / "restart.db", unknown_id_tag_status="Accepted")
    await asyncio.to_thread(serve.start)
    try:
        answers = {**RAW_201_ANSWERS, "RequestStopTransaction": {"status": "Accepted"}}
        token = {"idToken": "TAG-RS", "type": "ISO14443"}
        at = stamp(datetime.now(UTC).replace(microsecond=0))
        async with raw_station(serve.station_url(SID), subprotocols=["ocpp2.0.1"],
                               answers=answers) as cp:
            await cp.ok("BootNotification", BOOT_201)
            await cp.ok("TransactionEvent", event(
                "Started", 0, at, 100.0, idToken=token, triggerReason="Authorized",
                transactionInfo={"transactionId": "tx-kept-across"}))
        await asyncio.to_thread(serve.terminate)
        await asyncio.to_thread(serve.start)

        async with raw_station(serve.station_url(SID), subprotocols=["ocpp2.0.1"],
                               answers=answers) as cp, httpx.AsyncClient(
                base_url=serve.http_url, timeout=10) as http:
            # Back on its socket, without a boot: a Heartbeat is all it has said.
            await cp.ok("Heartbeat", {})
            (running,) = (await http.get(f"/stations/{SID}/transactions")).json()["items"]
            assert running["remote_id"] == "tx-kept-across" and running["active"]
            stop = await http.post(f"/stations/{SID}/commands/RemoteStopTransaction",
                                   json={"transactionId": running["id"]})
            assert stop.status_code == 200, stop.text
            assert stop.json()["response"] == {"status": "Accepted"}
            sent = await eventually(lambda: [c for c in cp.server_calls
                                             if c[2] == "RequestStopTransaction"])
            assert [c[3] for c in sent] == [{"transactionId": "tx-kept-across"}]
    finally:
        serve.stop()
