"""A profile too big for the station is refused at submit time (400), not stored: more
periods than its ChargingScheduleMaxPeriods, or a SetChargingProfile frame larger than
the maximum frame size."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import simulated

SID = "PY-SIM-0001"


def periods(count: int) -> dict[str, Any]:
    return {"stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [
                {"startPeriod": 60 * i, "limit": 7000 + i} for i in range(count)]}}


async def test_more_periods_than_the_station_takes_is_refused(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    async with simulated(server, http, max_periods=24):
        answer = await http.post(f"/stations/{SID}/charging_profile",
                                 json={"connector_id": 1, "profile": periods(25)})
        fits = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": periods(24)})
    assert answer.status_code == 400
    assert "chargingSchedulePeriod" in answer.text and "24" in answer.text
    assert fits.status_code == 200
    stored = (await http.get(f"/stations/{SID}/charging_profiles")).json()
    assert len(stored) == 1  # the refused one was never stored


async def test_a_frame_over_the_maximum_size_is_refused(sqlite_url: str) -> None:
    running = await start_server(make_settings(sqlite_url, max_frame_bytes=8192,
                                                 audit_raw_max_bytes=4096))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http, max_periods=500):
            answer = await http.post(f"/stations/{SID}/charging_profile",
                                     json={"connector_id": 1, "profile": periods(300)})
            stored = (await http.get(f"/stations/{SID}/charging_profiles")).json()
    finally:
        await stop_server(running)
    assert answer.status_code == 400
    assert "maximum frame size of 8192 bytes" in answer.text
    assert stored == []
