"""Reading the OCPP frame audit: filtered, newest first, in keyset-paginated pages.

Pages are keyed on the row id rather than an offset: rows keep arriving while a user
pages back in time, and an offset would then repeat or skip rows.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Select, select

from app.db.engine import Database
from app.db.models import AuditFrame
from app.services.errors import Invalid

MAX_LIMIT = 1000
# Rows fetched at a time while a page is filled.
_CHUNK = 50
_CURSOR_PREFIX = "id:"
# Row ids are signed 64-bit integers on every database.
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class AuditFilter:
    """Every field is optional; the given ones must all match (AND)."""

    station_id: str | None = None
    action: str | None = None
    direction: str | None = None
    message_type: str | None = None
    # Half-open time window: since <= ts < until.
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    frames: Sequence[AuditFrame]
    # Opaque cursor for the next (older) page; None when this page is the last one.
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The row id a cursor points below, or Invalid('cursor') for anything not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if text.startswith(_CURSOR_PREFIX):
            value = int(text[len(_CURSOR_PREFIX):])
            if 0 < value <= _MAX_ID:
                return value
    except (ValueError, UnicodeError, binascii.Error):
        pass
    raise Invalid("cursor", "must be the next_cursor value of a previous page")


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("limit", f"must be 1 to {MAX_LIMIT}")


def check_window(since: datetime | None, until: datetime | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid(name, "must be timezone-aware")
    if since is not None and until is not None and since >= until:
        raise Invalid("until", "must be later than since")


def _filtered(where: AuditFilter) -> Select[AuditFrame]:
    query = select(AuditFrame)
    if where.station_id is not None:
        query = query.where(AuditFrame.station_id == where.station_id)
    if where.action is not None:
        query = query.where(AuditFrame.action == where.action)
    if where.direction is not None:
        query = query.where(AuditFrame.direction == where.direction)
    if where.message_type is not None:
        query = query.where(AuditFrame.message_type == where.message_type)
    if where.since is not None:
        query = query.where(AuditFrame.ts >= where.since)
    if where.until is not None:
        query = query.where(AuditFrame.ts < where.until)
    return query


# Bytes of a page item besides its payload, raw text and description (field names,
# timestamps, ids): an overestimate, so a page stays under its budget.
_ITEM_OVERHEAD = 400


def encoded_size(frame: AuditFrame) -> int:
    """An upper bound of the bytes ``frame`` takes in a JSON page."""
    size = _ITEM_OVERHEAD
    if frame.payload is not None:
        size += len(orjson.dumps(frame.payload))
    for text in (frame.raw, frame.error_description, frame.unique_id, frame.action):
        if text:
            # JSON escapes a control character as up to 6 bytes; UTF-8 takes up to 4.
            size += 6 * len(text) if len(text) < 4096 else len(orjson.dumps(text))
    return size


class AuditLogService:
    def __init__(self, db: Database, *, page_max_bytes: int = 1_048_576) -> None:
        self._db = db
        self._page_max_bytes = page_max_bytes

    async def page(
        self, where: AuditFilter, *, limit: int = 100, cursor: str | None = None
    ) -> AuditPage:
        """Frames matching ``where``, newest first; ``cursor`` continues a previous page.

        A page ends at ``limit`` rows or before its rows pass the byte budget, whichever
        comes first (at least one row, so paging always moves on); rows are read in small
        chunks, so a page of large frames never loads more than it returns and a chunk.
        """
        check_limit(limit)
        check_window(where.since, where.until)
        query = _filtered(where)
        if cursor is not None:
            query = query.where(AuditFrame.id < decode_cursor(cursor))
        # One row more than asked tells whether an older page exists without a COUNT.
        query = (query.order_by(AuditFrame.id.desc()).limit(limit + 1)
                 .execution_options(yield_per=_CHUNK))
        frames: list[AuditFrame] = []
        size = 0
        more = False
        async with self._db.uow() as session:
            async for frame in await session.stream_scalars(query):
                size += encoded_size(frame)
                if len(frames) == limit or (frames and size > self._page_max_bytes):
                    more = True
                    break
                frames.append(frame)
        return AuditPage(frames=frames,
                         next_cursor=encode_cursor(frames[-1].id) if more else None)

    async def recent(self, station_id: str, limit: int = 100) -> Sequence[AuditFrame]:
        """The latest exchanges of one station, newest first."""
        page = await self.page(AuditFilter(station_id=station_id), limit=limit)
        return page.frames
