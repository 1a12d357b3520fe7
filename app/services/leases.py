"""Per-station leases in the database, so two server processes never work on the same
station at once (a row per station; claimed when free, expired or already ours)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.fleet_models import StationLease


class LeaseService:
    def __init__(self, db: Database, node_id: str, *, ttl_s: float = 120.0,
                 clock: Clock = utcnow) -> None:
        self._db = db
        self._node = node_id
        self._ttl = timedelta(seconds=ttl_s)
        self._clock = clock

    async def claim(self, station_id: str) -> bool:
        if self._db.dialect == "sqlite":
            # A SQLite file serves one server process (one writer); there is nobody to
            # share a station with, so skip two transactions per station per job.
            return True
        now = self._clock()
        async with self._db.uow() as session:
            result = await session.execute(
                update(StationLease).where(
                    StationLease.station_id == station_id,
                    or_(StationLease.node_id == self._node, StationLease.expires_at < now))
                .values(node_id=self._node, expires_at=now + self._ttl))
            if result.rowcount:  # type: ignore[attr-defined]
                return True
        try:
            async with self._db.uow() as session:
                session.add(StationLease(station_id=station_id, node_id=self._node,
                                         expires_at=now + self._ttl))
        except IntegrityError:
            return False  # another process holds a live lease
        return True

    async def release(self, station_id: str) -> None:
        if self._db.dialect == "sqlite":
            return
        async with self._db.uow() as session:
            await session.execute(delete(StationLease).where(
                StationLease.station_id == station_id, StationLease.node_id == self._node))

    @asynccontextmanager
    async def held(self, station_id: str) -> AsyncIterator[bool]:
        """``async with leases.held(sid) as ok:`` work only when ``ok``."""
        claimed = await self.claim(station_id)
        try:
            yield claimed
        finally:
            if claimed:
                await self.release(station_id)
