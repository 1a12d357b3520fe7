"""/health: is this process able to serve stations and users right now?"""

from __future__ import annotations

from litestar import MediaType, Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from app.api.access import PUBLIC
from app.api.deps import ServicesDep, dependencies
from app.api.schemas import HealthView

# A load balancer's probe must get an answer even when the database hangs.
DATABASE_CHECK_TIMEOUT_S = 2.0


@get("/health", summary="Liveness and readiness", tags=["health"], dependencies=dependencies,
     opt=PUBLIC,
     responses={HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
         data_container=HealthView, generate_examples=False,
         description="A check failed: status `degraded`, the failing check is false")})
async def health(services: ServicesDep) -> Response[HealthView]:
    database = await services.db.reachable(DATABASE_CHECK_TIMEOUT_S)
    listener = services.status.ocpp_listening
    problems = services.status.node_problems() + services.status.writer_problems()
    if not database:
        problems.insert(0, "database unreachable")
    if not listener:
        problems.insert(0, "OCPP listener not open")
    healthy = not problems
    body = HealthView(
        status="ok" if healthy else "degraded",
        database=database,
        ocpp_listener=listener,
        connected_stations=services.status.connected_stations(),
        audit_queue_depth=services.status.audit_queue_depth(),
        problems=problems,
    )
    return Response(
        content=body,
        status_code=HTTP_200_OK if healthy else HTTP_503_SERVICE_UNAVAILABLE,
        media_type=MediaType.JSON,
    )

