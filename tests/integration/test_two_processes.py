"""Two server processes on one PostgreSQL never send the same call twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from app.db.models import AuditFrame, InstalledProfileRecord
from app.db.node_models import NodeRequest
from app.domain.ownership import Owner, OwnerKind
from app.simulator import Simulator, SimulatorConfig
from jobs.reconcile import reconcile_stations
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually
from tests.ocpp_client import RawStation, raw_station

PROFILE = {"stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Absolute",
           "chargingSchedule": {"chargingRateUnit": "W",
                                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000}]}}
ANSWERS = {"SetChargingProfile": {"status": "Accepted"},
           "ClearChargingProfile": {"status": "Accepted"}}


async def test_both_believing_they_hold_a_station_send_once(postgres_head_url: str) -> None:
    first = await start_server(make_settings(postgres_head_url, node_id="node-a"))
    second = await start_server(make_settings(postgres_head_url, node_id="node-b"))
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


async def test_a_clear_asked_of_another_node_runs_on_the_owner_under_its_lock(
        postgres_head_url: str) -> None:
    first = await start_server(make_settings(postgres_head_url, node_id="node-a"))
    second = await start_server(make_settings(postgres_head_url, node_id="node-b"))
    station_id = "CLR-0001"
    try:
        async with httpx.AsyncClient(base_url=first.http_url, timeout=30) as on_a, \
                Simulator(SimulatorConfig(url=second.ocpp_url, id_prefix="CLR-",
                                          reconnect_delay=0.2)) as sim:
            station = sim.stations[station_id]

            async def held_by_b() -> bool:
                body = (await on_a.get(f"/stations/{station_id}")).json()
                return bool(body["online"]) and body["node_id"] == "node-b"

            await eventually(held_by_b)
            posted = await on_a.post(f"/stations/{station_id}/charging_profile",
                                     json={"connector_id": 1, "profile": PROFILE})
            assert posted.status_code == 200 and posted.json()["status"] == "success"
            profile_id = posted.json()["profile_id"]
            assert [p.profile.charging_profile_id for p in station.installed_profiles] \
                == [profile_id]

            # While node B works on the station (its lock held), the clear asked of node A
            # waits on B: nothing is sent, nothing is forgotten.
            lock = second.services.smart_charging.lock(station_id)
            async with lock:
                clearing = asyncio.create_task(on_a.delete(
                    f"/stations/{station_id}/charging_profile",
                    params={"profile_id": profile_id}))
                await eventually(lambda: _claimed(second, "clear"))
                assert len(station.installed_profiles) == 1
                assert await _mirrored(first, station_id) == [profile_id]
            cleared = await clearing
            assert cleared.status_code == 200, cleared.text
            body = cleared.json()
            assert body["status"] == "success"
            assert [c["profile_id"] for c in body["cleared"]] == [profile_id]

            # The station, the desired state and the mirror agree: nothing left, and B's
            # next reconcile of the station has nothing to send.
            assert station.installed_profiles == ()
            assert await _mirrored(first, station_id) == []
            listed = (await on_a.get(f"/stations/{station_id}/charging_profiles")).json()
            assert listed == []
            metrics = (await on_a.get(f"{second.http_url}/metrics")).text
            assert 'chargeplan_node_requests_total{outcome="clear",side="served"} 1' in metrics
            calls = await _calls(first, station_id)
            await reconcile_stations(second.services, [station_id], "test")
            assert await _calls(first, station_id) == calls
    finally:
        await stop_server(first)
        await stop_server(second)
        await first.services.db.dispose()
        await second.services.db.dispose()


async def _claimed(server: RunningServer, kind: str) -> bool:
    async with server.services.db.uow() as session:
        state = await session.scalar(select(NodeRequest.state).where(NodeRequest.kind == kind))
    return state == "running"


async def _mirrored(server: RunningServer, station_id: str) -> list[int]:
    async with server.services.db.uow() as session:
        return list((await session.scalars(
            select(InstalledProfileRecord.charging_profile_id)
            .where(InstalledProfileRecord.station_id == station_id))).all())


async def _calls(server: RunningServer, station_id: str) -> int:
    async with server.services.db.uow() as session:
        return int(await session.scalar(
            select(func.count()).select_from(AuditFrame).where(
                AuditFrame.station_id == station_id, AuditFrame.message_type == "CALL",
                AuditFrame.direction == "out")) or 0)


async def test_a_circuit_over_two_nodes_is_replanned_once_and_delivered_by_each_owner(
        postgres_head_url: str) -> None:
    quiet = dict(unknown_id_tag_status="Accepted", circuit_debounce_s=0.05,
                 reconcile_interval_s=3600, verify_interval_s=3600,
                 circuit_replan_interval_s=1700, circuit_lease_s=3600)
    first = await start_server(make_settings(postgres_head_url, node_id="node-a", **quiet))
    second = await start_server(make_settings(postgres_head_url, node_id="node-b", **quiet))
    try:
        async with httpx.AsyncClient(base_url=first.http_url, timeout=30) as on_a, \
                raw_station(first.station_url("CIR-A"), answers=dict(ANSWERS)) as a, \
                raw_station(second.station_url("CIR-B"), answers=dict(ANSWERS)) as b:
            for cp in (a, b):
                await cp.boot()
            created = await on_a.post("/circuits", json={"id": "site", "max_current_a": 32,
                                                         "connector_count": 2})
            assert created.status_code == 201, created.text
            for name in ("CIR-A", "CIR-B"):
                patched = await on_a.patch(f"/stations/{name}", json={"circuit_id": "site"})
                assert patched.status_code == 200, patched.text

            # A session on each node's station: the second halves the first's share, and
            # the re-plan, wherever it runs, has the node holding the other station send
            # that station its share at once.
            await _start(a)
            await eventually(lambda: _tx_limits(a) == [32.0])
            await _start(b)
            await eventually(lambda: _tx_limits(a)[-1:] == [16.0] and _tx_limits(b) == [16.0])
            served = [(await on_a.get(f"{node.http_url}/metrics")).text
                      for node in (first, second)]
            assert any('chargeplan_node_requests_total{outcome="reconcile",side="served"}'
                       in text for text in served)

            # Both nodes re-plan the tree at the same moment, after a change of its limit:
            # one re-plan stores and sends the new shares, the other finds them in place.
            changed = await on_a.patch("/circuits/site", json={"max_current_a": 20})
            assert changed.status_code == 200, changed.text
            await asyncio.gather(first.services.load.replan("site", "test"),
                                 second.services.load.replan("site", "test"))
            await eventually(lambda: _tx_limits(a)[-1:] == [10.0]
                             and _tx_limits(b)[-1:] == [10.0])
            await eventually(lambda: not first.services.scheduler.busy
                             and not second.services.scheduler.busy)
            assert _tx_limits(a).count(10.0) == 1 and _tx_limits(b).count(10.0) == 1
    finally:
        await stop_server(first)
        await stop_server(second)
        await first.services.db.dispose()
        await second.services.db.dispose()


async def _start(cp: RawStation) -> None:
    await cp.ok("StartTransaction", {
        "connectorId": 1, "idTag": "T", "meterStart": 0,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})


def _tx_limits(cp: RawStation) -> list[float]:
    """The first-period limit of every TxProfile the station was sent, in order."""
    return [float(frame[3]["csChargingProfiles"]["chargingSchedule"]
                  ["chargingSchedulePeriod"][0]["limit"])
            for frame in cp.server_calls if frame[2] == "SetChargingProfile"
            and frame[3]["csChargingProfiles"]["chargingProfilePurpose"] == "TxProfile"]
