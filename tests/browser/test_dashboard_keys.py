"""With API keys on, the dashboard asks for a key, keeps it in an HttpOnly, SameSite=Strict
cookie and shows only what the key's role may do."""

from __future__ import annotations

import httpx
import pytest

from app.settings import Settings
from tests.browser.conftest import Watched
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually
from tests.profiles import TX_DEFAULT_7KW


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, scheduler_enabled=False, api_auth=True)


async def test_the_session_cookie_carries_the_key_and_its_role(server: RunningServer) -> None:
    reader = (await server.services.api_keys.create("wall-screen", "reader")).secret
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as browser:
        assert (await browser.get("/ui/api/fleet")).status_code == 401
        assert (await browser.get("/events")).status_code == 401
        assert (await browser.get("/ui/session")).json() == {
            "auth": True, "role": None, "name": None}
        refused = await browser.post("/ui/session", json={"api_key": "cpk_not-a-key"})
        assert refused.status_code == 401 and "chargeplan_session" not in browser.cookies
        missing = await browser.post("/ui/session", json={})
        assert missing.status_code == 400 and missing.json()["extra"][0]["key"] == "api_key"

        signed = await browser.post("/ui/session", json={"api_key": reader})
        assert signed.status_code == 200 and signed.json()["role"] == "reader"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert (await browser.get("/ui/api/fleet")).status_code == 200
        async with browser.stream("GET", "/events") as stream:
            assert stream.status_code == 200
        # A reader may look, not change.
        sent = await browser.post("/stations/PY-SIM-0001/charging_profile",
                                  json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
        assert sent.status_code == 403
        assert (await browser.delete("/ui/session")).status_code == 204
        assert (await browser.get("/ui/api/fleet")).status_code == 401


async def test_the_dashboard_asks_for_a_key_and_hides_commands_from_a_reader(
    server: RunningServer, watched: Watched
) -> None:
    reader = (await server.services.api_keys.create("wall-screen", "reader")).secret
    admin = (await server.services.api_keys.create("setup", "admin")).secret
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10,
                                 headers={"Authorization": f"Bearer {admin}"}) as http:
        assert (await http.post("/stations", json={"station_id": "CP-KEYS"})).status_code == 201
    page = watched.page
    await page.goto(f"{server.http_url}/ui/stations/CP-KEYS")
    await page.wait_for_url("**/ui/login?next=*")
    await page.fill("#api-key", reader)
    await page.click("#sign-in")
    await page.wait_for_url("**/ui/stations/CP-KEYS")
    await page.locator("#summary .badge").first.wait_for()
    assert await page.inner_text("#who") == "wall-screen (reader)"
    await eventually(lambda: _live(watched))
    assert not await page.locator("#commands").is_visible()
    cookies = await page.context.cookies()
    (session,) = [c for c in cookies if c["name"] == "chargeplan_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert await page.evaluate("document.cookie") == ""  # not readable by scripts
    await watched.screenshot("station-reader")
    await page.click("#sign-out")
    await page.wait_for_url("**/ui/login")


async def _live(watched: Watched) -> bool:
    return await watched.page.inner_text("#live") == "live"
