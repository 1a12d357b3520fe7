"""Live planning: a session with a need is planned ahead by the load manager, and the
whole plan reaches the charger as its TxProfile's periods."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import utcnow
from app.domain.profiles import ChargingRateUnit, parse_datetime
from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually, serving, simulated

# Ten minutes before the cheap hour (16:00-17:00 UTC) of the day's prices.
START = datetime(2026, 6, 1, 15, 50, tzinfo=UTC)
CHEAP_HOUR = 16
CHEAP = datetime(2026, 6, 1, CHEAP_HOUR, tzinfo=UTC)
DEPARTURE = CHEAP + timedelta(hours=1)
PRICES = [0.10 if hour == CHEAP_HOUR else 0.40 for hour in range(24)]
SID = "PLN-0001"


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    # A lease of two hours: the charger holds the plan until after the cheap hour.
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05,
                         circuit_lease_s=7200, reconcile_interval_s=3600,
                         verify_interval_s=3600)


@pytest.fixture
async def plan_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """The server with its clock at START, like the simulator's."""
    offset = START - utcnow()
    async with serving(settings, lambda: utcnow() + offset) as running:
        yield running


@pytest.fixture
async def plan_http(plan_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=plan_server.http_url, timeout=10) as client:
        yield client


async def session_of(http: httpx.AsyncClient) -> dict[str, Any] | None:
    solved = (await http.get("/circuits/site/allocation")).json()
    return solved["sessions"][0] if solved["sessions"] else None


async def planned_for(http: httpx.AsyncClient, transaction_id: int, energy_kwh: float,
                      departure: str) -> dict[str, Any]:
    """Ask for the energy by the departure; the session once the planner decides it."""
    need = await http.put(f"/transactions/{transaction_id}/needs", json={
        "energy_kwh": energy_kwh, "departure": departure})
    assert need.status_code == 200, need.text

    async def planned() -> dict[str, Any] | None:
        found = await session_of(http)
        return found if found and found.get("decided_by") == "planner" else None

    session: dict[str, Any] = await eventually(planned, timeout=60)
    return session


async def test_the_charger_follows_the_plan_into_the_cheap_hour(
    plan_server: RunningServer, plan_http: httpx.AsyncClient
) -> None:
    http = plan_http
    assert (await http.post("/circuits", json={"id": "site", "max_current_a": 32})
            ).status_code == 201
    async with simulated(plan_server, http, stations=1, connectors=1, id_prefix="PLN-",
                         start_time=START) as sim:
        station = sim.stations[SID]
        assert (await http.patch(f"/stations/{SID}", json={"circuit_id": "site"})
                ).status_code == 200
        tariff = await http.post("/tariffs", json={
            "name": "day ahead", "timezone": "UTC", "unit": "A", "windows": [],
            "default_limit": 32, "targets": {"station_ids": [SID]}})
        assert tariff.status_code == 201, tariff.text
        prices = await http.post(f"/tariffs/{tariff.json()['id']}/prices",
                                 json={"date": "2026-06-01", "prices": PRICES})
        assert prices.status_code in (200, 201), prices.text
        await station.start_transaction(1, "VAN-1")
        # No need yet: the water level gives the car the whole circuit.
        first = await eventually(lambda: session_of(http), timeout=60)
        await eventually(lambda: station.limit_a(1) == 32.0, timeout=60)
        assert first["decided_by"] == "water level: no session has needs"

        # 8 kWh by 17:00: the cheap hour alone holds it (8 kWh / 690 W per A = 11.6 A).
        session = await planned_for(http, first["transaction_id"], 8, "2026-06-01T17:00:00Z")
        assert session["need_source"] == "request"
        assert session["planned_kwh"] == pytest.approx(8.0, abs=0.1)
        assert session["shortfall_kwh"] == pytest.approx(0.0, abs=0.05)
        assert session.get("shortfall_reason") is None  # absent: it falls short of nothing

        # The charger holds the plan: nothing before the cheap hour, enough within it.
        await eventually(lambda: station.limit_a(1) == 0.0, timeout=60)
        now = station.clock.now().replace(microsecond=0) + timedelta(seconds=1)
        composite = station.composite(1, int((DEPARTURE - now).total_seconds()),
                                      ChargingRateUnit.A, start=now)
        limits = [(now + timedelta(seconds=p.start_period), p.limit)
                  for p in composite.periods]
        assert all(limit == 0.0 for at, limit in limits if at < CHEAP)
        assert max(limit for at, limit in limits if at >= CHEAP) >= 11.6
        energy_kwh = sum(
            limit * 3 * 230 / 1000 * (
                ((limits[i + 1][0] if i + 1 < len(limits) else DEPARTURE) - at)
                .total_seconds() / 3600)
            for i, (at, limit) in enumerate(limits))
        assert energy_kwh == pytest.approx(8.0, abs=0.2)

        # The plan over the horizon: prices, the circuit's limit and the current per slot.
        plan = (await http.get("/circuits/site/plan")).json()
        assert plan["decided_by"] == "planner"
        slots = plan["slots"]
        cheap_slots = [i for i, s in enumerate(slots)
                       if s["start"].startswith(f"2026-06-01T{CHEAP_HOUR}:")]
        # (Slots start on the clock's quarter hours, within the second the plan began in.)
        assert [slots[i]["price_per_kwh"] for i in cheap_slots] == pytest.approx(
            [0.1] * 4, abs=0.001)
        assert slots[0]["limits"] == [{"circuit_id": "site", "max_current_a": [32.0] * 3,
                                       "max_power_kw": None}]
        (planned_session,) = plan["sessions"]
        assert planned_session["current_a"][0] == 0.0
        assert len(planned_session["current_a"]) == len(slots)

        # Withdrawn, the need falls back to none: the water level decides again.
        await http.delete(f"/transactions/{first['transaction_id']}/needs")
        await eventually(lambda: station.limit_a(1) == 32.0, timeout=60)
        assert (await session_of(http) or {})["decided_by"] == \
            "water level: no session has needs"


