"""The batched audit writer: nothing lost on a clean stop, readers wait when it is full."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.db.batch_writer import BatchWriter, WriterStopped
from app.db.engine import Database
from app.db.models import AuditFrame
from app.ocpp.audit import COLUMNS, Raw, row
from tests.e2e.harness import eventually


def frame(i: int) -> tuple[object, ...]:
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


async def test_writes_survive_on_postgresql_with_copy(postgres_head_url: str) -> None:

    db = Database(postgres_head_url)
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


def deep(levels: int) -> object:
    value: object = []
    for _ in range(levels - 1):
        value = [value]
    return value


async def stored(db: Database) -> list[AuditFrame]:
    async with db.uow() as session:
        return list((await session.scalars(select(AuditFrame).order_by(AuditFrame.id))).all())


async def test_a_row_that_cannot_be_encoded_is_written_degraded_and_the_rest_goes_on(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=0.01, batch_size=50)
    await writer.start()
    poison = row(datetime.now(UTC), "CP-BAD", "in", "CALLRESULT", unique_id="x",
                 payload={"x": deep(255)}, raw=Raw.of("[3, \"x\", ...]", 4096))
    await writer.write([frame(0), poison, *(frame(i) for i in range(1, 100))])
    rows = await stored(db)
    assert len(rows) == 101 and writer.error is None
    bad = next(r for r in rows if r.station_id == "CP-BAD")
    assert "Recursion limit" in bad.payload["unwritable"]
    assert bad.raw == "[3, \"x\", ...]" and bad.unique_id == "x"
    # Written in queue order, the poison in its place.
    assert [r.unique_id for r in rows][:3] == ["0", "x", "1"]
    await writer.write([frame(200)])
    assert len(await stored(db)) == 102
    await writer.stop()
    await db.dispose()


async def test_rows_postgresql_refuses_are_written_degraded(postgres_head_url: str) -> None:

    db = Database(postgres_head_url)
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=0.01, batch_size=50)
    await writer.start()
    nul = row(datetime.now(UTC), "CP-NUL", "in", "CALL", unique_id="n", action="Heartbeat",
              payload={"a": "\x00"})
    long_action = row(datetime.now(UTC), "CP-LONG", "in", "CALL", unique_id="l",
                      action="A" * 80, payload={})
    await writer.write([frame(0), nul, frame(1), long_action, frame(2)])
    rows = await stored(db)
    assert len(rows) == 5
    by_station = {r.station_id: r for r in rows}
    assert "unwritable" in by_station["CP-NUL"].payload
    assert by_station["CP-LONG"].action == "A" * 50
    await writer.stop()
    await db.dispose()


async def test_write_returns_once_committed_without_waiting_for_the_timer(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    # A timer of an hour: only a waiter makes the writer flush.
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=3600, batch_size=500)
    await writer.start()
    await writer.put(frame(0))
    await asyncio.wait_for(writer.write([frame(1)]), 10)
    assert len(await stored(db)) == 2 and writer.depth == 0
    await writer.stop()
    await db.dispose()


async def test_a_waiter_that_gives_up_leaves_the_others_answered(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=3600, batch_size=500)
    # Not started yet: both writes wait for a commit no one makes.
    first = asyncio.create_task(writer.write([frame(1)]))
    second = asyncio.create_task(writer.write([frame(2)]))
    await eventually(lambda: writer.depth == 2)
    first.cancel()
    await writer.start()
    await asyncio.wait_for(second, 10)
    assert first.cancelled()
    # The row of the waiter that gave up is committed all the same, and the writer goes on.
    await asyncio.wait_for(writer.write([frame(3)]), 10)
    assert len(await stored(db)) == 3 and writer.error is None
    await writer.stop()
    await db.dispose()


async def test_a_connection_handed_back_inside_a_transaction_is_rolled_back(
    sqlite_url: str,
) -> None:
    # The writer commits on the raw connection; the pool rolls back only what is open.
    db = Database(sqlite_url)
    connection = await db.engine.connect()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.execute("BEGIN")
    await driver.execute("INSERT INTO audit_log (ts, station_id, direction, message_type) "
                         "VALUES ('2026-12-07 10:00:00.000000', 'CP-TX', 'in', 'CALL')")
    await connection.close()
    assert not driver.in_transaction
    assert await stored(db) == []
    await db.dispose()


async def test_stop_gives_up_within_its_budget_when_the_database_fails(
    sqlite_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    db = Database(sqlite_url)
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=0.01, batch_size=50)
    await writer.start()
    await writer.write([frame(0)])
    async with db.core() as conn:  # the table goes away: every write fails from now on
        await conn.exec_driver_sql("ALTER TABLE audit_log RENAME TO audit_log_gone")
    for i in range(1, 31):
        await writer.put(frame(i))
    waiting = asyncio.create_task(writer.write([frame(31)]))
    await eventually(lambda: writer.error is not None)
    await writer.stop(timeout=0.5)
    with pytest.raises(WriterStopped):
        await waiting
    assert writer.lost == 31
    assert "31 rows it could not write" in caplog.text
    await db.dispose()


async def test_a_queue_over_half_full_is_a_problem(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=0.01, batch_size=10,
                         max_queue=10)
    for i in range(5):
        await writer.put(frame(i))
    assert writer.problem() is None
    await writer.put(frame(5))
    assert writer.problem() == "audit_log queue over half full: 6 of 10 rows"
    await writer.start()
    await writer.write([frame(6)])
    assert writer.problem() is None
    await writer.stop()
    await db.dispose()


def test_audit_records_follow_the_table_s_columns() -> None:
    # audit.row builds tuples in this order; the writer inserts them by position.
    assert tuple(c.name for c in AuditFrame.__table__.columns if c.name != "id") == COLUMNS


async def test_a_record_s_payload_is_stored_as_the_json_it_was_encoded_to(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    writer = BatchWriter(db, AuditFrame.__table__, flush_interval=0.01, batch_size=50)
    await writer.start()
    payloads = [{"a": [1, {"b": "é\u2028"}]}, "text", [], 7, None]
    await writer.write(row(datetime.now(UTC), "CP-J", "in", "CALLRESULT", unique_id=str(i),
                           payload=p) for i, p in enumerate(payloads))
    assert [r.payload for r in await stored(db)] == payloads
    await writer.stop()
    await db.dispose()


def test_meter_rows_follow_the_table_s_columns() -> None:
    from app.db.models import MeterValue
    from app.services.fleet.transactions import METER_COLUMNS

    assert tuple(c.name for c in MeterValue.__table__.columns if c.name != "id") == METER_COLUMNS
