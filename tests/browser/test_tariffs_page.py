"""The tariff editor in Chromium: a tariff previewed (its profile and each target's next
24 h drawn) before it is saved, then edited and saved again."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.async_api import Page

from app.settings import Settings
from tests.browser.conftest import Watched
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually, only, simulated

SID = "PY-SIM-0001"


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url)


async def test_a_tariff_is_previewed_saved_then_edited(
    server: RunningServer, http: httpx.AsyncClient, watched: Watched
) -> None:
    async with simulated(server, http) as sim:
        page = watched.page
        await page.goto(f"{server.http_url}/ui/plans")
        tariff = json.loads(await page.input_value("#tariff-json"))
        tariff.update(name="flat 7 kW", windows=[], default_limit=7000,
                      targets={"station_ids": [SID, "NOT-THERE"], "tags": []})
        await page.fill("#tariff-json", json.dumps(tariff))
        await page.click("#tariff-preview-button")
        profile_chart = page.locator("#tariff-profile")
        await profile_chart.locator("canvas").wait_for()
        assert await profile_chart.get_attribute("data-first-limit") == "7"
        station_chart = page.locator(f'#tariff-preview .chart[data-station="{SID}"]')
        await station_chart.locator("canvas").wait_for()
        # A TxDefaultProfile on connector 0 holds each of the two connectors to 7 kW.
        assert await station_chart.get_attribute("data-first-limit") == "14"
        assert "NOT-THERE" in await page.inner_text("#tariff-preview")
        assert (await http.get("/tariffs")).json() == []  # a preview stores nothing

        await page.click("#tariff-save")  # confirmed in the dialog
        link = page.locator("#tariffs tbody tr a").first
        await link.wait_for()
        (saved,) = (await http.get("/tariffs")).json()
        assert (saved["name"], saved["default_limit"]) == ("flat 7 kW", 7000)
        station = only(sim)
        await eventually(lambda: [p.profile.schedule.periods[0].limit
                                  for p in station.installed_profiles] == [7000], timeout=20)

        # Edit the stored tariff: an evening window, previewed, then saved (PUT).
        await link.click()
        assert f"Tariff {saved['id']}" in await page.inner_text("#tariff-note")
        tariff = json.loads(await page.input_value("#tariff-json"))
        tariff["default_limit"] = 5000
        tariff["windows"] = [{"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                              "start": "00:00", "end": "06:00", "limit": 3000}]
        await page.fill("#tariff-json", json.dumps(tariff, indent=2))
        await page.click("#tariff-preview-button")
        # The night window opens the profile (the page's CSP forbids wait_for_function).
        await eventually(lambda: _first_limit_is(page, "3"))
        # Two local days, each with a night window and the rest of the day.
        assert await profile_chart.get_attribute("data-periods") == "4"
        await watched.screenshot("tariffs-preview")
        await page.click("#tariff-save")
        await eventually(lambda: _default_limit(http, saved["id"]), timeout=20)
        await eventually(lambda: [p.profile.schedule.periods[0].limit
                                  for p in station.installed_profiles] == [3000], timeout=20)
        # The page reopens what it saved before it says so: edited before that, the
        # editor would be overwritten under the next preview.
        await eventually(lambda: watched.dialogs.count(f"tariff {saved['id']} saved") == 2)

        await page.fill("#tariff-json", json.dumps({**tariff, "timezone": "Mars/Olympus"}))
        await page.click("#tariff-preview-button")
        assert "timezone" in await page.inner_text("#tariff-error")


async def _first_limit_is(page: Page, value: str) -> bool:
    chart = page.locator("#tariff-profile")
    return await chart.count() == 1 and await chart.get_attribute("data-first-limit") == value


async def _default_limit(http: httpx.AsyncClient, tariff_id: int) -> bool:
    return bool((await http.get(f"/tariffs/{tariff_id}")).json()["default_limit"] == 5000)
