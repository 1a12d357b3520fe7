"""The app factory and the one lifespan that owns every resource of a running server
(built by ``app.bootstrap``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.logging.config import LoggingConfig

from app.bootstrap import bootstrap
from app.clock import Clock, utcnow
from app.settings import Settings

# Litestar leaves the root logger and its format to the process (`chargeplan serve` sets
# one format for every line, from the first); its own records go there too.
LOGGING = LoggingConfig(configure_root_logger=False,
                        loggers={"litestar": {"level": "INFO", "propagate": True}})


def create_app(settings: Settings, *, clock: Clock = utcnow) -> Litestar:
    from app.api import exception_handlers, openapi_config, route_handlers
    from app.api.access import AccessControl, require_role, rest_audit, security_headers

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.services = await bootstrap(settings, clock, stack)
            yield

    origins = settings.cors_origin_list
    app = Litestar(
        route_handlers=route_handlers,
        exception_handlers=exception_handlers,
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        logging_config=LOGGING,
        # Every route declares the least role that may call it (app.api.access).
        guards=[require_role],
        middleware=[security_headers, rest_audit],
        request_max_body_size=settings.max_body_bytes,
        cors_config=CORSConfig(allow_origins=origins, allow_credentials=False,
                               allow_headers=["Authorization", "Content-Type"])
        if origins else None,
    )
    app.state.access = AccessControl.from_settings(settings)
    return app
