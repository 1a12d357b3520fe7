"""/ui pages: each a small HTML shell whose script reads the REST API and listens to
``GET /events``. Everything a page loads comes from this server (a Content-Security-Policy
says so to the browser): no CDN, no outside host."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Any

from litestar import MediaType, Response, get
from litestar.params import Parameter
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from app.api.deps import ServicesDep, dependencies
from app.services.fleet_view import MAX_PAGE_SIZE, FleetQuery, fleet_page

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
NAV = (("/ui", "Fleet"), ("/ui/plans", "Plans and tariffs"), ("/ui/audit", "Audit"),
       ("/docs", "API"))


def page(title: str, script: str, **data: str) -> Response[str]:
    """The shell every page shares; ``data`` becomes data-* attributes of <main>."""
    attrs = "".join(f' data-{k.replace("_", "-")}="{html.escape(v)}"' for k, v in data.items())
    nav = "".join(f'<a href="{href}">{name}</a>' for href, name in NAV)
    body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · chargeplan</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/static/vendor/uPlot.min.css">
<link rel="stylesheet" href="/ui/static/style.css">
</head>
<body>
<header><strong>chargeplan</strong><nav>{nav}</nav><span id="live" class="live off">offline</span>
</header>
<main id="app"{attrs}><h1>{html.escape(title)}</h1></main>
<script src="/ui/static/vendor/uPlot.iife.min.js"></script>
<script src="/ui/static/common.js"></script>
<script src="/ui/static/{script}"></script>
</body>
</html>
"""
    return Response(body, media_type=MediaType.HTML,
                    headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})


@get("/ui", include_in_schema=False)
async def fleet() -> Response[str]:
    return page("Fleet", "fleet.js")


@get("/ui/stations/{station_id:str}", include_in_schema=False)
async def station(station_id: str) -> Response[str]:
    return page(f"Station {station_id}", "station.js", station_id=station_id)


@get("/ui/plans", include_in_schema=False)
async def plans() -> Response[str]:
    return page("Plans and tariffs", "plans.js")


@get("/ui/audit", include_in_schema=False)
async def audit() -> Response[str]:
    return page("Audit", "audit.js")


@get("/ui/api/fleet", include_in_schema=False, dependencies=dependencies)
async def fleet_rows(
    services: ServicesDep,
    q: Annotated[str, Parameter(description="Part of a station id")] = "",
    tag: Annotated[str | None, Parameter(description="Only stations with this tag")] = None,
    state_filter: Annotated[str | None, Parameter(
        query="state", description="online, offline, verified, drift, ...")] = None,
    page_number: Annotated[int, Parameter(query="page", ge=1)] = 1,
    size: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> dict[str, Any]:
    """One page of the fleet table (the dashboard's own read model)."""
    result = await fleet_page(services.db, services.smart_charging,
                              FleetQuery(q.strip(), tag or None, state_filter or None, page_number,
                                         size), services.clock())
    return {"total": result.total, "page": page_number, "size": size, "tags": result.tags,
            "rows": [vars(r) for r in result.rows]}


ui_handlers: list[ControllerRouterHandler] = [
    fleet, station, plans, audit, fleet_rows,
    create_static_files_router(path="/ui/static", directories=[STATIC],
                               include_in_schema=False),
]
