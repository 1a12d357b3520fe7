"""/audit: every OCPP-J frame in both directions, filtered and paged newest first."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from app.api.access import ADMIN, READER
from app.api.access_schemas import RestAuditPageView, rest_audit_item
from app.api.deps import AuditLogDep, ServicesDep, dependencies
from app.api.errors import error_responses
from app.api.paging import CursorQuery, LimitQuery, SinceQuery, UntilQuery
from app.api.schemas import AuditPageView, Direction, MessageType, as_utc, audit_item
from app.services.fleet.audit_log import AuditFilter


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    dependencies = dependencies

    @get("/", opt=READER, summary="OCPP frames, newest first, with cursor pagination",
         responses=error_responses())
    async def list_frames(
        self,
        audit_log: AuditLogDep,
        station_id: Annotated[str | None, Parameter(description="Only this station")] = None,
        action: Annotated[
            str | None, Parameter(description="Only this OCPP action, e.g. MeterValues")
        ] = None,
        direction: Annotated[
            Direction | None, Parameter(description="in = from stations, out = to stations")
        ] = None,
        message_type: Annotated[
            MessageType | None, Parameter(description="CALL, CALLRESULT, CALLERROR or INVALID")
        ] = None,
        since: SinceQuery = None,
        until: UntilQuery = None,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> AuditPageView:
        where = AuditFilter(
            station_id=station_id, action=action, direction=direction,
            message_type=message_type, since=as_utc(since, "since"),
            until=as_utc(until, "until"),
        )
        page = await audit_log.page(where, limit=limit, cursor=cursor)
        return AuditPageView(items=[audit_item(r) for r in page.frames],
                             next_cursor=page.next_cursor)

    @get("/rest", opt=ADMIN, summary="State-changing REST calls: who, what, when, newest first",
         responses=error_responses())
    async def list_rest_calls(
        self,
        services: ServicesDep,
        key_name: Annotated[str | None, Parameter(description="Only this API key")] = None,
        method: Annotated[
            str | None, Parameter(description="Only this method: POST, PUT, PATCH or DELETE")
        ] = None,
        path_prefix: Annotated[
            str | None, Parameter(description="Only paths starting with this, e.g. /stations/")
        ] = None,
        since: SinceQuery = None,
        until: UntilQuery = None,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> RestAuditPageView:
        page = await services.rest_audit.page(
            key_name=key_name, method=method, path_prefix=path_prefix,
            since=as_utc(since, "since"), until=as_utc(until, "until"), limit=limit,
            cursor=cursor)
        return RestAuditPageView(items=[rest_audit_item(r) for r in page.items],
                                 next_cursor=page.next_cursor)
