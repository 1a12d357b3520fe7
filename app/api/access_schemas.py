"""REST schemas of API keys and of the REST audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from app.db.access_models import ApiKey, RestRequest
from app.json_types import JsonObject

RoleName = Literal["reader", "operator", "admin"]


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new API key: its holder's name and role."""

    name: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$",
                              description="Who holds the key; recorded with every change")]
    role: Annotated[RoleName, Meta(description="reader, operator or admin")]


class ApiKeyView(msgspec.Struct, kw_only=True):
    """An API key as listed: never the key itself."""

    name: Annotated[str, Meta(description="Who holds the key")]
    role: Annotated[str, Meta(description="reader, operator or admin")]
    prefix: Annotated[str, Meta(description="The key's first characters, to recognise it")]
    created_at: Annotated[datetime, Meta(description="When it was created (UTC)")]
    last_used_at: Annotated[datetime | None, Meta(
        description="When it was last accepted (UTC); null if never")]
    revoked_at: Annotated[datetime | None, Meta(
        description="When it was revoked (UTC); null while it is valid")]


class CreatedApiKeyView(ApiKeyView, kw_only=True):
    """A key just created: the only answer that contains the key."""

    key: Annotated[str, Meta(description="The key itself: shown this once, never again")]


class RestAuditItem(msgspec.Struct, kw_only=True):
    """One state-changing REST call and its answer."""

    id: Annotated[int, Meta(description="Row id (newest is highest)")]
    ts: Annotated[datetime, Meta(description="When it was answered (UTC)")]
    request_id: Annotated[str, Meta(description="Also sent back as X-Request-Id")]
    key_name: Annotated[str | None, Meta(
        description="The API key's name; null for calls refused before a key was known, "
        "or with CHARGEPLAN_API_AUTH=off")]
    role: Annotated[str | None, Meta(description="The key's role at the time")]
    method: Annotated[str, Meta(description="POST, PUT, PATCH or DELETE")]
    path: Annotated[str, Meta(description="The request path")]
    query: Annotated[str | None, Meta(description="The query string, if any")]
    status_code: Annotated[int, Meta(description="The HTTP status of the answer")]
    remote_address: Annotated[str | None, Meta(description="The client's address")]
    body: Annotated[JsonObject | None, Meta(
        description="The JSON body (an object), secrets masked as ***; null when empty")]


class RestAuditPageView(msgspec.Struct, kw_only=True):
    """A page of the REST audit."""

    items: Annotated[list[RestAuditItem], Meta(description="Newest first")]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as ?cursor= for the next, older page; null at the end")
    ]


def api_key_view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(name=key.name, role=key.role, prefix=key.prefix,
                      created_at=key.created_at, last_used_at=key.last_used_at,
                      revoked_at=key.revoked_at)


def rest_audit_item(row: RestRequest) -> RestAuditItem:
    return RestAuditItem(id=row.id, ts=row.ts, request_id=row.request_id, key_name=row.key_name,
                         role=row.role, method=row.method, path=row.path, query=row.query,
                         status_code=row.status_code, remote_address=row.remote_address,
                         body=row.body)
