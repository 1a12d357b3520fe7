"""/ui pages: each a small HTML shell whose script reads the REST API and listens to
``GET /events``. Everything a page loads comes from this server (a Content-Security-Policy
says so to the browser): no CDN, no outside host."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Annotated, Any

from litestar import MediaType, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from app.api.access import (
    PUBLIC,
    READER,
    SESSION_COOKIE,
    AccessControl,
    client_host,
)
from app.api.deps import ServicesDep, dependencies
from app.domain.access import Role
from app.json_types import JsonObject
from app.services.errors import Invalid
from app.services.fleet.fleet_view import MAX_PAGE_SIZE, FleetQuery, fleet_page

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
NAV = (("/ui", "Fleet"), ("/ui/circuits", "Circuits"), ("/ui/plans", "Plans and tariffs"),
       ("/ui/audit", "Audit"),
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
<header><strong>chargeplan</strong><nav>{nav}</nav><span id="who" class="muted"></span>
<button id="sign-out" hidden>sign out</button><span id="live" class="live off">offline</span>
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


@get("/ui", include_in_schema=False, opt=PUBLIC)
async def fleet() -> Response[str]:
    return page("Fleet", "fleet.js")


@get("/ui/stations/{station_id:str}", include_in_schema=False, opt=PUBLIC)
async def station(station_id: FromPath[str]) -> Response[str]:
    return page(f"Station {station_id}", "station.js", station_id=station_id)


@get("/ui/circuits", include_in_schema=False, opt=PUBLIC)
async def circuits() -> Response[str]:
    return page("Circuits", "circuits.js")


@get("/ui/plans", include_in_schema=False, opt=PUBLIC)
async def plans() -> Response[str]:
    return page("Plans and tariffs", "plans.js")


@get("/ui/audit", include_in_schema=False, opt=PUBLIC)
async def audit() -> Response[str]:
    return page("Audit", "audit.js")


@get("/ui/api/fleet", include_in_schema=False, dependencies=dependencies, opt=READER)
async def fleet_rows(
    services: ServicesDep,
    q: Annotated[str, Parameter(description="Part of a station id")] = "",
    tag: Annotated[str | None, Parameter(description="Only stations with this tag")] = None,
    state_filter: Annotated[str | None, QueryParameter(
        name="state", description="online, offline, verified, drift, ...")] = None,
    page_number: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    size: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> JsonObject:
    """One page of the fleet table (the dashboard's own read model)."""
    result = await fleet_page(services.db, services.smart_charging,
                              FleetQuery(q.strip(), tag or None, state_filter or None, page_number,
                                         size), services.clock())
    return {"total": result.total, "page": page_number, "size": size, "tags": result.tags,
            "rows": [vars(r) for r in result.rows]}


@get("/ui/login", include_in_schema=False, opt=PUBLIC)
async def login() -> Response[str]:
    return page("Sign in", "login.js")


# --- the dashboard's session: an API key kept in an HttpOnly, SameSite=Strict cookie -----
@get("/ui/session", include_in_schema=False, dependencies=dependencies, opt=PUBLIC)
async def session(request: Request[Any, Any, Any], services: ServicesDep) -> JsonObject:
    """Who the page acts as: ``auth`` false when keys are off (everything allowed);
    ``role`` null when the page must ask for a key."""
    if not services.settings.api_auth:
        return {"auth": False, "role": Role.ADMIN.value, "name": None}
    secret = request.cookies.get(SESSION_COOKIE)
    caller = await services.api_keys.authenticate(secret) if secret else None
    return {"auth": True, "role": caller.role.value if caller else None,
            "name": caller.name if caller else None}


@post("/ui/session", include_in_schema=False, dependencies=dependencies, opt=PUBLIC,
      status_code=HTTP_200_OK)
async def sign_in(request: Request[Any, Any, Any], services: ServicesDep,
                  data: JSONBody[JsonObject]) -> Response[JsonObject]:
    secret = data.get("api_key")
    if not isinstance(secret, str) or not secret.strip():
        raise Invalid("api_key", "required: an API key (cpk_...)")
    # Failed keys count against the address as they do on every other route.
    control: AccessControl = request.app.state.access
    address, now = f"addr:{client_host(request)}", time.monotonic()
    locked = control.failures.retry_after(address, now)
    if locked > 0:
        raise TooManyRequestsException(detail="too many failed API keys from this address",
                                       headers={"Retry-After": str(max(1, int(locked)))})
    caller = await services.api_keys.authenticate(secret.strip())
    if caller is None:
        control.failures.fail(address, now)
        raise NotAuthorizedException(detail="invalid API key (unknown or revoked)")
    control.failures.succeed(address)
    cookie = Cookie(key=SESSION_COOKIE, value=secret.strip(), path="/", httponly=True,
                    samesite="strict", secure=request.url.scheme == "https")
    return Response({"auth": True, "role": caller.role.value, "name": caller.name},
                    cookies=[cookie])


@delete("/ui/session", include_in_schema=False, opt=PUBLIC)
async def sign_out() -> Response[None]:
    return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[Cookie(
        key=SESSION_COOKIE, value="", path="/", httponly=True, samesite="strict",
        max_age=0)])


ui_handlers: list[ControllerRouterHandler] = [
    fleet, station, circuits, plans, audit, fleet_rows, login, session, sign_in, sign_out,
    create_static_files_router(path="/ui/static", directories=[STATIC],
                               include_in_schema=False, opt=dict(PUBLIC)),
]
