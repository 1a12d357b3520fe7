"""Unused capacity over real websockets: a car that draws less than its share for three
samples is capped near its draw and the current it leaves goes to the other car; when it
draws up to its cap again, the cap goes and the shares come back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import utcnow
from app.settings import Settings
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually
from tests.integration.test_load_management import (
    ACCEPTING,
    first_limit,
    limits_acknowledged,
    start,
    tx_profiles,
)
from tests.ocpp_client import RawStation, raw_station


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    # Metered draws are read by the periodic re-plan: every half second here.
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05,
                         reconcile_interval_s=3600, verify_interval_s=3600,
                         circuit_replan_interval_s=0.5, circuit_lease_s=3600)


@asynccontextmanager
async def two_sharing(server: RunningServer, http: httpx.AsyncClient, circuit_a: float = 32
                      ) -> AsyncIterator[tuple[RawStation, RawStation, int]]:
    """CP-A and CP-B charging on a ``circuit_a`` circuit, half each: the stations and A's
    transaction."""
    await http.post("/circuits", json={"id": "site", "max_current_a": circuit_a})
    async with raw_station(server.station_url("CP-A"), answers=dict(ACCEPTING)) as a, \
            raw_station(server.station_url("CP-B"), answers=dict(ACCEPTING)) as b:
        for cp, name in ((a, "CP-A"), (b, "CP-B")):
            await cp.boot()
            await http.patch(f"/stations/{name}", json={"circuit_id": "site"})
        tx_a = await start(a)
        await start(b)
        await eventually(lambda: tx_profiles(a) and tx_profiles(b)
                         and first_limit(tx_profiles(a)[-1]) == circuit_a / 2)
        # Draws count from when the chargers acknowledged their limits.
        await eventually(lambda: limits_acknowledged(server))
        yield a, b, tx_a


async def draw(cp: RawStation, tx: int, amps: list[float], first: datetime | None = None
               ) -> None:
    """Three-phase samples, 10 ms apart from ``first`` (default now: after the limit they
    answer was acknowledged, which a sample dated before it would not answer)."""
    start = first or datetime.now(UTC)
    values = []
    for index, current in enumerate(amps):
        at = start + timedelta(milliseconds=10 * index)
        ts = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        values.append({"timestamp": ts, "sampledValue": [
            {"value": str(current), "measurand": "Current.Import", "phase": phase, "unit": "A"}
            for phase in ("L1", "L2", "L3")]})
    await cp.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": values})


async def test_a_tapering_car_frees_current_for_the_other_and_takes_it_back(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with two_sharing(server, http) as (a, b, tx_a):
        await draw(a, tx_a, [5.0, 5.2, 4.8])  # nearly full: 11 A under its share
        await eventually(lambda: first_limit(tx_profiles(b)[-1]) == 25.7)
        assert first_limit(tx_profiles(a)[-1]) == 6.3  # 5.2 A x 1.2

        async def session_a() -> dict[str, Any]:
            solved = (await http.get("/circuits/site/allocation")).json()
            found: dict[str, Any] = next(
                s for s in solved["sessions"] if s["transaction_id"] == tx_a)
            return found

        capped = await session_a()
        assert (capped["demand_cap_a"], capped["binding"]) == (6.3, "cap")

        await draw(a, tx_a, [6.2])  # it takes its whole cap again: the cap goes
        await eventually(lambda: first_limit(tx_profiles(a)[-1]) == 16.0)
        assert first_limit(tx_profiles(b)[-1]) == 16.0
        assert (await session_a())["demand_cap_a"] is None


async def test_a_charger_that_ignores_its_limit_is_flagged_and_its_excess_taken_from_the_rest(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with two_sharing(server, http) as (a, b, tx_a):
        await draw(a, tx_a, [20.0, 20.0, 20.0])  # told 16 A, it takes 20
        # A's excess is other load: B comes down towards 32 - 20 = 12 A (re-sent while a
        # step is 1 A or more).
        await eventually(lambda: first_limit(tx_profiles(b)[-1]) <= 13.0)
        solved = (await http.get("/circuits/site/allocation")).json()
        flagged = {s["transaction_id"]: s["over_limit"] for s in solved["sessions"]}
        assert flagged[tx_a] is True
        other = solved["circuits"][0]["other_load_a"]
        assert other[0] == other[1] == other[2] >= 4.0


async def test_the_excess_of_a_charger_that_ignores_its_limit_is_settled_in_one_re_plan(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """A draws 20 A whatever it is told: whatever share it gets, B can have 32 - 20 = 12 A.
    The re-plan that flags A sends B straight there, rather than 14, 13, ... A's excess
    over the share it held before each step."""
    async with two_sharing(server, http) as (a, b, tx_a):
        held = len(tx_profiles(b))
        await draw(a, tx_a, [20.0, 20.0, 20.0])  # told 16 A, it takes 20
        await eventually(lambda: first_limit(tx_profiles(b)[-1]) < 16.0)
        (step,) = [first_limit(p) for p in tx_profiles(b)[held:]]
        assert step == pytest.approx(12.0, abs=0.15)  # a solve's steps are 0.1 A
        solved = (await http.get("/circuits/site/allocation")).json()
        shares = {s["transaction_id"]: s["limit_a"] for s in solved["sessions"]}
        # The excess is over the share A gets now, so the line is full, not over.
        other = solved["circuits"][0]["other_load_a"]
        assert other[0] + sum(shares.values()) == pytest.approx(32.0, abs=0.15)
        assert other[0] == pytest.approx(20.0 - shares[tx_a], abs=0.15)


async def test_a_lease_renewal_does_not_restart_the_count_of_unused_samples(
    sqlite_url: str,
) -> None:
    """With a lease shorter than three samples, each renewal re-sends the same limit with a
    new startSchedule; the samples count from the last change of the limit's value, so the
    tapering car is still capped and the current it leaves goes to the other."""
    offset = [timedelta(0)]

    def clock() -> datetime:
        return utcnow() + offset[0]

    settings = make_settings(sqlite_url, unknown_id_tag_status="Accepted",
                             circuit_debounce_s=0.05, reconcile_interval_s=3600,
                             verify_interval_s=3600, circuit_replan_interval_s=0.5,
                             circuit_lease_s=60)
    server = await start_server(settings, clock=clock)
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http, \
                two_sharing(server, http, 18) as (a, b, tx_a):
            # Two samples 1 A or more below the limit between each renewal: never three
            # after the newest startSchedule, six after the limit was set.
            for _ in range(3):
                await draw(a, tx_a, [6.5, 6.5], first=clock())
                sent = len(tx_profiles(a))
                offset[0] += timedelta(seconds=31)  # past half the lease: renewed
                await eventually(lambda n=sent: len(tx_profiles(a)) > n)
                if first_limit(tx_profiles(a)[-1]) != 9.0:
                    break
            # Capped at 6.5 A x 1.2: B gets the 18 - 7.8 A it leaves.
            await eventually(lambda: first_limit(tx_profiles(b)[-1]) == 10.2)
            assert first_limit(tx_profiles(a)[-1]) == 7.8
            solved = (await http.get("/circuits/site/allocation")).json()
            capped = next(s for s in solved["sessions"] if s["transaction_id"] == tx_a)
            assert (capped["demand_cap_a"], capped["binding"]) == (7.8, "cap")
    finally:
        await stop_server(server)
