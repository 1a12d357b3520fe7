"""No dashboard page asks a host other than this server for anything: every request of
every page reachable from /ui goes through Playwright's interception, and one for any
other host is aborted and recorded. The pages' Content-Security-Policy is bypassed here, so
a reference to an outside host shows as a request instead of being refused unseen."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Route

from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually, only, simulated

SID = "PY-SIM-0001"
# Pages a link may not lead to from /ui on an empty server; visited whatever the crawl finds.
PAGES = ("/ui", f"/ui/stations/{SID}", "/ui/circuits", "/ui/plans", "/ui/audit",
         "/ui/login", "/docs", "/redoc")


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted")


async def test_no_page_requests_an_outside_host(
    server: RunningServer, http: httpx.AsyncClient, browser: Browser
) -> None:
    await http.post("/circuits", json={"id": "site", "max_current_a": 32})
    async with simulated(server, http, meter_interval=0.5) as sim:
        await http.patch(f"/stations/{SID}", json={"circuit_id": "site", "tags": ["depot"]})
        await only(sim).start_transaction(1, "TAG-1")
        await eventually(lambda: _running(http))
        context = await browser.new_context(bypass_csp=True,
                                            viewport={"width": 1400, "height": 1000})
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        own = urlsplit(server.http_url).netloc
        outside: list[str] = []
        served: dict[str, int] = {}

        async def intercept(route: Route) -> None:
            parts = urlsplit(route.request.url)
            if parts.scheme in ("data", "blob") or parts.netloc == own:
                served[parts.path] = served.get(parts.path, 0) + 1
                await route.continue_()
            else:
                outside.append(route.request.url)
                await route.abort()

        await page.route("**/*", intercept)
        to_visit, visited = list(PAGES), set()
        while to_visit:
            path = to_visit.pop(0)
            if path in visited:
                continue
            visited.add(path)
            await page.goto(urljoin(server.http_url, path))
            if path.startswith("/ui"):
                await page.locator("main#app > *").nth(1).wait_for()  # the script drew
            else:
                await page.wait_for_load_state("networkidle")
            for href in await page.eval_on_selector_all(
                    "a[href^='/ui']", "links => links.map((a) => a.getAttribute('href'))"):
                target = urlsplit(href).path
                if target not in visited:
                    to_visit.append(target)
        await context.close()  # its event stream ends before the server

    assert outside == []
    assert errors == []
    assert set(PAGES) <= visited
    # Each page's own script and the charting library were loaded from here.
    for asset in ("/ui/static/vendor/uPlot.iife.min.js", "/ui/static/fleet.js",
                  "/ui/static/station.js", "/ui/static/circuits.js", "/ui/static/plans.js",
                  "/ui/static/audit.js", "/ui/static/login.js", "/events"):
        assert served.get(asset), asset


async def _running(http: httpx.AsyncClient) -> bool:
    page = (await http.get("/transactions", params={"active": "true"})).json()
    return bool(page["items"])
