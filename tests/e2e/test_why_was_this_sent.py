"""Every SetChargingProfile and ClearChargingProfile in the audit names the desired row
(the intent) it served, and the "why was this sent?" query of docs/smart-charging.md finds
them, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from jobs.reconcile import reconcile_stations
from tests.conftest import make_settings, settled_audit_rows, start_server, stop_server
from tests.e2e.harness import eventually, simulated
from tests.profiles import TX_DEFAULT_7KW, tx_default_watts

SID = "PY-SIM-0001"
SMART_CHARGING = Path(__file__).resolve().parents[2] / "docs" / "smart-charging.md"


def readme_query() -> str:
    found = re.search(r"```sql\n(SELECT a\.id.*?)```", SMART_CHARGING.read_text(), re.S)
    assert found is not None, "the why-was-this-sent query of docs/smart-charging.md"
    return found.group(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "postgres_head_url")
    return url


async def test_every_profile_call_names_its_intent(database_url: str) -> None:
    running = await start_server(make_settings(database_url))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http) as sim:
            station = sim.stations[SID]
            manual = (await http.post(f"/stations/{SID}/charging_profile", json={
                "connector_id": 1, "profile": TX_DEFAULT_7KW})).json()
            plan = (await http.post("/plans", json={
                "name": "depot", "targets": {"station_ids": [SID]}, "connector_id": 2,
                "profile": tx_default_watts(5000)})).json()
            await eventually(lambda: len(station.installed_profiles) == 2)
            listed = (await http.get(f"/stations/{SID}/charging_profiles")).json()
            planned = next(p["desired_id"] for p in listed if p["owner_kind"] == "plan")
            manual_id = next(p["desired_id"] for p in listed if p["owner_kind"] == "manual")
            # While the rows live, the query names their owners (the owner id as text).
            await settled_audit_rows(running, SID)
            async with running.services.db.core() as conn:
                live = (await conn.execute(text(readme_query()))).all()
            assert {(r.desired_profile_id, r.owner_kind, r.owner_id) for r in live
                    if r.action == "SetChargingProfile"} == {
                (manual_id, "manual", None), (planned, "plan", str(plan["id"]))}
            # A REST clear withdraws the manual row; deleting the plan leaves its profile
            # extra on the station, and the reconcile clears it.
            await http.delete(f"/stations/{SID}/charging_profile",
                              params={"profile_id": manual["profile_id"]})
            await http.delete(f"/plans/{plan['id']}")
            await reconcile_stations(running.services, [SID], "test")
            await eventually(lambda: station.installed_profiles == ())
            await settled_audit_rows(running, SID)
            async with running.services.db.core() as conn:
                rows = (await conn.execute(text(readme_query()))).all()
    finally:
        await stop_server(running)
    seen: list[tuple[Any, ...]] = [(r.action, r.message_type, r.desired_profile_id,
                                    r.owner_kind) for r in rows if r.message_type == "CALL"]
    assert ("SetChargingProfile", "CALL", manual_id, None) in seen  # its row is gone now
    assert ("SetChargingProfile", "CALL", planned, None) in seen
    assert ("ClearChargingProfile", "CALL", manual_id, None) in seen
    assert ("ClearChargingProfile", "CALL", planned, None) in seen
    assert len([s for s in seen if s[0] == "ClearChargingProfile"]) == 2
