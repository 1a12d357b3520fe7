"""Time-of-use tariffs delivered to a simulator whose clock sits on a daylight-saving day."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.clock import utcnow
from app.domain.profiles import ChargingProfile
from app.services.schedules.tariffs import TariffService
from app.settings import Settings
from app.simulator import Simulator
from tests.conftest import RunningServer
from tests.e2e.harness import eventually, only, serving, simulated

SID = "PY-SIM-0001"
BERLIN = ZoneInfo("Europe/Berlin")
# 00:30 local on 2027-03-28, the last Sunday of March: the local day has 23 hours.
SPRING_FORWARD = datetime(2027, 3, 28, 0, 30, tzinfo=BERLIN)

TARIFF: dict[str, Any] = {
    "name": "evening peak", "timezone": "Europe/Berlin",
    "windows": [{"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                 "start": "17:00", "end": "21:00", "limit": 4000}],
    "default_limit": 11000, "targets": {"station_ids": [SID]},
}


@pytest.fixture
async def dst_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """The server with its clock on the daylight-saving day, like the simulator's."""
    offset = SPRING_FORWARD - utcnow()
    async with serving(settings, lambda: utcnow() + offset) as running:
        yield running


@pytest.fixture
async def dst_http(dst_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=dst_server.http_url, timeout=10) as client:
        yield client


def installed(sim: Simulator) -> ChargingProfile | None:
    profiles = only(sim).installed_profiles
    return profiles[0].profile if len(profiles) == 1 else None


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def limits_by_utc_time(sim: Simulator, start: datetime, hours: int) -> dict[str, float]:
    composite = only(sim).composite(1, hours * 3600, start=start)
    return {(start + timedelta(seconds=p.start_period)).strftime("%d %H:%M"): p.limit
            for p in composite.periods}


async def test_tariff_profile_follows_local_windows_across_spring_forward(
    dst_server: RunningServer, dst_http: httpx.AsyncClient
) -> None:
    async with simulated(dst_server, dst_http, start_time=SPRING_FORWARD) as sim:
        created = await dst_http.post("/tariffs", json=TARIFF)
        assert created.status_code == 201, created.text
        assert created.json()["applied"]["stations"] == [SID]
        profile = await eventually(lambda: installed(sim))
        assert profile.purpose.value == "TxDefaultProfile"
        assert profile.kind.value == "Absolute"
        assert profile.schedule.start_schedule == utc("2027-03-27T23:00:00")
        assert profile.schedule.duration == 47 * 3600  # 23 h today, 24 h tomorrow

        # 17:00-21:00 local is 15:00-19:00 UTC on the short day and the day after.
        assert limits_by_utc_time(sim, utc("2027-03-27T23:00:00"), 47) == {
            "27 23:00": 11000, "28 15:00": 4000, "28 19:00": 11000,
            "29 15:00": 4000, "29 19:00": 11000}

        # The server's expected composite agrees with what the station reports.
        report = (await dst_http.get(f"/stations/{SID}/composite_schedule", params={
            "connector_id": 1, "duration": 86400})).json()
        assert report["status"] == "success" and report["matches"] is True, report

        async def accepted() -> bool:
            status = (await dst_http.get(f"/tariffs/{created.json()['id']}/status")).json()
            return [(st["station_id"], st["state"]) for st in status["stations"]] == [
                (SID, "accepted")]

        await eventually(accepted)

        removed = await dst_http.delete(f"/tariffs/{created.json()['id']}")
        assert removed.status_code == 204
        await eventually(lambda: only(sim).installed_profiles == ())


