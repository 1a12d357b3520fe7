"""Per-station leases in the database, so two server processes never work on the same
station at once (a row per station; claimed when free, expired, already ours, or held by
a node that stopped beating: a node that dies holds nothing)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.clock import Clock, utcnow
from app.db.batching import chunks
from app.db.engine import Database
from app.db.fleet_models import Node, StationLease


class LeaseService:
    def __init__(self, db: Database, node_id: str, *, ttl_s: float = 120.0,
                 node_stale_s: float | None = None, clock: Clock = utcnow) -> None:
        self._db = db
        self._node = node_id
        self._ttl = timedelta(seconds=ttl_s)
        self._stale = None if node_stale_s is None else timedelta(seconds=node_stale_s)
        self._clock = clock

    async def claim_many(self, station_ids: Iterable[str]) -> set[str]:
        """Claim the leases of many stations in a few statements; the ones claimed."""
        ids = sorted(set(station_ids))
        if self._db.dialect == "sqlite" or not ids:
            return set(ids)
        now = self._clock()
        claimed: set[str] = set()
        free_if = [StationLease.node_id == self._node, StationLease.expires_at < now]
        if self._stale is not None:
            alive = select(Node.id).where(Node.heartbeat_at >= now - self._stale)
            free_if.append(StationLease.node_id.not_in(alive))
        async with self._db.uow() as session:
            for batch in chunks(ids):
                claimed.update((await session.scalars(
                    update(StationLease).where(
                        StationLease.station_id.in_(batch), or_(*free_if))
                    .values(node_id=self._node, expires_at=now + self._ttl)
                    .returning(StationLease.station_id))).all())
                free = [sid for sid in batch if sid not in claimed]
                if free:
                    # A live lease of another process stays: the insert skips it.
                    claimed.update((await session.scalars(
                        pg_insert(StationLease).values([
                            {"station_id": sid, "node_id": self._node,
                             "expires_at": now + self._ttl} for sid in free])
                        .on_conflict_do_nothing().returning(StationLease.station_id))).all())
        return claimed

    async def release_many(self, station_ids: Iterable[str]) -> None:
        ids = sorted(set(station_ids))
        if self._db.dialect == "sqlite" or not ids:
            return
        async with self._db.uow() as session:
            for batch in chunks(ids):
                await session.execute(delete(StationLease).where(
                    StationLease.station_id.in_(batch), StationLease.node_id == self._node))

    @asynccontextmanager
    async def held_many(self, station_ids: Iterable[str]) -> AsyncIterator[set[str]]:
        """``async with leases.held_many(ids) as mine:`` work only on ``mine``."""
        claimed = await self.claim_many(station_ids)
        try:
            yield claimed
        finally:
            await self.release_many(claimed)
