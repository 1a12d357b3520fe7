"""The simulator against the real server: it obeys what the server sets, meters under
the limit, and keeps or loses its profiles across a Reset as configured."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from app.db.models import MeterValue
from tests.conftest import RunningServer
from tests.e2e.harness import eventually, only, simulated

SID = "PY-SIM-0001"


def tx_default(limit_w: float, stack_level: int = 0) -> dict[str, object]:
    return {"stackLevel": stack_level, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": limit_w}]}}


async def test_metered_power_never_exceeds_the_limit_while_profiles_change(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async def metered() -> list[float]:
        async with server.services.db.uow() as session:
            rows = (await session.scalars(select(MeterValue).where(
                MeterValue.station_id == SID, MeterValue.measurand == "Power.Active.Import")
                .order_by(MeterValue.ts))).all()
        return [r.value for r in rows if r.value is not None]

    async def metered_at(limit: float) -> bool:
        return any(abs(p - limit) < 1.0 for p in await metered())

    await http.post("/id_tags", json={"id_tag": "SIM-TAG", "status": "Accepted"})
    async with simulated(server, http, auto_charge=True, meter_interval=0.1,
                         ev_max_power_w=11000) as sim:
        station = only(sim)
        await eventually(lambda: station.transactions)
        limits = [9000.0, 4200.0, 7400.0, 1500.0]
        for limit in limits:
            sent = await http.post(f"/stations/{SID}/charging_profile",
                                   json={"connector_id": 0, "profile": tx_default(limit)})
            assert sent.json()["status"] == "success"
            # Until the station has metered at this limit (written in batches).
            await eventually(lambda lim=limit: metered_at(lim))
        await http.delete(f"/stations/{SID}/charging_profile")

    async def every_level_seen() -> list[float] | None:
        powers = await metered()
        return powers if all(any(abs(p - limit) < 1.0 for p in powers)
                             for limit in limits) else None

    # Meter values are written in batches: wait for the last ones.
    powers = await eventually(every_level_seen)
    # One sample at least per level; how many more depends on how fast the machine is.
    assert len(powers) >= len(limits)
    assert max(powers) <= 11000.0
    # The simulator checks each sample against the limit in force at that instant.
    assert all(p <= station.config.ev_max_power_w for p in powers)


async def test_a_station_that_loses_its_profiles_on_reset_gets_them_back_on_boot(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """The simulated charger without a profile store forgets its profiles on Reset (its
    own test: tests/integration/test_simulator_reset.py); the boot's reconcile re-sends
    them, so the charger applies its limit again and the composite comparison matches."""
    async with simulated(server, http) as sim:
        station = only(sim)
        await http.post(f"/stations/{SID}/charging_profile",
                        json={"connector_id": 1, "profile": tx_default(7000)})
        assert station.installed_profiles
        boots = station.boots
        answer = await server.services.gateway.call(SID, "Reset", {"type": "Soft"})
        assert answer == {"status": "Accepted"}
        await eventually(lambda: station.boots > boots and station.boot_accepted)
        await eventually(lambda: [p.profile.schedule.periods[0].limit
                                  for p in station.installed_profiles] == [7000])
        report = (await http.get(f"/stations/{SID}/composite_schedule",
                                 params={"connector_id": 1, "duration": 600})).json()
        assert report["matches"] is True
        assert report["schedule"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 7000


async def test_profiles_survive_reset_with_a_profile_store(
    server: RunningServer, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with simulated(server, http, profile_store=tmp_path / "profiles.json") as sim:
        station = only(sim)
        await http.post(f"/stations/{SID}/charging_profile",
                        json={"connector_id": 1, "profile": tx_default(7000)})
        boots = station.boots
        await server.services.gateway.call(SID, "Reset", {"type": "Hard"})
        await eventually(lambda: station.boots > boots and station.boot_accepted)
        assert [p.profile.schedule.periods[0].limit for p in station.installed_profiles] == [7000]
        report = (await http.get(f"/stations/{SID}/composite_schedule",
                                 params={"connector_id": 1, "duration": 600})).json()
        assert report["matches"] is True


async def test_virtual_clock_station_reports_its_own_time(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    start = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    async with simulated(server, http, start_time=start):
        report = (await http.get(f"/stations/{SID}/composite_schedule",
                                 params={"connector_id": 1, "duration": 600})).json()
    reported = datetime.fromisoformat(report["schedule"]["scheduleStart"].replace("Z", "+00:00"))
    assert abs((reported - start).total_seconds()) < 60
    assert report["expected"]["scheduleStart"] == report["schedule"]["scheduleStart"]
    assert report["matches"] is True
