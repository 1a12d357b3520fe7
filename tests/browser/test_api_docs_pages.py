"""The API documentation renders in a real browser from the server's own files: Swagger UI
at /docs and ReDoc at /redoc draw every operation, and neither page asks an outside host
for anything (so both work on a machine without internet)."""

from __future__ import annotations

from tests.browser.conftest import Watched
from tests.conftest import RunningServer


async def test_swagger_ui_draws_the_operations_offline(
    server: RunningServer, watched: Watched
) -> None:
    page = watched.page
    await page.goto(f"{server.http_url}/docs")
    operations = page.locator(".swagger-ui .opblock")
    await operations.first.wait_for()
    assert await operations.count() > 50
    assert await page.locator(".swagger-ui .btn.authorize").count() == 1
    await watched.screenshot("docs-swagger", full_page=False)


async def test_redoc_draws_the_operations_offline(
    server: RunningServer, watched: Watched
) -> None:
    page = watched.page
    await page.goto(f"{server.http_url}/redoc")
    # ReDoc replaces the whole page with "Something went wrong" when it cannot resolve
    # the document (a $ref that points outside it, say).
    await page.locator("h1", has_text="chargeplan").first.wait_for()
    assert await page.get_by_text("Something went wrong").count() == 0
    for tag in ("stations", "smart charging", "commands", "load management", "security"):
        assert await page.get_by_role("menuitem", name=tag, exact=True).count() == 1, tag
    await watched.screenshot("docs-redoc", full_page=False)
