"""The fleet page with 10,000 stations in Chromium: counted, paged on the server, and a
station at the very end found by search. The stations are written straight into the
database (registering 10,000 over REST would only test REST)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert

from app.db.models import Station
from tests.browser.conftest import Watched
from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually

FLEET = 10_000


@pytest.fixture
async def fleet_server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    engine = create_engine(sqlite_url.replace("+aiosqlite", ""))
    created = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(insert(Station), [
            {"id": f"CP-{n:05d}", "tags": ["depot"] if n % 10 == 0 else [],
             "created_at": created, "online": False} for n in range(FLEET)])
    engine.dispose()
    server = await start_server(make_settings(sqlite_url, scheduler_enabled=False))
    try:
        yield server
    finally:
        await stop_server(server)


async def test_ten_thousand_stations_are_counted_paged_and_searched(
    fleet_server: RunningServer, watched: Watched
) -> None:
    page = watched.page
    await page.goto(f"{fleet_server.http_url}/ui")
    rows = page.locator("#fleet tbody tr")
    pager = page.locator("#pager")
    await rows.first.wait_for()
    assert await pager.get_attribute("data-total") == str(FLEET)
    assert "page 1 of 200" in await pager.inner_text()
    assert await rows.count() == 50  # one page in the document, not 10,000 rows
    assert await rows.first.get_attribute("data-station") == "CP-00000"

    async def first_row_is(station_id: str) -> bool:
        return await rows.first.get_attribute("data-station") == station_id

    await page.click("#next")
    await eventually(lambda: first_row_is("CP-00050"))
    await page.click("#last")
    await eventually(lambda: first_row_is("CP-09950"))
    assert await rows.last.get_attribute("data-station") == "CP-09999"
    assert "page 200 of 200" in await pager.inner_text()
    assert await page.is_disabled("#next") and await page.is_disabled("#last")
    await page.fill("#page", "101")
    await page.press("#page", "Enter")
    await eventually(lambda: first_row_is("CP-05000"))

    await page.fill("#search", "cp-09999")
    await eventually(lambda: first_row_is("CP-09999"))
    assert await rows.count() == 1
    assert "1 station · page 1 of 1" in await pager.inner_text()
    await page.fill("#search", "")
    await page.select_option("#tag", "depot")
    await eventually(lambda: first_row_is("CP-00000"))
    assert await pager.get_attribute("data-total") == str(FLEET // 10)
    await watched.screenshot("fleet-10000")
