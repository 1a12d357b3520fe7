"""Three `chargeplan serve --node-id` processes on one PostgreSQL: any node answers any REST
call for any station, and a node killed with SIGKILL loses nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cluster.request_bus import RequestBus
from app.cluster.routed_gateway import ClusterPeers, RoutedGateway
from app.db.engine import Database
from app.ocpp.gateway import OcppGateway
from app.ocpp.registry import ConnectionRegistry
from app.ocpp.versions import registered_protocols
from tests.e2e.harness import eventually
from tests.node_cluster import (
    NODES,
    sent_twice_within,
    set_profile_calls,
    simulator,
    three_nodes,
)
from tests.serve_process import ServeProcess
from tests.tcp_balancer import TcpBalancer

pytestmark = pytest.mark.postgres

PROFILE = {"stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Absolute",
           "chargingSchedule": {"chargingRateUnit": "W",
                                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400}]}}


@pytest.fixture
def nodes(postgres_head_url: str, tmp_path: Path) -> Iterator[dict[str, ServeProcess]]:
    with three_nodes(postgres_head_url, tmp_path) as processes:
        yield processes


async def held_by(http: httpx.AsyncClient, station_id: str) -> str | None:
    body = (await http.get(f"/stations/{station_id}")).json()
    return body["node_id"] if body["online"] else None


async def test_any_node_answers_for_a_station_another_node_holds(
        nodes: dict[str, ServeProcess]) -> None:
    a, b, c = nodes["node-a"], nodes["node-b"], nodes["node-c"]
    async with httpx.AsyncClient(base_url=a.http_url, timeout=30) as on_a, \
            httpx.AsyncClient(base_url=b.http_url, timeout=30) as on_b, \
            httpx.AsyncClient(base_url=c.http_url, timeout=30) as on_c, \
            simulator(f"ws://127.0.0.1:{c.ocpp_port}", "ON-C-", 2), \
            simulator(f"ws://127.0.0.1:{c.ocpp_port}", "V201-C-", 1, ocpp_version="2.0.1"):

        async def held_by_c() -> bool:
            return all([await held_by(on_a, s) == "node-c"
                        for s in ("ON-C-0001", "ON-C-0002", "V201-C-0001")])

        await eventually(held_by_c, timeout=30)

        # A desired profile posted on node A is delivered by node C at once: the answer
        # is the station's, as on one node.
        started = time.perf_counter()
        posted = await on_a.post("/stations/ON-C-0001/charging_profile",
                                 json={"connector_id": 1, "profile": PROFILE})
        latency = time.perf_counter() - started
        print(f"profile posted on node-a, accepted by a station on node-c: "
              f"{latency * 1000:.0f} ms")
        assert posted.status_code == 200, posted.text
        assert posted.json()["status"] == "success"
        rows = (await on_b.get("/stations/ON-C-0001/charging_profiles")).json()
        assert [r["state"] for r in rows] == ["accepted"]

        # Commands round-trip: the station's reply, the same from any node.
        for client in (on_a, on_b, on_c):
            change = await client.post("/stations/ON-C-0002/commands/ChangeConfiguration",
                                       json={"key": "MeterValueSampleInterval",
                                             "value": "30"})
            assert change.status_code == 200, change.text
            assert change.json()["response"] == {"status": "Accepted"}
        read = {}
        for name, client in (("a", on_a), ("c", on_c)):
            answer = await client.post("/stations/ON-C-0002/commands/GetConfiguration",
                                       json={"key": ["MeterValueSampleInterval"]})
            assert answer.status_code == 200, answer.text
            read[name] = answer.json()["response"]
        assert read["a"] == read["c"]
        assert read["a"]["configurationKey"][0]["value"] == "30"

        # A 2.0.1 station's report of what it holds (K09: the GetChargingProfiles answer
        # and the ReportChargingProfiles pages that follow it, which reach node C only)
        # is collected where the station is and answered on any node.
        posted = await on_a.post("/stations/V201-C-0001/charging_profile",
                                 json={"connector_id": 1, "profile": PROFILE})
        assert posted.status_code == 200 and posted.json()["status"] == "success", posted.text
        for request_id, client in enumerate((on_a, on_b), start=70):
            asked = await client.post("/stations/V201-C-0001/commands/GetChargingProfiles",
                                      json={"requestId": request_id, "chargingProfile": {
                                          "chargingProfilePurpose": "TxDefaultProfile"}})
            assert asked.status_code == 200, asked.text
            report = asked.json()
            assert report["response"] == {"status": "Accepted"}
            assert report["report_complete"] is True
            assert [(r["evseId"], r["chargingLimitSource"],
                     r["chargingProfile"]["chargingProfilePurpose"],
                     r["chargingProfile"]["stackLevel"])
                    for r in report["reported"]] == [(1, "CSO", "TxDefaultProfile", 1)], report

        # A station nobody holds, and bad input, get the answers of one node.
        created = await on_a.post("/stations", json={"station_id": "NOBODY-1"})
        assert created.status_code == 201, created.text
        offline = [await client.post("/stations/NOBODY-1/commands/ClearCache", json={})
                   for client in (on_a, on_c)]
        assert offline[0].status_code == offline[1].status_code == 409
        assert offline[0].json()["error"] == offline[1].json()["error"]
        assert offline[0].json()["error"]["kind"] == "offline"
        bad = [await client.post("/stations/ON-C-0002/commands/ChangeConfiguration",
                                 json={"key": "MeterValueSampleInterval"})
               for client in (on_a, on_c)]
        assert bad[0].status_code == bad[1].status_code == 400
        assert bad[0].json() == bad[1].json()

        # /nodes on any node: three live nodes, node C with its two stations.
        listing = {n["id"]: n for n in (await on_b.get("/nodes")).json()}
        assert set(listing) == set(NODES)
        assert all(n["alive"] for n in listing.values())
        assert listing["node-c"]["stations"] == 3
        assert listing["node-b"]["this_node"] and not listing["node-a"]["this_node"]

        # /metrics of each node: A sent calls to C's stations, C carried them out.
        metrics_a = (await on_a.get("/metrics")).text
        metrics_c = (await on_c.get("/metrics")).text
        assert 'chargeplan_node_requests_total{outcome="ok",side="routed"}' in metrics_a
        assert 'chargeplan_node_requests_total{outcome="call",side="served"}' in metrics_c


async def test_a_killed_node_s_stations_move_and_keep_their_profiles(
        nodes: dict[str, ServeProcess], postgres_head_url: str) -> None:
    a = nodes["node-a"]
    balancer = TcpBalancer([p.ocpp_port for p in nodes.values()])
    await balancer.start()
    count = 9
    ids = [f"LB-{i:04d}" for i in range(1, count + 1)]
    try:
        async with httpx.AsyncClient(base_url=a.http_url, timeout=30) as on_a, \
                simulator(balancer.url(), "LB-", count):

            async def all_held() -> dict[str, str] | None:
                owners = {s: await held_by(on_a, s) for s in ids}
                return owners if all(owners.values()) else None

            owners = await eventually(all_held, timeout=30)
            assert set(owners.values()) == set(NODES)  # round robin: spread over all three

            # A plan for every station, created on node A: each owner delivers it.
            plan = await on_a.post("/plans", json={
                "name": "fleet", "targets": {"station_ids": ids}, "profile": PROFILE})
            assert plan.status_code == 201, plan.text
            plan_id = plan.json()["id"]

            async def plan_state(*wanted: str) -> bool:
                status = (await on_a.get(f"/plans/{plan_id}/status")).json()
                return all(s["state"] == wanted[0] and (len(wanted) == 1 or
                                                        s["verification_state"] == wanted[1])
                           for s in status["stations"])

            await eventually(lambda: plan_state("accepted"), timeout=30)

            victim = "node-c"
            moved = sorted(s for s, node in owners.items() if node == victim)
            nodes[victim].kill()

            async def moved_elsewhere() -> bool:
                now = [await held_by(on_a, s) for s in moved]
                return all(n in ("node-a", "node-b") for n in now)

            await eventually(moved_elsewhere, timeout=30)

            async def victim_gone() -> bool:
                listing = {n["id"]: n for n in (await on_a.get("/nodes")).json()}
                return not listing[victim]["alive"] and listing[victim]["stations"] == 0

            await eventually(victim_gone, timeout=30)

            # Nothing acknowledged before the kill is lost; the stations that moved are
            # given it again after their boot and verified.
            try:
                await eventually(lambda: plan_state("accepted", "verified"), timeout=60)
            except AssertionError:
                print((await on_a.get(f"/plans/{plan_id}/status")).text)
                raise

            # A node stopped as in a rolling restart (SIGTERM) closes its sockets with
            # 1001 and leaves: its stations reconnect to the last node at once.
            nodes["node-b"].terminate()

            async def all_on_a() -> bool:
                return all([await held_by(on_a, s) == "node-a" for s in ids])

            await eventually(all_on_a, timeout=30)
            listing = {n["id"] for n in (await on_a.get("/nodes")).json()}
            assert "node-b" not in listing
            assert await plan_state("accepted")
    finally:
        await balancer.stop()

    assert sent_twice_within(await set_profile_calls(postgres_head_url), 1.0) == {}


async def test_a_fleet_job_runs_on_one_node_at_a_time(postgres_head_url: str) -> None:
    databases = [Database(postgres_head_url), Database(postgres_head_url)]
    first, second = (
        ClusterPeers(RoutedGateway(OcppGateway(ConnectionRegistry(), registered_protocols()), db,
                                   bus := RequestBus(db, name), stale_after_s=3,
                                   call_timeout_s=5), bus, db)
        for db, name in zip(databases, ("node-a", "node-b"), strict=True))
    running, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def long_job() -> None:
        runs.append("a")
        running.set()
        await release.wait()

    async def job_b() -> None:
        runs.append("b")

    try:
        held = asyncio.create_task(first.once("tariff:1", long_job))
        await running.wait()
        # While node A runs it, node B's timer leaves it alone; another job still runs.
        assert await second.once("tariff:1", job_b) is False
        assert await second.once("tariff:2", job_b) is True
        release.set()
        assert await held is True
        # Done: the lock went with A's transaction.
        assert await second.once("tariff:1", job_b) is True
        assert runs == ["a", "b", "b"]
    finally:
        for db in databases:
            await db.dispose()