async def test_prices_of_the_short_day_need_23_hours_and_change_the_profile(
    dst_server: RunningServer, dst_http: httpx.AsyncClient
) -> None:
    rule = {"cheapest_hours": 2, "cheap_limit": 22000, "other_limit": 2000}
    async with simulated(dst_server, dst_http, start_time=SPRING_FORWARD) as sim:
        tariff_id = (await dst_http.post("/tariffs", json={**TARIFF, "price_rule": rule}
                                         )).json()["id"]
        first = await eventually(lambda: installed(sim))

        wrong = await dst_http.post(f"/tariffs/{tariff_id}/prices",
                                    json={"date": "2027-03-28", "prices": [10.0] * 24})
        assert wrong.status_code == 400
        assert wrong.json()["extra"][0]["key"] == "prices"
        assert "23 hours" in wrong.json()["detail"]

        prices = [40.0] * 23
        prices[3], prices[4] = 1.0, 2.0  # local 04:00 and 05:00 CEST = 02:00, 03:00 UTC
        posted = await dst_http.post(f"/tariffs/{tariff_id}/prices",
                                     json={"date": "2027-03-28", "prices": prices})
        assert posted.status_code == 200, posted.text
        changed = await eventually(lambda: (p := installed(sim)) is not None and p != first
                                   and p)
        # Replaced in place: same chargingProfileId.
        assert changed.charging_profile_id == first.charging_profile_id
        limits = limits_by_utc_time(sim, utc("2027-03-27T23:00:00"), 47)
        assert limits == {"27 23:00": 2000, "28 02:00": 22000, "28 04:00": 2000,
                          "28 22:00": 11000, "29 15:00": 4000, "29 19:00": 11000}


