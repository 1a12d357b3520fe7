"""Batched INSERTs off the hot path: the audit trail and meter values.

Rows go into a bounded queue; one task flushes every interval or every batch in one
multi-row INSERT (COPY on PostgreSQL), and when it has fallen behind, up to ten batches of
what is already queued in one transaction. When the queue is full, ``put`` waits, so the
websocket reader that called it stops reading (backpressure) and no row is dropped.

``write`` is ``put`` that returns once the rows are committed (group commit): what a
station will not send again is durable before it is answered. One writer can carry rows
of several tables (``sink``): the audit rows of a MeterValues and its samples share one
transaction. A writer with such a
waiter flushes at once instead of waiting for its timer; rows of every station that
arrive while a transaction is under way share the next one. Rows are committed in the
order they were queued, so a committed row means every row queued before it is too.

The writer never stops on a bad row: a batch the database refuses is split in halves
until the row at fault stands alone; that row is written in a degraded form (payload
replaced by a marker, text kept without NUL characters) and the rest goes on. Only when
even the degraded row fails is the database itself in trouble: then the writer waits
and retries, keeping every row, and reports the failure (``error``).

A clean shutdown flushes everything that was queued, within a time budget; what could
not be written by then is logged with its count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, String, Table

from app.db.engine import Database
from app.db.types import UTCDateTime

log = logging.getLogger("chargeplan.batch")

CATCH_UP_FACTOR = 10
# Group commit under load: when the last transaction held at least this many rows, a
# row someone waits on waits up to COMMIT_DELAY_S for others to share its transaction.
COMMIT_SIBLINGS = 32
COMMIT_DELAY_S = 0.003
# Seconds a stop spends writing what is queued before it gives up on the rest.
STOP_BUDGET_S = 4.0
# A row is a dict by column name, or a record: a tuple of the values of the target's
# columns in table order (without id), its JSON columns holding their JSON text already,
# encoded once on the task that made the row (anything but a str there is a value still
# to encode). Records cost the collector and the writer less than dicts.
Row = dict[str, Any] | tuple[Any, ...]
# What an unwritable payload becomes; the reason says why.
UNWRITABLE = "unwritable"


class WriterStopped(Exception):
    """The writer stopped before the awaited rows could be committed."""


@dataclass(eq=False, slots=True)
class _Target:
    """One table rows are written to, and how its values are rendered."""

    table: Table
    columns: list[str] = field(init=False)
    json_columns: set[str] = field(init=False)
    time_columns: set[str] = field(init=False)
    text_columns: dict[str, int | None] = field(init=False)
    json_at: tuple[int, ...] = field(init=False)
    time_at: tuple[int, ...] = field(init=False)
    insert_sql: str = field(init=False)

    def __post_init__(self) -> None:
        table = self.table
        self.columns = [c.name for c in table.columns if c.name != "id"]
        # COPY and the SQLite executemany bypass SQLAlchemy's type processing.
        self.json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        self.time_columns = {c.name for c in table.columns if isinstance(c.type, UTCDateTime)}
        self.text_columns = {c.name: c.type.length for c in table.columns
                             if isinstance(c.type, String)}
        self.json_at = tuple(i for i, c in enumerate(self.columns) if c in self.json_columns)
        self.time_at = tuple(i for i, c in enumerate(self.columns) if c in self.time_columns)
        self.insert_sql = "INSERT INTO {} ({}) VALUES ({})".format(
            table.name, ", ".join(self.columns), ", ".join("?" for _ in self.columns))

    def sqlite_records(self, rows: list[Row]) -> list[tuple[Any, ...]]:
        """Values rendered here, in SQLite's storage formats, instead of SQLAlchemy
        processing every parameter of every row (a third of the CPU of a MeterValues
        round trip). A time is rendered once per object: the samples of a MeterValues
        share theirs."""
        time_at = self.time_at
        # By id: the rows hold the objects until the records are made.
        rendered: dict[int, tuple[datetime, str]] = {}
        records = []
        for row in rows:
            values = self._values(row)
            for i in time_at:
                value = values[i]
                if value is not None:
                    done = rendered.get(id(value))
                    if done is None:
                        done = rendered[id(value)] = (value, _sqlite_time(value))
                    values[i] = done[1]
            records.append(tuple(values))
        return records

    def copy_records(self, rows: list[Row]) -> list[tuple[Any, ...]]:
        return [tuple(self._values(row)) for row in rows]

    def _values(self, row: Row) -> list[Any]:
        """The row's values in column order, its JSON columns as JSON text. In a record a
        str there is JSON text already (anything else is still to encode); in a dict row
        a str is a JSON string."""
        record = isinstance(row, tuple)
        values = list(row) if isinstance(row, tuple) else [row.get(c) for c in self.columns]
        for i in self.json_at:
            value = values[i]
            if value is not None and not (record and type(value) is str):
                values[i] = orjson.dumps(value).decode()
        return values

    def as_dict(self, row: Row) -> dict[str, Any]:
        return dict(zip(self.columns, row, strict=True)) if type(row) is tuple else dict(row)

    def degrade(self, row: Row, reason: str) -> dict[str, Any]:
        """The row with its JSON replaced by a marker and its text without NULs (which
        PostgreSQL text refuses) and within its column's length; the raw text of the
        frame, when there is one, stays."""
        out = self.as_dict(row)
        for column in self.json_columns:
            if out.get(column) is not None:
                out[column] = {UNWRITABLE: reason}
        for column, length in self.text_columns.items():
            value = out.get(column)
            if isinstance(value, str):
                value = value.replace("\x00", "\ufffd")
                out[column] = value if length is None else value[:length]
        return out


def _sqlite_time(value: datetime) -> str:
    """UTCDateTime on SQLite: naive UTC in SQLAlchemy's text format."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # "YYYY-MM-DD HH:MM:SS.ffffff" and the "+00:00" cut off.
    return value.isoformat(" ", "microseconds")[:-6]


