"""The batched audit writer: nothing lost on a clean stop, readers wait when it is full."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import AuditFrame
from app.ocpp.audit import row
from app.ocpp.batch_writer import BatchWriter


def frame(i: int) -> dict[str, object]:
    return row(
        datetime.now(UTC),
        f"CP-{i % 7}",
        "in",
        "CALL",
        unique_id=str(i),
        action="Heartbeat",
        payload={},
    )


async def count(db: Database) -> int:
    async with db.uow() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditFrame)) or 0)


async def test_stop_right_after_writing_loses_no_row(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=5.0, batch_size=500)
    await writer.start()
    for i in range(2345):
        await writer.put(frame(i))
    await asyncio.sleep(0)  # the flusher holds part of them in hand
    await writer.stop()
    assert await count(db) == 2345
    await db.dispose()


async def test_a_full_queue_makes_the_reader_wait_instead_of_dropping(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=0.01, batch_size=10, max_queue=10)
    for i in range(10):
        await writer.put(frame(i))
    blocked = asyncio.create_task(writer.put(frame(10)))
    for _ in range(20):  # let the task run as far as it can: no flusher makes room
        await asyncio.sleep(0)
    assert not blocked.done(), "the 11th row must wait for room, not be dropped"
    await writer.start()
    await asyncio.wait_for(blocked, 5)
    await writer.stop()
    assert await count(db) == 11
    await db.dispose()


async def test_writes_survive_on_postgresql_with_copy(postgres_url: str) -> None:
    from app.db.migrate import upgrade

    await asyncio.to_thread(upgrade, postgres_url)
    db = Database(postgres_url)
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=0.05, batch_size=100)
    await writer.start()
    for i in range(1000):
        await writer.put(frame(i))
    await writer.stop()
    assert await count(db) == 1000
    async with db.uow() as session:
        first = await session.scalar(select(AuditFrame).order_by(AuditFrame.id).limit(1))
    assert first is not None and first.payload == {} and first.ts.tzinfo is not None
    await db.dispose()
