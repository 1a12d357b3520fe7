"""Server processes (nodes) and which of them are alive.

Each process records itself in ``nodes`` when it starts and beats every few seconds.
A station's ``node_id`` names the process holding its socket; a node that stopped
beating holds nothing any more, so its stations are offline. On start, before the
listener opens, the stations of every other node that is not alive are released; on
SQLite, where one process owns the file, that is every station.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from app.clock import Clock, utcnow
from app.db.batching import chunks
from app.db.engine import Database
from app.db.fleet_models import Node
from app.db.models import Station

log = logging.getLogger("chargeplan.nodes")

# Beats a node may miss before it counts as gone.
MISSED_BEATS = 3


class NodeService:
    def __init__(self, db: Database, node_id: str, *, heartbeat_s: float,
                 clock: Clock = utcnow) -> None:
        self._db = db
        self.node_id = node_id
        self.heartbeat_s = heartbeat_s
        self._stale = timedelta(seconds=heartbeat_s * MISSED_BEATS)
        self._clock = clock

    async def register(self) -> int:
        """Record this node as alive and release the stations of nodes that are not;
        the number of stations marked offline."""
        now = self._clock()
        async with self._db.uow() as session:
            await session.execute(delete(Node).where(Node.id == self.node_id))
            session.add(Node(id=self.node_id, started_at=now, heartbeat_at=now))
        if self._db.dialect == "sqlite":
            # One process per SQLite file: whoever held a station before is gone.
            released = await self._release(Station.node_id.is_distinct_from(self.node_id))
        else:
            released = await self.release_lapsed()
        if released:
            log.info("%d stations held by processes no longer alive marked offline", released)
        return released

    async def beat(self) -> int:
        """Say this node is alive; release the stations of nodes that stopped beating."""
        async with self._db.uow() as session:
            await session.execute(update(Node).where(Node.id == self.node_id)
                                  .values(heartbeat_at=self._clock()))
        return await self.release_lapsed()

    async def release_lapsed(self) -> int:
        alive = select(Node.id).where(Node.heartbeat_at >= self._clock() - self._stale)
        return await self._release(or_(Station.node_id.is_(None),
                                       Station.node_id.not_in(alive)))

    async def leave(self) -> None:
        """A clean stop: this node holds nothing any more."""
        async with self._db.uow() as session:
            await session.execute(delete(Node).where(Node.id == self.node_id))

    async def _release(self, held_by: object) -> int:
        async with self._db.uow() as session:
            result = await session.execute(
                update(Station).where(Station.online.is_(True), held_by)  # type: ignore[arg-type]
                .values(online=False))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def reclaim(self, station_ids: list[str]) -> int:
        """After the database was out of reach: the stations whose sockets this node still
        holds are its own again, unless a live node took them meanwhile."""
        if not station_ids:
            return 0
        alive = select(Node.id).where(Node.heartbeat_at >= self._clock() - self._stale)
        count = 0
        async with self._db.uow() as session:
            for batch in chunks(sorted(station_ids)):
                result = await session.execute(
                    update(Station).where(
                        Station.id.in_(batch),
                        or_(Station.node_id.is_(None), Station.node_id == self.node_id,
                            Station.node_id.not_in(alive)))
                    .values(online=True, node_id=self.node_id))
                count += int(result.rowcount or 0)  # type: ignore[attr-defined]
        return count

    async def listing(self) -> list[NodeListing]:
        """Every node with its heartbeat and how many stations it holds."""
        cutoff = self._clock() - self._stale
        held = (select(Station.node_id, func.count().label("stations"))
                .where(Station.online.is_(True)).group_by(Station.node_id).subquery())
        async with self._db.uow() as session:
            rows = (await session.execute(
                select(Node, func.coalesce(held.c.stations, 0))
                .outerjoin(held, held.c.node_id == Node.id).order_by(Node.id))).all()
        return [NodeListing(node.id, node.started_at, node.heartbeat_at,
                            node.heartbeat_at >= cutoff, int(count),
                            node.id == self.node_id) for node, count in rows]


@dataclass(frozen=True)
class NodeListing:
    id: str
    started_at: datetime
    heartbeat_at: datetime
    alive: bool
    stations: int
    this_node: bool
