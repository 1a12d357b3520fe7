"""Who may call each REST route, and the record of what they changed.

Every route handler declares the least role that may call it, in its ``opt``::

    @get("/", opt=READER)          # any valid key
    @post("/", opt=OPERATOR)       # operator or admin
    @delete("/{id}", opt=ADMIN)    # admin only
    @get("/health", opt=PUBLIC)    # no key at all

``require_role`` (an app-wide guard) enforces it: no or a malformed ``Authorization:
Bearer <key>`` header or an unknown or revoked key is 401, a key with too small a role
403, each with a JSON body saying which. A route that declares nothing is refused to
everyone (fail closed), and ``tests/integration/test_api_access.py`` fails for it: the
matrix there is generated from the app's route table.

Failed keys are counted per client address with exponential lockout, and requests are
rate limited per key (by role) and per address: both answer 429 with ``Retry-After``.
``RestAudit`` records every state-changing call (POST, PUT, PATCH, DELETE) with the key's
name, the request, its answer and a request id (also sent back as ``X-Request-Id``).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import orjson
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from app.domain.access import Role, mask_secrets, permits
from app.domain.lockout import Lockout, LockoutPolicy, RateLimiter
from app.services.security.api_keys import Caller
from app.settings import Settings

log = logging.getLogger("chargeplan.api")

ACCESS = "access"
PUBLIC: Mapping[str, Any] = {ACCESS: "public"}
# /metrics: public unless CHARGEPLAN_METRICS_AUTH=true, then readers.
METRICS: Mapping[str, Any] = {ACCESS: "metrics"}
READER: Mapping[str, Any] = {ACCESS: Role.READER}
OPERATOR: Mapping[str, Any] = {ACCESS: Role.OPERATOR}
ADMIN: Mapping[str, Any] = {ACCESS: Role.ADMIN}

CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The dashboard keeps the key it was given in this HttpOnly, SameSite=Strict cookie; it
# counts as the bearer key when a request carries no Authorization header.
SESSION_COOKIE = "chargeplan_session"
_CALLER = "api_caller"
# What the REST audit keeps of a request body.
_MAX_AUDITED_BODY = 65536


def declared_access(handler: BaseRouteHandler) -> str | Role | None:
    """What a handler declared; Litestar's generated OPTIONS handlers (CORS preflight,
    which carries no credentials) are public."""
    value = handler.opt.get(ACCESS)
    if value is None and getattr(handler, "handler_name", "") == "options_handler":
        return "public"
    if value is None or value in ("public", "metrics") or isinstance(value, Role):
        return cast("str | Role | None", value)
    return None


@dataclass
class AccessControl:
    """The throttles of one app: failed keys per address, request rates per key and
    per address."""

    settings: Settings
    failures: Lockout
    rates: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessControl:
        policy = LockoutPolicy(failures_allowed=settings.api_auth_failures_allowed,
                               window_s=60.0, base_lock_s=settings.api_auth_lock_s,
                               max_lock_s=settings.api_auth_max_lock_s)
        return cls(settings=settings, failures=Lockout(policy), rates=RateLimiter())

    def per_minute(self, role: Role) -> float:
        s = self.settings
        return {Role.READER: s.api_rate_reader_per_min, Role.OPERATOR: s.api_rate_operator_per_min,
                Role.ADMIN: s.api_rate_admin_per_min}[role]

    def take(self, key: str, per_minute: float) -> None:
        # A tenth of a minute's worth may come at once.
        wait = self.rates.take(key, per_minute / 60.0, max(10.0, per_minute / 6.0),
                               time.monotonic())
        if wait > 0:
            raise _too_many("request rate limit exceeded", wait)


def _too_many(detail: str, wait: float) -> TooManyRequestsException:
    return TooManyRequestsException(
        detail=f"{detail}; retry after {math.ceil(wait)} s",
        headers={"Retry-After": str(max(1, math.ceil(wait)))})


def _unauthorized(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": "Bearer"})


def client_host(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


async def require_role(connection: ASGIConnection[Any, Any, Any, Any],
                       handler: BaseRouteHandler) -> None:
    access = declared_access(handler)
    control: AccessControl = connection.app.state.access
    settings = control.settings
    if access == "public" or (access == "metrics" and not settings.metrics_auth):
        return
    if access is None:
        raise PermissionDeniedException(
            detail="this route declares no access rule, so nobody may call it")
    required = Role.READER if access == "metrics" else Role(access)
    if not settings.api_auth:
        return
    host = client_host(connection)
    now = time.monotonic()
    locked = control.failures.retry_after(f"addr:{host}", now)
    if locked > 0:
        raise _too_many("too many failed API keys from this address", locked)
    control.take(f"addr:{host}", settings.api_rate_address_per_min)
    header = connection.headers.get("Authorization")
    if header is None and connection.cookies.get(SESSION_COOKIE):
        header = f"Bearer {connection.cookies[SESSION_COOKIE]}"
    if header is None:
        raise _unauthorized("missing API key: send Authorization: Bearer <key>")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthorized("malformed Authorization header: expected Bearer <key>")
    services = connection.app.state.services
    caller: Caller | None = await services.api_keys.authenticate(secret.strip())
    if caller is None:
        if control.failures.fail(f"addr:{host}", now):
            log.warning("API keys locked out for %s after repeated failures", host)
        raise _unauthorized("invalid API key (unknown or revoked)")
    control.failures.succeed(f"addr:{host}")
    cast(dict[str, Any], connection.scope).setdefault("state", {})[_CALLER] = caller
    if not permits(caller.role, required):
        raise PermissionDeniedException(
            detail=f"this endpoint needs the {required.value} role; key {caller.name!r} "
            f"has {caller.role.value}")
    control.take(f"key:{caller.key_id}", control.per_minute(caller.role))


def caller_of(scope: Scope | dict[str, Any]) -> Caller | None:
    state = cast(dict[str, Any], scope).get("state") or {}
    caller = state.get(_CALLER)
    return caller if isinstance(caller, Caller) else None


# The documentation pages load everything from this server (inline scripts included).
_HTML_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)
_ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
_HTML_ONLY = [(b"content-security-policy", _HTML_POLICY.encode()),
              (b"x-frame-options", b"DENY")]


def security_headers(app: ASGIApp) -> ASGIApp:
    """nosniff and no referrer on every answer; a content policy and no framing on the
    HTML pages (the API docs)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if cast(dict[str, Any], scope)["type"] != "http":
            await app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html")
                           for k, v in headers)
                headers.extend(_ALWAYS)
                if html:
                    headers.extend(_HTML_ONLY)
                message["headers"] = headers
            await send(message)

        await app(scope, receive, sending)

    return middleware


