"""Verification against chargers that answer GetCompositeSchedule their own way: a
station verifies clean under every convention, one that acknowledges and ignores is
still drift, and one that cannot show a schedule is unverifiable, never drift."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.domain.composite import Convention
from jobs.reconcile import verify_stations
from tests.conftest import make_settings, start_server, stop_server
from tests.e2e.harness import simulated
from tests.profiles import tx_default_watts

SID = "PY-SIM-0001"
# A cap on the whole station and a default on every connector: every convention has a
# bound to compare (MicroOcpp counts TxDefaultProfiles only in a transaction, open-ocpp
# leaves the cap out), and the two limits tell the conventions apart.
CAP_16KW = {"stackLevel": 0, "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "W",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16000}]}}
PROFILES = [(0, CAP_16KW), (0, tx_default_watts(7000))]


async def verified_station(http: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    body = (await http.get(f"/stations/{SID}/verification")).json()
    station = (await http.get(f"/stations/{SID}")).json()
    return body, station


async def send_profiles(http: httpx.AsyncClient,
                        profiles: list[tuple[int, dict[str, Any]]] = PROFILES) -> None:
    for connector_id, profile in profiles:
        sent = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": connector_id, "profile": profile})
        assert sent.json()["status"] == "success", sent.text


async def verified_after(sqlite_url: str, convention: str, *, ignore: bool = False,
                         profiles: list[tuple[int, dict[str, Any]]] = PROFILES
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A simulated station of ``convention`` (ignoring the profiles it acknowledges when
    ``ignore``) given ``profiles`` and verified once: its verification and the station."""
    running = await start_server(make_settings(sqlite_url, drift_max_repairs=1))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http, composite_convention=convention,
                          ignore_profile_rate=1.0 if ignore else 0.0):
            await send_profiles(http, profiles)
            await verify_stations(running.services, [SID], "test")
            return await verified_station(http)
    finally:
        await stop_server(running)


@pytest.mark.parametrize("convention", [c.value for c in Convention])
async def test_a_station_of_every_convention_verifies_clean(sqlite_url: str,
                                                            convention: str) -> None:
    body, station = await verified_after(sqlite_url, convention)
    assert body["state"] == "verified", body
    assert {c["outcome"] for c in body["connectors"]} == {"match"}
    assert station["composite_convention"] is not None
    if convention == "microocpp":  # only MicroOcpp leaves the default out while idle
        assert station["composite_convention"] == "microocpp"


@pytest.mark.parametrize("convention", [c.value for c in Convention])
async def test_a_station_that_ignores_its_profiles_is_drift_under_every_convention(
        sqlite_url: str, convention: str) -> None:
    body, _ = await verified_after(sqlite_url, convention, ignore=True)
    assert body["state"] == "drift_unresolved", body
    assert "drift" in {c["outcome"] for c in body["connectors"]}


@pytest.mark.parametrize("convention", ["strict", "libocpp", "open-ocpp"])
async def test_an_idle_station_that_ignores_its_default_profile_is_drift(
        sqlite_url: str, convention: str) -> None:
    # A plan's TxDefaultProfile alone, no transaction: every convention but MicroOcpp's
    # (which counts a default only in a transaction) bounds the connector with it, and an
    # answer without it (open-ocpp's then covers nothing) is no convention's.
    body, _ = await verified_after(sqlite_url, convention, ignore=True,
                                   profiles=[(1, tx_default_watts(7000))])
    assert body["state"] == "drift_unresolved", body


async def test_the_unconstrained_value_is_learned_where_no_profile_applies(
        sqlite_url: str) -> None:
    hour = {**tx_default_watts(7000)}
    hour["chargingSchedule"] = {**hour["chargingSchedule"], "duration": 3600}
    running = await start_server(make_settings(sqlite_url))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http, composite_convention="libocpp"):
            await http.post(f"/stations/{SID}/charging_profile",
                            json={"connector_id": 1, "profile": hour})
            await verify_stations(running.services, [SID], "test")
            body, station = await verified_station(http)
    finally:
        await stop_server(running)
    assert body["state"] == "verified", body
    # After the hour libocpp reports its 48 A default: the station's own value, not drift.
    assert station["unconstrained"] == {"limit": 33120.0, "unit": "W"}
    # Connector 2 holds nothing acknowledged (and so connector 0 is not bounded): not asked.
    assert [c["connector_id"] for c in body["connectors"]] == [1]


@pytest.mark.parametrize(("answer", "reason"), [
    ("no-schedule", "Accepted without a chargingSchedule"),
    ("rejected", "answered Rejected"),
])
async def test_a_station_that_shows_no_schedule_is_unverifiable_after_one_question(
        sqlite_url: str, answer: str, reason: str) -> None:
    running = await start_server(make_settings(sqlite_url, drift_max_repairs=2))
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http, \
                simulated(running, http, composite_answer=answer):
            await send_profiles(http)
            calls = running.services.status.call_counts
            pushes = calls().get(("SetChargingProfile", "ok"), 0)
            await verify_stations(running.services, [SID], "test")
            body, _ = await verified_station(http)
            counts = calls()
            runs = (await http.get("/jobs", params={"job": "verify"})).json()
    finally:
        await stop_server(running)
    assert body["state"] == "unverifiable"
    assert body["drift_repairs"] == 0
    (connector,) = body["connectors"]
    assert connector["outcome"] == "unverifiable" and reason in connector["error"]
    (run,) = [r for r in runs if r["trigger"] == "test"]
    assert run["calls"] == 1  # one question, no repair, no second look
    assert counts.get(("SetChargingProfile", "ok"), 0) == pushes  # nothing repaired
