"""The /ui dashboard in Chromium against the real server and the real simulator."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.browser.conftest import Watched
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually, only, simulated
from tests.profiles import tx_default_watts

SID = "PY-SIM-0001"


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, scheduler_enabled=False)


async def test_the_fleet_page_lists_the_simulated_stations(
    server: RunningServer, http: httpx.AsyncClient, watched: Watched
) -> None:
    async with simulated(server, http, stations=3):
        page = watched.page
        response = await page.goto(f"{server.http_url}/ui")
        assert response is not None and "default-src 'self'" in (
            await response.header_value("content-security-policy") or "")
        rows = page.locator("#fleet tbody tr")
        await rows.first.wait_for()
        assert await rows.count() == 3
        listed = [await r.get_attribute("data-station") for r in await rows.all()]
        assert listed == ["PY-SIM-0001", "PY-SIM-0002", "PY-SIM-0003"]
        assert await rows.first.locator("td").nth(1).inner_text() == "online"
        await page.fill("#search", "0002")
        await eventually(lambda: _count_is(rows, 1))
        assert await rows.first.get_attribute("data-station") == "PY-SIM-0002"
        await watched.screenshot("fleet")


async def _count_is(rows: object, n: int) -> bool:
    return bool(await rows.count() == n)  # type: ignore[attr-defined]


async def chart(watched: Watched, connector: int) -> dict[str, str | None]:
    box = watched.page.locator(f'#charts .chart[data-connector="{connector}"]')
    return {name: await box.get_attribute(f"data-{name}")
            for name in ("expected-now", "reported-now", "drift", "reported-points")}


async def test_a_profile_sent_from_the_station_page_is_drawn_expected_and_reported(
    server: RunningServer, http: httpx.AsyncClient, watched: Watched
) -> None:
    async with simulated(server, http):
        page = watched.page
        await page.goto(f"{server.http_url}/ui/stations/{SID}")
        await page.locator("#charts .chart canvas").first.wait_for()
        assert (await chart(watched, 1))["drift"] == "false"
        await page.fill("#cmd-connector", "1")
        await page.fill("#profile-kw", "7")
        await page.click("#send-profile")  # confirmed in the dialog
        await eventually(lambda: _chart_shows(watched, 1, "7"), timeout=20)
        assert (await chart(watched, 1))["drift"] == "false"
        assert await page.locator('#charts .chart[data-connector="1"] canvas').count() == 1
        assert "matches" in await page.locator(
            '#charts .chart[data-connector="1"] h3').inner_text()
        stack = await page.locator("#stack").inner_text()
        assert "TxDefaultProfile" in stack and "accepted" in stack
        await watched.screenshot("station")


async def _chart_shows(watched: Watched, connector: int, kw: str) -> bool:
    drawn = await chart(watched, connector)
    return drawn["expected-now"] == kw and drawn["reported-now"] == kw


async def test_drift_from_a_station_that_ignores_profiles_appears_without_a_reload(
    server: RunningServer, http: httpx.AsyncClient, watched: Watched
) -> None:
    async with simulated(server, http, ignore_profile_rate=1.0):
        page = watched.page
        await page.goto(f"{server.http_url}/ui/stations/{SID}")
        await page.locator("#charts .chart canvas").first.wait_for()
        await page.evaluate("window.sameDocument = true")
        sent = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": tx_default_watts(5000)})
        assert sent.json()["status"] == "success"  # Accepted, yet nothing installed
        await eventually(lambda: _drift_shown(watched), timeout=20)
        drawn = await chart(watched, 1)
        assert drawn["expected-now"] == "5" and drawn["reported-now"] != "5"
        assert await page.evaluate("window.sameDocument") is True
        assert await page.locator(".drift").first.is_visible()
        await page.locator('#events .event[data-type="profile.accepted"]').wait_for()
        await watched.screenshot("station-drift")


async def test_where_chargeplan_sets_no_limit_the_lines_part_without_drift(
    server: RunningServer, http: httpx.AsyncClient, watched: Watched
) -> None:
    # A station registered without its maximum: with no profile, what chargeplan expects
    # is the composite's fill value (48 A), the station reports its own 32 A.
    assert (await http.post("/stations", json={"station_id": SID})).status_code == 201
    async with simulated(server, http, ocpp_version="2.0.1", register=False):
        page = watched.page
        await page.goto(f"{server.http_url}/ui/stations/{SID}")
        box = page.locator('#charts .chart[data-connector="1"]')
        await box.locator("canvas").wait_for()
        drawn = await chart(watched, 1)
        assert drawn["expected-now"] != drawn["reported-now"]
        assert drawn["drift"] == "false" and await page.locator(".drift").count() == 0
        assert "matches" in await box.locator("h3").inner_text()
        assert "sets no limit" in await box.locator(".muted").inner_text()


async def _drift_shown(watched: Watched) -> bool:
    return (await chart(watched, 1))["drift"] == "true"


async def test_an_open_transaction_shows_its_meter_curve_from_history_then_live(
    sqlite_url: str, watched: Watched
) -> None:
    settings = make_settings(sqlite_url, scheduler_enabled=False, meter_event_interval_s=0.2,
                             unknown_id_tag_status="Accepted")
    server = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http, \
                simulated(server, http, meter_interval=0.2) as sim:
            await only(sim).start_transaction(1, "RFID-1")
            (transaction,) = await eventually(lambda: _active(http))

            async def stored() -> list[dict[str, Any]] | None:
                answer = await http.get(f"/transactions/{transaction['id']}/meter_curve")
                points: list[dict[str, Any]] = answer.json()["points"]
                return points if len(points) >= 3 else None

            history = await eventually(stored, timeout=20)
            opened = time.time()
            page = watched.page
            await page.goto(f"{server.http_url}/ui/stations/{SID}")
            curve = page.locator(f'#transactions .chart[data-transaction="{transaction["id"]}"]')
            await curve.wait_for(timeout=20_000)

            async def attribute(name: str) -> float:
                return float(await curve.get_attribute(f"data-{name}") or 0)

            # Drawn from the stored samples: they begin before the page was opened.
            await eventually(lambda: _at_least(attribute("samples"), len(history)))
            assert await attribute("first-at") < opened
            assert await attribute("first-at") == pytest.approx(datetime.fromisoformat(
                history[0]["at"]).timestamp(), abs=0.001)
            # ... and extended live, with energy, power and current drawn.
            drawn = int(await attribute("samples"))
            await eventually(lambda: _at_least(attribute("samples"), drawn + 2), timeout=20)
            assert await attribute("last-kw") > 0
            assert await attribute("last-kwh") > 0
            assert await attribute("last-a") > 0
            await watched.screenshot("station-transaction")
            await only(sim).stop_transaction(1, "Local")
            await page.locator("#transactions .chart").wait_for(state="detached")
    finally:
        await watched.page.goto("about:blank")  # its event stream ends before the server
        await stop_server(server)


async def _active(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await http.get(f"/stations/{SID}/transactions",
                                                  params={"active": "true"})).json()["items"]
    return items


async def _at_least(value: Awaitable[float], least: float) -> bool:
    return await value >= least