def rest_audit(app: ASGIApp) -> ASGIApp:
    """Records each state-changing call once it is answered (not those refused with 429:
    a flood must not become a flood of rows)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        raw = cast(dict[str, Any], scope)
        if raw["type"] != "http" or raw["method"] not in CHANGING_METHODS:
            await app(scope, receive, send)
            return
        raw.setdefault("state", {})
        request_id = str(uuid.uuid4())
        body = bytearray()
        status: list[int] = []

        async def receiving() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.request" and len(body) < _MAX_AUDITED_BODY:
                body.extend(message.get("body", b"")[:_MAX_AUDITED_BODY - len(body)])
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receiving, sending)
        finally:
            if status and status[0] != 429:
                await _record(raw, request_id, status[0], bytes(body))

    return middleware


async def _record(scope: dict[str, Any], request_id: str, status_code: int, body: bytes) -> None:
    caller = caller_of(scope)
    client = scope.get("client")
    query = scope.get("query_string", b"").decode("latin-1") or None
    try:
        services = scope["app"].state.services
        await services.rest_audit.record(
            request_id=request_id, key_name=caller.name if caller else None,
            role=caller.role.value if caller else None, method=scope["method"],
            path=scope["path"][:500], query=query[:2000] if query else None,
            status_code=status_code, remote_address=client[0] if client else None,
            body=_audited_body(body))
    except Exception:  # the call itself is done; a lost audit row must not fail it
        log.exception("recording REST call %s %s failed", scope["method"], scope["path"])


def _audited_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        masked = mask_secrets(orjson.loads(body))
    except orjson.JSONDecodeError:
        return {"unparsed_bytes": len(body)}
    return masked if isinstance(masked, dict) else {"json": masked}
