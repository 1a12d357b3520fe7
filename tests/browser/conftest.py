"""A real browser for the dashboard: Playwright driving Debian's Chromium (``make test``
runs ``tests/with_chromium.sh``, which installs the ``chromium`` package when missing;
Playwright's own browser downloads are not used). ``CHARGEPLAN_TEST_CHROMIUM`` names
another executable."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Dialog, Page, Request, async_playwright

# The same default as tests/with_chromium.sh.
CHROMIUM = os.environ.get("CHARGEPLAN_TEST_CHROMIUM") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            await browser.close()


class Watched:
    """A page whose every request, dialog and script error is recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.hosts: set[str] = set()
        self.errors: list[str] = []
        # The messages of the dialogs the page opened (each accepted), in order.
        self.dialogs: list[str] = []
        page.on("request", self._request)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", self._dialog)

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob"):
            self.hosts.add(parts.hostname or "")

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        await dialog.accept()

    async def screenshot(self, name: str, *, full_page: bool = True) -> None:
        """The page as drawn, kept for people to look at; ``full_page=False``: the first
        screen only (for pages tens of thousands of pixels tall, whose whole picture takes
        a loaded machine longer than the screenshot's timeout)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
async def watched(browser: Browser) -> AsyncIterator[Watched]:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    seen = Watched(page)
    yield seen
    # A page makes no request to an outside host, and no script failed.
    assert seen.hosts <= {"127.0.0.1"}, seen.hosts
    assert seen.errors == []
    await page.close()
