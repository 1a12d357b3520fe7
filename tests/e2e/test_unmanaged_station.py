"""A station marked unmanaged receives nothing chargeplan was not asked for over REST,
even when it boots, a plan targets it and the interval jobs run."""

from __future__ import annotations

import httpx

from jobs.reconcile import reconcile_stations, verify_stations
from tests.conftest import (
    RunningServer,
    make_settings,
    settled_audit_rows,
    start_server,
    stop_server,
)
from tests.e2e.harness import eventually, only, simulated
from tests.profiles import TX_DEFAULT_7KW, tx_default_watts

SID = "PY-SIM-0001"


def calls_out(rows: list[object]) -> list[str]:
    return [r.action for r in rows  # type: ignore[attr-defined]
            if r.direction == "out" and r.message_type == "CALL"]  # type: ignore[attr-defined]


async def test_an_unmanaged_station_that_boots_gets_only_what_rest_asks(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    assert (await http.post("/stations", json={"station_id": SID})).status_code == 201
    patched = await http.patch(f"/stations/{SID}", json={"managed": False})
    assert patched.status_code == 200 and patched.json()["managed"] is False
    plan = await http.post("/plans", json={
        "name": "depot", "targets": {"station_ids": [SID]}, "profile": TX_DEFAULT_7KW})
    assert plan.status_code == 201, plan.text
    async with simulated(server, http, register=False, wait_configuration=False) as sim:
        station = only(sim)
        await reconcile_stations(server.services, None, "interval")
        await verify_stations(server.services, None, "interval")
        # A run over every station, even one asked for over REST, does not name it.
        await reconcile_stations(server.services, None, "api")
        unasked = calls_out(await settled_audit_rows(server, SID))
        assert station.installed_profiles == ()
        # Over REST it still goes.
        sent = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": tx_default_watts(5000)})
        assert sent.json()["status"] == "success"
        asked = calls_out(await settled_audit_rows(server, SID))
        # Managed again: what the plan kept waiting is delivered.
        await http.patch(f"/stations/{SID}", json={"managed": True})
        await eventually(lambda: len(station.installed_profiles) == 2)
    assert unasked == []
    assert asked == ["SetChargingProfile"]


async def test_managed_must_be_a_boolean(server: RunningServer,
                                         http: httpx.AsyncClient) -> None:
    await http.post("/stations", json={"station_id": SID})
    answer = await http.patch(f"/stations/{SID}", json={"managed": "no"})
    assert answer.status_code == 400
    assert "managed" in answer.text


async def test_with_the_scheduler_disabled_a_boot_starts_no_job(sqlite_url: str) -> None:
    running = await start_server(make_settings(sqlite_url, scheduler_enabled=False))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http:
            await http.post("/stations", json={"station_id": SID})
            plan = await http.post("/plans", json={
                "name": "depot", "targets": {"station_ids": [SID]},
                "profile": TX_DEFAULT_7KW})
            assert plan.status_code == 201
            async with simulated(running, http, register=False) as sim:
                station = only(sim)
                # The configuration read after a boot is its own setting; no job ran.
                unasked = calls_out(await settled_audit_rows(running, SID))
                assert station.installed_profiles == ()
                # A run asked for over REST still goes.
                asked = await http.post("/jobs/reconcile/run")
                assert asked.status_code == 202
                await eventually(lambda: len(station.installed_profiles) == 1)
    finally:
        await stop_server(running)
    assert unasked == ["GetConfiguration"]
