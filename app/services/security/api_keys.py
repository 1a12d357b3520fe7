"""REST API keys: created with a role, shown once, stored as a hash, revoked by name;
and the record of every state-changing REST call (who, what, when, which request)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from app.clock import Clock, utcnow
from app.db.access_models import ApiKey, RestRequest
from app.db.engine import Database
from app.domain.access import Role
from app.services.errors import Conflict, Invalid, NotFound
from app.services.fleet.audit_log import decode_cursor, encode_cursor

KEY_PREFIX = "cpk_"
NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_PAGE = 1000


@dataclass(frozen=True)
class Caller:
    """The holder of a valid key, as the REST layer knows it."""

    key_id: int
    name: str
    role: Role


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    # The key itself: shown once, never stored.
    secret: str


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid("role", "must be one of " + ", ".join(r.value for r in Role)) from None


class ApiKeyService:
    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def create(self, name: str, role: str) -> CreatedKey:
        if not NAME_RE.match(name):
            raise Invalid("name", "must be 1 to 64 letters, digits, '.', '_' or '-'")
        checked = parse_role(role)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        async with self._db.uow() as session:
            existing = await session.scalar(select(ApiKey).where(ApiKey.name == name))
            if existing is not None:
                raise Conflict(f"an API key named {name!r} exists already")
            key = ApiKey(name=name, role=checked.value, key_hash=key_hash(secret),
                         prefix=secret[:len(KEY_PREFIX) + 4], created_at=self._clock())
            session.add(key)
        return CreatedKey(key=key, secret=secret)

    async def list(self) -> list[ApiKey]:
        async with self._db.uow() as session:
            return list((await session.scalars(select(ApiKey).order_by(ApiKey.name))).all())

    async def revoke(self, name: str) -> ApiKey:
        async with self._db.uow() as session:
            key = await session.scalar(select(ApiKey).where(ApiKey.name == name))
            if key is None:
                raise NotFound("API key", name)
            if key.revoked_at is None:
                key.revoked_at = self._clock()
        return key

    async def authenticate(self, secret: str) -> Caller | None:
        """The caller a key belongs to, or None for an unknown or revoked key."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        wanted = key_hash(secret)
        async with self._db.core() as conn:
            row = (await conn.execute(
                select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.key_hash)
                .where(ApiKey.key_hash == wanted, ApiKey.revoked_at.is_(None)))).first()
        if row is None or not hmac.compare_digest(row.key_hash, wanted):
            return None
        return Caller(key_id=row.id, name=row.name, role=Role(row.role))

    async def touch(self, key_id: int) -> None:
        async with self._db.core() as conn:
            await conn.execute(update(ApiKey).where(ApiKey.id == key_id)
                               .values(last_used_at=self._clock()))


@dataclass(frozen=True)
class RestAuditPage:
    items: Sequence[RestRequest]
    next_cursor: str | None


class RestAuditService:
    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def record(self, **row: Any) -> None:
        row.setdefault("ts", self._clock())
        async with self._db.core() as conn:
            await conn.execute(insert(RestRequest).values(**row))

    async def page(self, *, key_name: str | None = None, method: str | None = None,
                   path_prefix: str | None = None, since: datetime | None = None,
                   until: datetime | None = None, limit: int = 100,
                   cursor: str | None = None) -> RestAuditPage:
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid("limit", f"must be 1 to {MAX_PAGE}")
        query = select(RestRequest)
        if key_name is not None:
            query = query.where(RestRequest.key_name == key_name)
        if method is not None:
            query = query.where(RestRequest.method == method.upper())
        if path_prefix is not None:
            query = query.where(RestRequest.path.startswith(path_prefix, autoescape=True))
        if since is not None:
            query = query.where(RestRequest.ts >= since)
        if until is not None:
            query = query.where(RestRequest.ts < until)
        if cursor is not None:
            query = query.where(RestRequest.id < decode_cursor(cursor))
        query = query.order_by(RestRequest.id.desc()).limit(limit + 1)
        async with self._db.uow() as session:
            rows = list((await session.scalars(query)).all())
        if len(rows) <= limit:
            return RestAuditPage(rows, None)
        rows = rows[:limit]
        return RestAuditPage(rows, encode_cursor(rows[-1].id))
