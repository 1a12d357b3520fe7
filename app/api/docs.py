"""API documentation that works offline: Swagger UI at /docs, ReDoc at /redoc, the
OpenAPI document at /openapi.json (and /docs/openapi.json).

The pages load their scripts and styles from this server, from the files of the
``openapi-ui-bundles`` package (a PyPI dependency), never from a CDN: on a machine without
internet the pages still render. ReDoc is told not to fetch Google fonts.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import openapi_ui_bundles
from litestar import MediaType, Request, Router, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from app.api.access import PUBLIC

BEARER = "ApiKey"
ASSETS = "/docs/assets"
SWAGGER_ASSETS = f"{ASSETS}/swagger-ui"
REDOC_ASSETS = f"{ASSETS}/redoc"
_FAVICON = f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>"

# ReDoc's bundle draws a logo it loads from its vendor's CDN; the copy served here draws
# none (the image's error handler hides it), so the page asks no outside host.
REDOC_JS = f"{ASSETS}/redoc-offline.js"
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

_redoc = RedocRenderPlugin(path="/redoc", js_url=REDOC_JS,
                           google_fonts=False, favicon=_FAVICON)
_json = JsonRenderPlugin()

DESCRIPTION = """\
OCPP 1.6J smart-charging controller. Charge point operators and energy-management systems
say *what* every charger's limits should be; chargeplan makes the chargers hold exactly
that, proves they do, and keeps a SQL record of every word said to them.

- **stations**: registry, passwords (security profile 1), tags, connectors, reports;
  **id tags**; **transactions** (charging sessions).
- **smart charging**: charging profiles stored as desired state, delivered with
  SetChargingProfile, composite schedules (what the station reports against what it
  should), test scenarios; **plans** (one profile on many stations) and **tariffs**
  (time-of-use, regenerated daily); **circuits** (limits shared among sessions).
- **commands**: any message OCPP 1.6 lets the central system send.
- **jobs**: reconcile, verify, retry; **audit**: every OCPP frame both ways and every
  state-changing REST call; **health** and **metrics**; **API keys** with roles.

Send `Authorization: Bearer <key>` (create one with `chargeplan apikey create`); each
operation's description names the least role it needs. A 400 lists every field at fault
in `extra` (`key` as the client spelt it)."""


def openapi_config() -> OpenAPIConfig:
    """A fresh config per app (the docs router it holds belongs to one app). Every
    operation needs a bearer API key unless it says otherwise; /docs has an Authorize
    button for it."""
    return OpenAPIConfig(
        title="chargeplan",
        version="0.1.0",
        description=DESCRIPTION,
        # The documentation pages themselves are public.
        openapi_router=Router(path="/docs", route_handlers=[], opt=dict(PUBLIC),
                              include_in_schema=False),
        render_plugins=[
            SwaggerRenderPlugin(
                path="/", js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
                favicon=_FAVICON),
            _json, _redoc],
        components=Components(security_schemes={BEARER: SecurityScheme(
            type="http", scheme="bearer",
            description="An API key from `chargeplan apikey create --name NAME --role "
            "reader|operator|admin`")}),
        security=[{BEARER: []}],
    )


# Litestar mounts every documentation page under OpenAPIConfig.path; ReDoc and the
# document are also served at the top level, where users look for them.
@get("/redoc", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False,
     opt=PUBLIC)
def redoc(request: Request[Any, Any, Any]) -> bytes:
    return _redoc.render(request, request.app.openapi_schema.to_schema())


@get("/openapi.json", media_type="application/vnd.oai.openapi+json", include_in_schema=False,
     sync_to_thread=False, opt=PUBLIC)
def openapi_json(request: Request[Any, Any, Any]) -> bytes:
    return _json.render(request, request.app.openapi_schema.to_schema())


@cache
def _redoc_offline() -> bytes:
    bundle = (Path(openapi_ui_bundles.redoc.static_path) / "redoc.standalone.js").read_bytes()
    return bundle.replace(_REDOC_LOGO, b"data:,")


@get(REDOC_JS, media_type="text/javascript", include_in_schema=False, sync_to_thread=False,
     opt=PUBLIC)
def redoc_offline_js() -> bytes:
    return _redoc_offline()


docs_assets = [
    create_static_files_router(path=SWAGGER_ASSETS, name="swagger-ui-assets", opt=dict(PUBLIC),
                               directories=[openapi_ui_bundles.swagger_ui.static_path]),
    create_static_files_router(path=REDOC_ASSETS, name="redoc-assets", opt=dict(PUBLIC),
                               directories=[openapi_ui_bundles.redoc.static_path]),
]
