"""A MeterValues is answered, the server is SIGKILLed at once, restarted: the frame is in
audit_log and its sample in meter_values. A station never resends what was answered."""

from __future__ import annotations

import json

import pytest

from tests.ocpp_client import raw_station
from tests.serve_process import ServeProcess
from tests.soak.conftest import Size


@pytest.mark.timeout(900)  # ten restarts at full size
async def test_every_answered_meter_values_survives_sigkill(
    serve: ServeProcess, size: Size,
) -> None:
    for n in range(size.kill_rounds):
        unique_id = f"mv-{n}"
        payload = {"connectorId": 1, "meterValue": [{
            "timestamp": f"2026-11-28T02:00:{n:02d}Z",
            "sampledValue": [{"value": str(5000 + n), "unit": "Wh"}]}]}
        async with raw_station(serve.station_url("CP-KILL")) as station:
            await station.send_raw(json.dumps([2, unique_id, "MeterValues", payload]))
            answer = await station.reply(timeout=15)
            serve.kill()  # the next thing after the answer arrives
        assert answer[:2] == [3, unique_id]
        serve.start()
        calls = serve.query("SELECT count(*) FROM audit_log WHERE unique_id = ? "
                            "AND message_type = 'CALL'", unique_id)
        samples = serve.query("SELECT count(*) FROM meter_values WHERE station_id = 'CP-KILL' "
                              "AND value = ?", 5000 + n)
        assert (calls[0][0], samples[0][0]) == (1, 1), f"round {n} lost what was answered"