async def test_a_charger_holding_few_periods_gets_the_plan_merged_never_above_it(
    plan_server: RunningServer, plan_http: httpx.AsyncClient
) -> None:
    http = plan_http
    await http.post("/circuits", json={"id": "site", "max_current_a": 32})
    # Two periods at most (ChargingScheduleMaxPeriods), read from its configuration.
    async with simulated(plan_server, http, stations=1, connectors=1, id_prefix="PLM-",
                         start_time=START, max_periods=2) as sim:
        station = sim.stations["PLM-0001"]
        await http.patch("/stations/PLM-0001", json={"circuit_id": "site"})
        # 16:00-17:00 UTC at 10 A (a grid operator's window): the water level's own
        # timeline has three periods (32, 10, 32 A).
        await http.put("/circuits/site/limits", json=[{
            "from": CHEAP.isoformat(), "to": DEPARTURE.isoformat(), "max_current_a": 10}])
        await station.start_transaction(1, "VAN-1")
        first = await eventually(lambda: session_of(http), timeout=60)
        session = await planned_for(http, first["transaction_id"], 30, "2026-06-01T18:00:00Z")
        solved = (await http.get("/circuits/site/allocation")).json()
        at = datetime.fromisoformat(solved["at"])
        plan = [(at + timedelta(seconds=p["start_s"]), p["limit_a"])
                for p in session["periods"]]
        assert len(plan) > 2

        def installed() -> dict[str, Any] | None:
            for profile in station.installed_profiles:
                if profile.profile.purpose.value == "TxProfile":
                    return profile.profile.to_ocpp()  # type: ignore[no-any-return]
            return None

        def within_plan() -> bool:
            """The charger holds the plan in two periods, never above it at any instant
            from the start of its profile (the simulator's clock started after the
            server's) to the end of its lease."""
            profile = installed()
            if profile is None or len(profile["chargingSchedule"]["chargingSchedulePeriod"]) > 2:
                return False
            start = parse_datetime(profile["chargingSchedule"]["startSchedule"])
            now = max(station.clock.now(), start).replace(microsecond=0) + timedelta(seconds=1)
            lease = int((parse_datetime(profile["validTo"]) - now).total_seconds())
            held = station.composite(1, lease, ChargingRateUnit.A, start=now)
            for period in held.periods:
                instant = now + timedelta(seconds=period.start_period)
                in_plan = ([limit for at, limit in plan if at <= instant] or [plan[0][1]])[-1]
                if period.limit > in_plan + 1e-9:
                    return False
            return True

        await eventually(within_plan, timeout=60)


async def test_a_plan_out_of_time_leaves_the_water_levels_answer_and_says_why(
    settings: Settings,
) -> None:
    hurried = settings.with_overrides(circuit_plan_time_limit_s=1e-9)
    async with serving(hurried, utcnow) as server, httpx.AsyncClient(
            base_url=server.http_url, timeout=10) as http:
        await http.post("/circuits", json={"id": "site", "max_current_a": 32})
        async with simulated(server, http, stations=2, connectors=1, id_prefix="PLT-") as sim:
            for station_id in sim.stations:
                await http.patch(f"/stations/{station_id}", json={"circuit_id": "site"})
            for n, station in enumerate(sim.stations.values(), start=1):
                await station.start_transaction(1, f"VAN-{n}")

            async def both() -> list[dict[str, Any]] | None:
                found = (await http.get("/circuits/site/allocation")).json()["sessions"]
                return found if len(found) == 2 else None

            sessions = await eventually(both, timeout=60)
            departure = (utcnow() + timedelta(hours=2)).isoformat()
            answer = await http.put(f"/transactions/{sessions[0]['transaction_id']}/needs",
                                    json={"energy_kwh": 20, "departure": departure})
            assert answer.status_code == 200, answer.text

            async def decided() -> dict[str, Any] | None:
                solved = (await http.get("/circuits/site/allocation")).json()
                return solved if "time limit" in solved["decided_by"].lower() else None

            solved = await eventually(decided, timeout=60)
            # The water level's own answer: 16 A each, bound by the circuit.
            assert [(s["limit_a"], s["binding"]) for s in solved["sessions"]] == [
                (16.0, "site L1"), (16.0, "site L1")]
            assert solved["sessions"][0]["need_source"] == "request"
            # The re-plans say so too.
            def replanned() -> str:
                last = server.services.load.last.get("site")
                return (last.decided_by or "") if last is not None else ""

            await eventually(lambda: "time limit" in replanned().lower(), timeout=60)
            assert replanned().startswith("water level: ")
