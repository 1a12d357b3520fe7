"""The circuits page in Chromium: shares and bindings follow the cars live, and the plan
ahead appears once a session has a need."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.settings import Settings
from app.simulator import Simulator
from tests.browser.conftest import Watched
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually, simulated


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05)


@asynccontextmanager
async def two_cars_on_site(server: RunningServer, http: httpx.AsyncClient,
                           prefix: str) -> AsyncIterator[Simulator]:
    """Two simulated stations on a 32 A circuit "site", each charging a car."""
    await http.post("/circuits", json={"id": "site", "max_current_a": 32, "connector_count": 2})
    async with simulated(server, http, stations=2, connectors=1, id_prefix=prefix) as sim:
        for station_id in sim.stations:
            await http.patch(f"/stations/{station_id}", json={"circuit_id": "site"})
        for n, station in enumerate(sim.stations.values(), start=1):
            await station.start_transaction(1, f"TAG-{n}")
        yield sim


async def test_the_circuit_page_updates_when_a_car_stops(
    server: RunningServer, http: httpx.AsyncClient, watched: Watched
) -> None:
    async with two_cars_on_site(server, http, "LM-") as sim:
        second = sim.stations["LM-0002"]
        page = watched.page
        await page.goto(f"{server.http_url}/ui/circuits?circuit=site")

        async def limits() -> list[str]:
            cells = page.locator("#session-table td.limit")
            return [t.strip() for t in await cells.all_inner_texts()]

        await eventually(lambda: _equals(limits, ["16.0", "16.0"]), timeout=20)
        bindings = await page.locator("#session-table tbody tr").first.inner_text()
        assert "site L1" in bindings
        await page.locator("#load-chart canvas").wait_for()
        await watched.screenshot("circuits")
        await page.evaluate("window.sameDocument = true")
        await second.stop_transaction(1, "Local")
        await eventually(lambda: _equals(limits, ["32.0"]), timeout=20)
        assert await page.evaluate("window.sameDocument") is True

        await page.goto(f"{server.http_url}/ui/stations/LM-0001")
        why = page.locator('#why tr[data-connector="1"]')
        await why.wait_for()
        assert "32.0 A" in await why.inner_text() and "circuit site" in await why.inner_text()


async def test_the_circuit_page_shows_the_plan_once_a_session_has_a_need(
    server: RunningServer, http: httpx.AsyncClient, watched: Watched
) -> None:
    async with two_cars_on_site(server, http, "PN-"):
        async def two_running() -> list[dict[str, Any]] | None:
            found = (await http.get("/circuits/site/allocation")).json()["sessions"]
            return found if len(found) == 2 else None

        running = await eventually(two_running, timeout=20)
        needy = next(s for s in running if s["station_id"] == "PN-0001")
        page = watched.page
        await page.goto(f"{server.http_url}/ui/circuits?circuit=site")
        await page.locator("#no-plan").wait_for()
        assert "No session has a need" in await page.locator("#plan-chart").inner_text()
        await page.locator("#live.on").wait_for()  # listening before the need is set

        departure = datetime.now(UTC) + timedelta(hours=4)
        put = await http.put(f"/transactions/{needy['transaction_id']}/needs", json={
            "energy_kwh": 5, "departure": departure.isoformat()})
        assert put.status_code == 200, put.text
        # The page redraws on the re-plan the need sets off: no reload.
        await page.locator("#plan-chart canvas").wait_for(timeout=20_000)
        plan = (await http.get("/circuits/site/plan")).json()
        assert plan["decided_by"] == "planner"
        legend = await page.locator("#plan-chart .u-legend .u-series .u-label").all_inner_texts()
        bands = [label for label in legend if label.startswith("tx ")]
        assert sorted(bands) == sorted(
            f"tx {s['transaction_id']} ({s['station_id']})" for s in plan["sessions"])
        assert len(bands) == 2

        row = page.locator(f'#needs-table tr[data-transaction="{needy["transaction_id"]}"]')

        async def same_planned_kwh() -> bool:
            found = (await http.get("/circuits/site/allocation")).json()["sessions"]
            mine = next(s for s in found if s["transaction_id"] == needy["transaction_id"])
            shown = (await row.locator("td.planned").inner_text()).strip()
            return mine["need_source"] == "request" and shown == f"{mine['planned_kwh']:.2f}"

        await eventually(same_planned_kwh, timeout=20)
        assert (await row.locator("td.source").inner_text()).strip() == "request"
        assert await page.locator("#needs-table tbody tr").count() == 1
        assert "planner" in await row.inner_text()
        await watched.screenshot("circuits-plan")


async def _equals(read: object, wanted: list[str]) -> bool:
    return bool(await read() == wanted)  # type: ignore[operator]
