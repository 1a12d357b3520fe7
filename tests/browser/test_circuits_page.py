"""The circuits page in Chromium: shares and bindings follow the cars live."""

from __future__ import annotations

import httpx
import pytest

from app.settings import Settings
from tests.browser.conftest import Watched
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually, simulated


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05)


async def test_the_circuit_page_updates_when_a_car_stops(
    server: RunningServer, http: httpx.AsyncClient, watched: Watched
) -> None:
    await http.post("/circuits", json={"id": "site", "max_current_a": 32, "connector_count": 2})
    async with simulated(server, http, stations=2, connectors=1, id_prefix="LM-") as sim:
        for station_id in sim.stations:
            await http.patch(f"/stations/{station_id}", json={"circuit_id": "site"})
        first, second = sim.stations["LM-0001"], sim.stations["LM-0002"]
        await first.start_transaction(1, "TAG-1")
        await second.start_transaction(1, "TAG-2")
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


async def _equals(read: object, wanted: list[str]) -> bool:
    return bool(await read() == wanted)  # type: ignore[operator]
