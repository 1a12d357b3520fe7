"""API documentation: Swagger UI at /docs, ReDoc at /redoc, the schema at /docs/openapi.json."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Router, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from app.api.access import PUBLIC

_redoc = RedocRenderPlugin(path="/redoc")
BEARER = "ApiKey"


def openapi_config() -> OpenAPIConfig:
    """A fresh config per app (the docs router it holds belongs to one app). Every
    operation needs a bearer API key unless it says otherwise; /docs has an Authorize
    button for it."""
    return OpenAPIConfig(
        title="chargeplan",
        version="0.1.0",
        description="OCPP 1.6J smart-charging controller: stations, id tags, OCPP audit. "
        "Send `Authorization: Bearer <key>` (create one with `chargeplan apikey create`); "
        "each operation's description names the least role it needs.",
        # The documentation pages themselves are public.
        openapi_router=Router(path="/docs", route_handlers=[], opt=dict(PUBLIC),
                              include_in_schema=False),
        render_plugins=[SwaggerRenderPlugin(path="/"), JsonRenderPlugin(), _redoc],
        components=Components(security_schemes={BEARER: SecurityScheme(
            type="http", scheme="bearer",
            description="An API key from `chargeplan apikey create --name NAME --role "
            "reader|operator|admin`")}),
        security=[{BEARER: []}],
    )


# Litestar mounts every documentation page under OpenAPIConfig.path; ReDoc is also
# served at the top level, where users look for it.
@get("/redoc", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False,
     opt=PUBLIC)
def redoc(request: Request[Any, Any, Any]) -> bytes:
    return _redoc.render(request, request.app.openapi_schema.to_schema())