Entry = tuple[_Target, Row]


class TableSink:
    """Rows of one more table, written by a writer in the transactions of its own rows."""

    def __init__(self, writer: BatchWriter, target: _Target) -> None:
        self._writer = writer
        self._target = target

    async def put(self, row: Row) -> None:
        await self._writer._put((self._target, row))

    async def put_all(self, rows: Iterable[Row]) -> None:
        """Queue ``rows``: committed no later than any row the writer queues after them."""
        for row in rows:
            await self._writer._put((self._target, row))

    async def write(self, rows: Iterable[Row]) -> None:
        """Queue ``rows`` and return once they are committed."""
        await self.put_all(rows)
        await self._writer.committed()


class BatchWriter:
    def __init__(
        self,
        db: Database,
        table: Table,
        *,
        flush_interval: float = 0.25,
        batch_size: int = 500,
        max_queue: int = 50000,
    ) -> None:
        self._db = db
        self._table = table
        self._main = _Target(table)
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._queue: asyncio.Queue[Entry] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._batch: list[Entry] = []
        self._inflight: asyncio.Future[None] | None = None
        # Rows queued and rows committed so far, in queue order; waiters by queued count.
        self._queued = 0
        self._committed = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self.rows_written = 0
        self.flushes = 0
        self.failures = 0
        self.degraded = 0
        self.full_episodes = 0
        self.lost = 0
        # Why the last write failed, while the database refuses even degraded rows.
        self.error: str | None = None
        self._full = False
        self._last_batch = 0

    def sink(self, table: Table) -> TableSink:
        """Rows for ``table`` queued with this writer's own, committed with them."""
        return TableSink(self, _Target(table))

    @property
    def depth(self) -> int:
        """Rows not committed yet: queued, or taken for the write under way."""
        return self._queued - self._committed

    @property
    def capacity(self) -> int:
        return self._queue.maxsize

    @property
    def table(self) -> str:
        return self._table.name

    def problem(self) -> str | None:
        """Why this writer is not keeping up, for /health; None when it is."""
        if self.error is not None:
            return f"{self.table} writer failing: {self.error}"
        if self.depth > self.capacity // 2:
            return f"{self.table} queue over half full: {self.depth} of {self.capacity} rows"
        return None

    async def put(self, row: Row) -> None:
        await self._put((self._main, row))

    async def _put(self, entry: Entry) -> None:
        queue = self._queue
        if queue.full():
            if not self._full:
                # Once per episode: a warning per waiting frame would cost more CPU than
                # the backpressure saves.
                log.warning("%s queue full (%d rows): pausing readers", self._table.name,
                            self.depth)
                self._full = True
                self.full_episodes += 1
            await queue.put(entry)
        else:
            if self._full and queue.qsize() < queue.maxsize // 2:
                self._full = False
            # What Queue.put does when there is room, without a coroutine per row.
            queue.put_nowait(entry)
        self._queued += 1

    async def write(self, rows: Iterable[Row]) -> None:
        """Queue ``rows`` and return once they are committed."""
        for row in rows:
            await self._put((self._main, row))
        await self.committed()

    async def committed(self) -> None:
        """Return once every row queued so far is committed."""
        if self._committed >= self._queued:
            return
        if self._closing and self._task is None:
            raise WriterStopped(f"{self._table.name} writer stopped")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self._queued, done))
        # Not shielded: a waiter cancelled is skipped when its rows commit (_done and
        # _give_up only settle futures not done yet); a shield cost a future and two
        # callbacks per answer.
        await done

    def offer(self, row: dict[str, Any]) -> bool:
        """Queue a row without waiting; False when the queue is full (the row is not
        queued). For rows a caller would rather lose than wait for (security events
        during a flood)."""
        try:
            self._queue.put_nowait((self._main, row))
        except asyncio.QueueFull:
            return False
        self._queued += 1
        return True

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"batch-writer-{self._table.name}")

    async def stop(self, timeout: float = STOP_BUDGET_S) -> None:
        """Flush every queued row, then stop; give up after ``timeout`` seconds and log
        how many rows could not be written."""
        self._closing = True
        try:
            await asyncio.wait_for(self._drain(), timeout)
        except TimeoutError:
            pass
        finally:
            self._give_up()

    async def _drain(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._inflight is not None:
            # Shielded from the cancel above: let the write under way finish.
            await self._inflight
        rows, self._batch = self._batch, []
        rows.extend(self._take(self._queue.qsize()))
        step = self._batch_size * CATCH_UP_FACTOR
        for i in range(0, len(rows), step):
            await self._flush(rows[i:i + step])

    def _give_up(self) -> None:
        self._task = None
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()
        left = self._queued - self._committed
        if left:
            self.lost += left
            log.error("%s writer stopped with %d rows it could not write (%s)",
                      self._table.name, left, self.error or "shutdown budget exhausted")
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(WriterStopped(
                    f"{self._table.name} writer stopped before the row was committed"))
        self._waiters.clear()

    def _take(self, limit: int) -> list[Entry]:
        rows: list[Entry] = []
        while len(rows) < limit and not self._queue.empty():
            rows.append(self._queue.get_nowait())
        return rows

    async def _run(self) -> None:
        # Rows taken from the queue live in self._batch until written, so a cancel at
        # any point (shutdown) leaves them for stop() to flush: none is lost.
        while True:
            self._batch.append(await self._queue.get())
            started = time.monotonic()
            deadline = started + self._flush_interval
            # Under load (the last transaction was large), rows of other stations are on
            # their way: a waiter waits a moment for them rather than paying a commit of
            # its own. Alone, it is written at once.
            busy = self._last_batch >= COMMIT_SIBLINGS
            while len(self._batch) < self._batch_size:
                if not self._queue.empty():
                    self._batch.extend(self._take(self._batch_size - len(self._batch)))
                    continue
                if self._waiters:
                    if not busy:
                        break  # someone awaits a commit: no timer
                    deadline = min(deadline, started + COMMIT_DELAY_S)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    # A timeout scope, not wait_for: no task made per row awaited.
                    async with asyncio.timeout(remaining):
                        row = await self._queue.get()
                except TimeoutError:
                    break
                self._batch.append(row)
            # Behind (rows piled up while the last write ran): catch up with what is queued
            # already, in one larger transaction. On SQLite the index pages a batch touches
            # are written once per commit, so 5,000 rows cost far less than ten times 500.
            self._batch.extend(self._take(self._batch_size * CATCH_UP_FACTOR - len(self._batch)))
            rows, self._batch = self._batch, []
            self._last_batch = len(rows)
            self._inflight = asyncio.ensure_future(self._flush(rows))
            try:
                await asyncio.shield(self._inflight)
            finally:
                if self._inflight.done():
                    self._inflight = None

    async def _flush(self, rows: list[Entry]) -> None:
        """Write ``rows`` in order; never give up on the others because of one."""
        chunks: deque[list[Entry]] = deque([rows] if rows else [])
        delay = 0.1
        while chunks:
            chunk = chunks[0]
            try:
                await self._write(chunk)
            except Exception as exc:
                self.failures += 1
                if len(chunk) > 1:
                    # Find the row at fault: halves, in order, until it stands alone.
                    half = len(chunk) // 2
                    chunks.popleft()
                    chunks.extendleft((chunk[half:], chunk[:half]))
                    continue
                if await self._write_degraded(chunk[0], exc):
                    chunks.popleft()
                    continue
                # Even the degraded row fails: the database is in trouble, not a row.
                self.error = f"{type(exc).__name__}: {exc}"[:500]
                log.error("writing %s rows failed (%s); retrying in %.1f s",
                          self._table.name, self.error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                # Back together: one transaction again once the database answers.
                merged = [row for part in chunks for row in part]
                chunks.clear()
                chunks.append(merged)
                continue
            chunks.popleft()
            self.error = None
        self.flushes += 1

    def _done(self, count: int) -> None:
        self.rows_written += count
        self._committed += count
        waiters = self._waiters
        while waiters and waiters[0][0] <= self._committed:
            _, waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def _write_degraded(self, entry: Entry, exc: Exception) -> bool:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        target, row = entry
        try:
            await self._write([(target, target.degrade(row, reason))])
        except Exception:
            return False
        self.degraded += 1
        log.warning("a %s row could not be written as it is (%s): written degraded",
                    target.table.name, reason)
        return True

    async def _write(self, entries: list[Entry]) -> None:
        """One transaction: one multi-row INSERT (or COPY) per table. The rows count as
        committed (waiters go on) as soon as the database says so, before the connection
        is handed back."""
        by_target: dict[_Target, list[Row]] = {}
        for target, row in entries:
            by_target.setdefault(target, []).append(row)
        if self._db.dialect == "postgresql":
            async with self._db.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                async with driver.transaction():
                    for target, rows in by_target.items():
                        await driver.copy_records_to_table(
                            target.table.name, records=target.copy_records(rows),
                            columns=target.columns)
                self._done(len(entries))
            return
        statements = [(target.insert_sql, target.sqlite_records(rows))
                      for target, rows in by_target.items()]
        conn = await self._db.engine.connect()
        committed = False
        try:
            raw = await conn.get_raw_connection()
            await _sqlite_insert(raw.driver_connection, statements)
            committed = True
            self._done(len(entries))
        finally:
            if committed:
                # The rows are in: a failure to hand the connection back must not have
                # them written twice.
                try:
                    await conn.close()
                except Exception:
                    log.exception("returning the %s writer's connection failed",
                                  self._table.name)
            else:
                await conn.close()


Statements = list[tuple[str, list[tuple[Any, ...]]]]


async def _sqlite_insert(driver: Any, statements: Statements) -> None:
    """BEGIN, one executemany per table and COMMIT in a single call on aiosqlite's
    thread: one hop there and back per transaction instead of one per step (cursor,
    executemany, close, commit), each of which waits for the event loop to hand over the
    GIL and then to notice the answer."""
    run = getattr(driver, "_execute", None)
    if run is None:  # an aiosqlite without it: the public calls, a hop each
        for sql, records in statements:
            await driver.executemany(sql, records)
        await driver.commit()
        return
    await run(_insert_all, driver._conn, statements)


def _insert_all(connection: sqlite3.Connection, statements: Statements) -> None:
    if not connection.in_transaction:
        connection.execute("BEGIN")
    try:
        for sql, records in statements:
            connection.executemany(sql, records)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
