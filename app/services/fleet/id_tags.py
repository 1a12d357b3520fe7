"""The central id-tag list: Authorize and StartTransaction check tags against it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.models import IdTag
from app.domain.needs import DailyDefault
from app.domain.protocol_rules import ID_TOKEN_LENGTH
from app.json_types import JsonObject
from app.services.errors import Conflict, Invalid, NotFound
from app.services.load.needs import checked_default

# OCPP 1.6 §7.2 AuthorizationStatus (ConcurrentTx is decided per transaction, not stored).
STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")


def check_id_tag(id_tag: str, field: str = "id_tag") -> None:
    if not id_tag or len(id_tag) > ID_TOKEN_LENGTH:
        raise Invalid(field, f"must be 1 to {ID_TOKEN_LENGTH} characters (an OCPP 2.0.1 "
                             "idToken; a 1.6 station takes at most 20)")


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise Invalid("status", "must be one of " + ", ".join(STATUSES))


class IdTagService:
    def __init__(self, db: Database, *, unknown_status: str, clock: Clock = utcnow) -> None:
        self._db = db
        self._unknown_status = unknown_status
        self._clock = clock

    async def id_tag_info(self, id_tag: str) -> JsonObject:
        """OCPP 1.6 §7.27 IdTagInfo for this tag, as Authorize.conf carries it."""
        async with self._db.uow() as session:
            row = await session.get(IdTag, id_tag)
        if row is None:
            return {"status": self._unknown_status}
        status = row.status
        expired = row.expiry_date is not None and row.expiry_date <= self._clock()
        if status == "Accepted" and expired:
            status = "Expired"
        info: JsonObject = {"status": status}
        if row.expiry_date is not None:
            info["expiryDate"] = row.expiry_date.isoformat().replace("+00:00", "Z")
        if row.parent_id_tag:
            info["parentIdTag"] = row.parent_id_tag
        return info

    async def list_all(self) -> list[IdTag]:
        async with self._db.uow() as session:
            return list((await session.scalars(select(IdTag).order_by(IdTag.id_tag))).all())

    async def get(self, id_tag: str) -> IdTag:
        async with self._db.uow() as session:
            row = await session.get(IdTag, id_tag)
        if row is None:
            raise NotFound("id_tag", id_tag)
        return row

    async def create(self, id_tag: str, status: str, expiry_date: datetime | None,
                     parent_id_tag: str | None) -> IdTag:
        check_id_tag(id_tag)
        _check_status(status)
        if parent_id_tag is not None:
            check_id_tag(parent_id_tag, "parent_id_tag")
        now = self._clock()
        async with self._db.uow() as session:
            if await session.get(IdTag, id_tag) is not None:
                raise Conflict(f"id_tag {id_tag!r} already exists")
            session.add(IdTag(id_tag=id_tag, status=status, expiry_date=expiry_date,
                              parent_id_tag=parent_id_tag, created_at=now, updated_at=now))
        return await self.get(id_tag)

    async def replace(self, id_tag: str, changes: Mapping[str, Any]) -> IdTag:
        if "status" in changes:
            _check_status(changes["status"])
        if changes.get("parent_id_tag") is not None:
            check_id_tag(changes["parent_id_tag"], "parent_id_tag")
        async with self._db.uow() as session:
            row = await session.get(IdTag, id_tag)
            if row is None:
                raise NotFound("id_tag", id_tag)
            for key in ("status", "expiry_date", "parent_id_tag"):
                if key in changes:
                    setattr(row, key, changes[key])
            row.updated_at = self._clock()
        return await self.get(id_tag)

    async def set_default_needs(self, id_tag: str, default: DailyDefault | None) -> IdTag:
        """What the tag's sessions need unless a request says otherwise (None: nothing)."""
        stored = checked_default(default)
        async with self._db.uow() as session:
            row = await session.get(IdTag, id_tag)
            if row is None:
                raise NotFound("id_tag", id_tag)
            row.default_needs = stored
            row.updated_at = self._clock()
        return await self.get(id_tag)

    async def delete(self, id_tag: str) -> None:
        async with self._db.uow() as session:
            row = await session.get(IdTag, id_tag)
            if row is None:
                raise NotFound("id_tag", id_tag)
            await session.delete(row)
