"""The plans page in Chromium: a plan previewed before it is saved, then sent."""

from __future__ import annotations

import json

import httpx
import pytest

from app.settings import Settings
from tests.browser.conftest import Watched
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually, only, simulated

SID = "PY-SIM-0001"


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url)


async def test_a_plan_is_previewed_then_saved_and_reaches_the_station(
    server: RunningServer, http: httpx.AsyncClient, watched: Watched
) -> None:
    async with simulated(server, http) as sim:
        page = watched.page
        await page.goto(f"{server.http_url}/ui/plans")
        plan = json.loads(await page.input_value("#plan-json"))
        plan["targets"] = {"station_ids": [SID, "NOT-THERE"], "tags": []}
        plan["profile"]["chargingSchedule"]["chargingSchedulePeriod"] = [
            {"startPeriod": 0, "limit": 9000}]
        await page.fill("#plan-json", json.dumps(plan))
        await page.click("#plan-preview-button")
        chart = page.locator(f'#plan-preview .chart[data-station="{SID}"]')
        await chart.locator("canvas").wait_for()
        # A TxDefaultProfile on connector 0 holds each of the two connectors to 9 kW: the
        # whole station may draw 18 kW.
        assert await chart.get_attribute("data-first-limit") == "18"
        assert "NOT-THERE" in await page.inner_text("#plan-preview")
        assert (await http.get("/plans")).json() == []  # a preview stores nothing
        await watched.screenshot("plans-preview")

        await page.click("#plan-save")  # confirmed in the dialog
        await page.locator("#plans tbody tr").first.wait_for()
        (saved,) = (await http.get("/plans")).json()
        assert saved["name"] == plan["name"]
        station = only(sim)
        await eventually(lambda: any(p.profile.stack_level == 1
                                     for p in station.installed_profiles), timeout=20)

        await page.fill("#plan-json", "{not json")
        await page.click("#plan-preview-button")
        assert "not JSON" in await page.inner_text("#plan-error")
