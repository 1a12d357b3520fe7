"""/security_events: what hostile or broken clients did and what the server did about it;
also what stations report with SecurityEventNotification (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import Parameter
from msgspec import Meta

from app.api.access import ADMIN
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.api.paging import CursorQuery, LimitQuery, SinceQuery, UntilQuery
from app.api.schemas import as_utc
from app.db.security_models import SecurityEvent, SecurityEventKind
from app.json_types import JsonObject
from app.services.security.security_events import security_event_page

KindName = Annotated[str, Meta(description="What happened: " + ", ".join(
    k.value for k in SecurityEventKind))]


class SecurityEventView(msgspec.Struct, kw_only=True):
    """One security event."""

    id: Annotated[int, Meta(description="Row id (newest is highest)")]
    ts: Annotated[datetime, Meta(description="When it happened (UTC)")]
    kind: KindName
    station_id: Annotated[str | None, Meta(description="The station concerned, if any")]
    remote_address: Annotated[str | None, Meta(description="The client's address, if any")]
    detail: Annotated[JsonObject | None, Meta(
        description="Kind-specific facts (reason, lockout seconds, repeated count...)")]


class SecurityEventPageView(msgspec.Struct, kw_only=True):
    """A page of security events."""

    items: Annotated[list[SecurityEventView], Meta(description="Newest first")]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as ?cursor= for the next, older page; null at the end")
    ]


def _view(row: SecurityEvent) -> SecurityEventView:
    return SecurityEventView(id=row.id, ts=row.ts, kind=row.kind, station_id=row.station_id,
                             remote_address=row.remote_address, detail=row.detail)


class SecurityEventController(Controller):
    path = "/security_events"
    tags = ["security"]
    dependencies = dependencies

    @get("/", opt=ADMIN, summary="Security events, newest first, with cursor pagination",
         responses=error_responses())
    async def list_events(
        self,
        services: ServicesDep,
        station_id: Annotated[str | None, Parameter(description="Only this station")] = None,
        kind: Annotated[str | None, Parameter(description="Only this kind")] = None,
        remote_address: Annotated[
            str | None, Parameter(description="Only this client address")] = None,
        since: SinceQuery = None,
        until: UntilQuery = None,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> SecurityEventPageView:
        page = await security_event_page(
            services.db, station_id=station_id, kind=kind, remote_address=remote_address,
            since=as_utc(since, "since"), until=as_utc(until, "until"), limit=limit,
            cursor=cursor)
        return SecurityEventPageView(items=[_view(r) for r in page.events],
                                     next_cursor=page.next_cursor)