async def test_preview_of_the_fall_back_day_spans_49_hours(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    tariff_id = (await http.post("/tariffs", json=TARIFF)).json()["id"]
    answer = await http.get(f"/tariffs/{tariff_id}/preview", params={"date": "2026-10-25"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["date"] == "2026-10-25"
    schedule = body["profile"]["chargingSchedule"]
    assert schedule["startSchedule"] == "2026-10-24T22:00:00Z"
    assert schedule["duration"] == 49 * 3600
    # 17:00 CET on the 25th is 16:00 UTC: 18 h after the start.
    assert [(p["startPeriod"] // 3600, p["limit"]) for p in schedule["chargingSchedulePeriod"]
            ] == [(0, 11000), (18, 4000), (22, 11000), (42, 4000), (46, 11000)]
    assert "chargingProfileId" not in body["profile"]


async def test_an_unsaved_tariff_is_previewed_with_a_stored_tariffs_prices(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/stations", json={"station_id": SID})
    priced = {**TARIFF, "price_rule": {"cheapest_hours": 2, "cheap_limit": 11000,
                                       "other_limit": 2000}}
    prices = [9.0] * 24
    prices[3] = prices[4] = 1.0
    stored = (await http.post("/tariffs", json=priced)).json()["id"]
    assert (await http.post(f"/tariffs/{stored}/prices",
                            json={"date": "2027-01-12", "prices": prices})).status_code == 200

    def hours(body: dict[str, Any]) -> list[tuple[int, float]]:
        schedule = body["profile"]["chargingSchedule"]
        return [(p["startPeriod"] // 3600, p["limit"])
                for p in schedule["chargingSchedulePeriod"]]

    draft = await http.post("/tariffs/preview", json=priced, params={"date": "2027-01-12"})
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["date"] == "2027-01-12"
    assert body["profile"]["chargingSchedule"]["startSchedule"] == "2027-01-11T23:00:00Z"
    # Without prices the windows hold on both days.
    assert hours(body) == [(0, 11000), (17, 4000), (21, 11000), (41, 4000), (45, 11000)]
    (station,) = body["stations"]
    assert station["station_id"] == SID and station["composite"] is not None
    assert body["problems"] == []

    # With the stored tariff's prices, the cheapest two hours of the priced day are open.
    with_prices = (await http.post("/tariffs/preview", json=priced, params={
        "date": "2027-01-12", "prices_of": stored})).json()
    assert hours(with_prices) == [(0, 2000), (3, 11000), (5, 2000), (24, 11000), (41, 4000),
                                  (45, 11000)]

    bad = await http.post("/tariffs/preview", json={**TARIFF, "timezone": "Europe/Atlantis"})
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "timezone"
    bad = await http.post("/tariffs/preview", json=TARIFF, params={"date": "12.01.2027"})
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "date"
    assert (await http.post("/tariffs/preview", json=TARIFF,
                            params={"prices_of": 77})).status_code == 404
    unknown = (await http.post("/tariffs/preview", json={
        **TARIFF, "targets": {"station_ids": ["NOT-THERE"]}})).json()
    assert [p["station_id"] for p in unknown["problems"]] == ["NOT-THERE"]
    assert [t["id"] for t in (await http.get("/tariffs")).json()] == [stored]


async def test_bad_tariffs_are_refused_with_the_field_named(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async def refused(body: dict[str, Any]) -> str:
        answer = await http.post("/tariffs", json=body)
        assert answer.status_code == 400, answer.text
        key: str = answer.json()["extra"][0]["key"]
        return key

    assert await refused({**TARIFF, "timezone": "Europe/Atlantis"}) == "timezone"
    assert await refused({**TARIFF, "windows": [{**TARIFF["windows"][0], "start": "5pm"}]}
                         ) == "windows[0].start"
    assert await refused({**TARIFF, "default_limit": 1000.25}) == "default_limit"
    assert await refused({**TARIFF, "targets": {}}) == "targets"
    assert (await http.get("/tariffs/77")).status_code == 404
    assert (await http.post("/tariffs/77/prices", json={"date": "2026-01-01",
                                                        "prices": [1.0] * 24})).status_code == 404
    tariff_id = (await http.post("/tariffs", json=TARIFF)).json()["id"]
    bad_date = await http.get(f"/tariffs/{tariff_id}/preview", params={"date": "28.03.2027"})
    assert bad_date.status_code == 400 and bad_date.json()["extra"][0]["key"] == "date"
    assert [t["id"] for t in (await http.get("/tariffs")).json()] == [tariff_id]


class RecordingScheduler:
    def __init__(self) -> None:
        self.daily: dict[str, tuple[str, int, int, Callable[[], Awaitable[None]]]] = {}
        self.reconciles: list[tuple[list[str], str]] = []

    def request_reconcile(self, station_ids: Iterable[str], reason: str) -> None:
        self.reconciles.append((list(station_ids), reason))

    def run_job(self, job: str, station_ids: Iterable[str] | None, trigger: str) -> None:
        self.reconciles.append((list(station_ids or ()), job))

    def station_booted(self, station_id: str) -> None:
        self.reconciles.append(([station_id], "boot"))

    def station_registered(self, station_id: str) -> None:
        self.reconciles.append(([station_id], "registered"))

    def schedule_daily(self, key: str, timezone: str, hour: int, minute: int,
                       func: Callable[[], Awaitable[None]]) -> None:
        self.daily[key] = (timezone, hour, minute, func)

    def unschedule(self, key: str) -> None:
        self.daily.pop(key, None)


async def test_daily_jobs_are_recreated_from_the_database_at_start(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/stations", json={"station_id": SID})
    tariff_id = (await http.post("/tariffs", json=TARIFF)).json()["id"]
    disabled_id = (await http.post("/tariffs", json={**TARIFF, "enabled": False})).json()["id"]
    scheduler = RecordingScheduler()
    # A later day than the server's: the restarted service regenerates for that day.
    later = datetime(2027, 3, 28, 12, tzinfo=UTC)
    restarted = TariffService(server.services.db, server.services.smart_charging,
                              scheduler=scheduler, clock=lambda: later)
    await restarted.start()

    assert set(scheduler.daily) == {f"tariff:{tariff_id}"}
    assert scheduler.daily[f"tariff:{tariff_id}"][:3] == ("Europe/Berlin", 0, 5)
    assert scheduler.reconciles == [([SID], "tariff")]
    desired = (await http.get(f"/stations/{SID}/charging_profiles")).json()
    assert [d["profile"]["chargingSchedule"]["startSchedule"] for d in desired] == [
        "2027-03-27T23:00:00Z"]

    # The job itself regenerates; the same local day gives the same profile, left alone.
    await scheduler.daily[f"tariff:{tariff_id}"][3]()
    again = (await http.get(f"/stations/{SID}/charging_profiles")).json()
    assert [(d["desired_id"], d["profile"]) for d in again] == [
        (d["desired_id"], d["profile"]) for d in desired]
    assert disabled_id != tariff_id
