"""API documentation: Swagger UI at /docs, ReDoc at /redoc, the schema at /docs/openapi.json."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin

_redoc = RedocRenderPlugin(path="/redoc")

openapi_config = OpenAPIConfig(
    title="chargeplan",
    version="0.1.0",
    description="OCPP 1.6J smart-charging controller: stations, id tags, OCPP audit.",
    path="/docs",
    render_plugins=[SwaggerRenderPlugin(path="/"), JsonRenderPlugin(), _redoc],
)


# Litestar mounts every documentation page under OpenAPIConfig.path; ReDoc is also
# served at the top level, where users look for it.
@get("/redoc", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
def redoc(request: Request[Any, Any, Any]) -> bytes:
    return _redoc.render(request, request.app.openapi_schema.to_schema())
