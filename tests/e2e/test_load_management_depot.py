"""Load management end to end: a depot of ten simulated stations on a 100 A circuit with
30 A of base load, run from a site file against the real server over websockets.

Two one-phase cars, a car that tapers, a station that ignores its profile. The circuit
meter never reads above the limit for longer than one settle interval; the current the
tapering car leaves goes to the others; every decrease is Accepted before an increase is
sent; with the server gone, after the lease, each charger's own composite schedule is its
safe share; the connector's explanation names what binds it in each state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.models import AuditFrame
from app.domain.profiles import ChargingRateUnit
from app.settings import Settings
from app.simulator.depot import Depot
from app.simulator.site import parse_site
from tests.conftest import RunningServer, make_settings, stop_server
from tests.e2e.harness import eventually

LEASE_S = 600
LIMIT_A = 100.0
METER_INTERVAL_S = 1.0
# A charger that ignores its limit is flagged after three samples and the next re-plan
# takes its excess from the others: a settle interval is that many meter readings.
SETTLE_READINGS = 6


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05,
                         circuit_lease_s=LEASE_S, circuit_replan_interval_s=0.5,
                         reconcile_interval_s=3600, verify_interval_s=3600)


def depot_site(server: RunningServer) -> dict[str, Any]:
    stations: list[dict[str, Any]] = [{"id": f"DEP-{n:02d}", "circuit": "site"}
                                      for n in range(1, 11)]
    stations[3]["phase_rotation"] = "SRT"  # its one-phase car draws on the grid's L2
    stations[5]["faults"] = ["ignore-profile"]
    return {
        "url": server.ocpp_url, "http_url": server.http_url,
        "meter_interval_s": METER_INTERVAL_S,
        "circuits": [{"id": "site", "base_load_a": [30, 30, 30]}],
        "stations": stations,
        "cars": [
            {"id": "VAN-1", "station": "DEP-01", "max_current_a": 32},
            {"id": "VAN-2", "station": "DEP-02", "max_current_a": 32},
            {"id": "ONE-3", "station": "DEP-03", "max_current_a": 32, "phases": 1},
            {"id": "ONE-4", "station": "DEP-04", "max_current_a": 32, "phases": 1},
            # Nearly full: it takes 32 A x (1 - 0.95) / (1 - 0.8) = 8 A, for hours.
            {"id": "FULL-5", "station": "DEP-05", "max_current_a": 32, "soc": 0.95,
             "taper_soc": 0.8, "battery_kwh": 500},
            {"id": "DEAF-6", "station": "DEP-06", "max_current_a": 16},
        ]}


async def allocation(http: httpx.AsyncClient) -> dict[str, Any]:
    answer: dict[str, Any] = (await http.get("/circuits/site/allocation")).json()
    return answer


def sessions(solved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["station_id"]: s for s in solved["sessions"]}


async def binding(http: httpx.AsyncClient, station_id: str) -> str:
    answer = (await http.get(f"/stations/{station_id}/connectors/1/limit")).json()
    return str(answer["binding"])


def longest_run_over(depot: Depot) -> int:
    longest = run = 0
    for reading in depot.readings:
        run = run + 1 if max(reading.total_a) > LIMIT_A else 0
        longest = max(longest, run)
    return longest


async def audit(server: RunningServer) -> list[AuditFrame]:
    async with server.services.db.uow() as session:
        return list((await session.scalars(
            select(AuditFrame).where(AuditFrame.station_id.like("DEP-%"))
            .order_by(AuditFrame.ts, AuditFrame.id))).all())


def decreases_answered_before_increases(frames: list[AuditFrame]) -> None:
    """No TxProfile that raises a transaction's limit goes out while one that lowers a
    limit (or limits a new transaction) is unanswered, and each of those was Accepted."""
    last: dict[int, float] = {}
    open_decreases: set[str] = set()
    for frame in frames:
        if frame.action == "SetChargingProfile" and frame.message_type == "CALL":
            profile = frame.payload["csChargingProfiles"]
            if profile["chargingProfilePurpose"] != "TxProfile":
                continue
            tx = int(profile["transactionId"])
            limit = float(profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"])
            before = last.get(tx)
            if before is None or limit < before:
                open_decreases.add(frame.unique_id or "")
            elif limit > before:
                assert not open_decreases, (frame.station_id, tx, before, limit)
            last[tx] = limit
        elif frame.message_type in ("CALLRESULT", "CALLERROR") \
                and frame.unique_id in open_decreases:
            assert frame.message_type == "CALLRESULT"
            assert frame.payload["status"] == "Accepted", frame.payload
            open_decreases.discard(frame.unique_id)


async def test_a_depot_is_shared_within_its_limit_and_falls_back_to_safe_shares(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    answer = await http.post("/circuits", json={
        "id": "site", "max_current_a": LIMIT_A, "connector_count": 10})
    assert answer.status_code == 201, answer.text
    site = parse_site(depot_site(server))
    for spec in site.stations:
        answer = await http.post("/stations", json={"station_id": spec.id,
                                                    "max_power_w": 32 * 230 * 3})
        assert answer.status_code == 201, answer.text
        answer = await http.patch(f"/stations/{spec.id}", json={
            "circuit_id": "site", "phase_rotation": spec.phase_rotation, "max_current_a": 32})
        assert answer.status_code == 200, answer.text

    async with Depot(site, reconnect_delay=0.2) as depot:
        # Steady: the one-phase cars seen on one phase, the tapering car capped near its
        # draw, the deaf charger flagged and its excess counted as other load.
        async def settled() -> dict[str, Any] | None:
            solved = await allocation(http)
            found = sessions(solved)
            steady = (len(found) == 6
                      and found["DEP-03"]["phases"] == ["L1"]
                      and found["DEP-04"]["phases"] == ["L2"]
                      and found["DEP-05"]["binding"] == "cap"
                      and found["DEP-06"]["over_limit"])
            return solved if steady else None

        await eventually(settled, timeout=120)
        # Some readings more, in the steady state.
        seen = len(depot.readings)
        await eventually(lambda: len(depot.readings) >= seen + SETTLE_READINGS, timeout=60)
        solved = await eventually(settled, timeout=60)
        found = sessions(solved)

        # The tapering car takes ~8 A: capped at its draw x 1.2, and what it leaves goes
        # to the others (each above the 14 A an even split of 70 A in five would give).
        full = found["DEP-05"]
        assert full["demand_cap_a"] is not None and full["demand_cap_a"] <= 10.0
        assert full["limit_a"] == full["demand_cap_a"]
        for station_id in ("DEP-01", "DEP-02", "DEP-03"):
            assert found[station_id]["limit_a"] > 14.0, found[station_id]
        # The deaf charger's excess is other load beyond the 30 A base.
        circuit = solved["circuits"][0]
        assert min(circuit["other_load_a"]) > 30.0
        assert all(h >= 0.0 for h in circuit["headroom_a"])

        # What binds each connector, as its explanation says.
        assert "site L" in await binding(http, "DEP-01")
        assert "cap" in await binding(http, "DEP-05")
        # Idle: only what a car arriving there may draw bounds it.
        assert await binding(http, "DEP-09") == "arrival allowance"

        # Never above the limit longer than one settle interval, from the first solve on.
        assert longest_run_over(depot) <= SETTLE_READINGS, [
            r.total_a for r in depot.readings]
        # Every car drew at most what its charger's own composite offered.
        for station in depot.stations.values():
            for connector_id, plugged in station.cars.items():
                if station.station_id != "DEP-06":
                    assert plugged.amps <= station.limit_a(connector_id) + 1e-9

        decreases_answered_before_increases(await audit(server))
        now = depot.clock.now().replace(microsecond=0)
        await stop_server(server)  # chargeplan is gone; the chargers keep their profiles

        after_lease = now + timedelta(seconds=LEASE_S + 1)
        for station in depot.stations.values():
            composite = station.composite(1, 3600, ChargingRateUnit.A, start=after_lease)
            if station.station_id == "DEP-06":
                # It acknowledged everything and installed nothing: no server can make
                # it safe; it is why the others were held lower.
                assert station.installed_profiles == ()
                continue
            assert [p.limit for p in composite.periods] == [10.0], station.station_id
