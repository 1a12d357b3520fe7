"""Two server processes on one PostgreSQL never send the same call twice."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from app.db.migrate import upgrade
from app.db.models import AuditFrame
from app.domain.ownership import Owner, OwnerKind
from jobs.reconcile import reconcile_stations
from tests.conftest import make_settings, start_server, stop_server
from tests.e2e.harness import eventually
from tests.ocpp_client import raw_station

PROFILE = {"stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Absolute",
           "chargingSchedule": {"chargingRateUnit": "W",
                                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000}]}}
ANSWERS = {"SetChargingProfile": {"status": "Accepted"},
           "ClearChargingProfile": {"status": "Accepted"}}


async def test_both_believing_they_hold_a_station_send_once(postgres_url: str) -> None:
    await asyncio.to_thread(upgrade, postgres_url)
    first = await start_server(make_settings(postgres_url, node_id="node-a"))
    second = await start_server(make_settings(postgres_url, node_id="node-b"))
    try:
        # A reconnect that landed on the other process while the old socket lingers:
        # both processes hold a socket for the same station.
        async with raw_station(first.station_url("CP-DUP"), answers=ANSWERS), \
                raw_station(second.station_url("CP-DUP"), answers=ANSWERS):
            for _ in range(3):
                await first.services.smart_charging.put_managed(
                    "CP-DUP", 1, PROFILE, owner=Owner(OwnerKind.PLAN, 1))
                await asyncio.gather(
                    reconcile_stations(first.services, ["CP-DUP"], "test"),
                    reconcile_stations(second.services, ["CP-DUP"], "test"))
                PROFILE["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] -= 1000  # type: ignore[index]
            # Whatever the changes set off in the background has run its course too.
            await eventually(lambda: not first.services.scheduler.busy
                             and not second.services.scheduler.busy)
    finally:
        await stop_server(first)
        await stop_server(second)
    async with first.services.db.uow() as session:
        sets = await session.scalar(select(func.count()).select_from(AuditFrame).where(
            AuditFrame.action == "SetChargingProfile", AuditFrame.message_type == "CALL"))
    await first.services.db.dispose()
    await second.services.db.dispose()
    # Three changes, each delivered exactly once across both processes.
    assert sets == 3
