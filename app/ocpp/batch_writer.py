"""Batched INSERTs off the hot path: the audit trail and meter values.

Rows go into a bounded queue; one task flushes every interval or every batch in one
multi-row INSERT (COPY on PostgreSQL), and when it has fallen behind, up to ten batches of
what is already queued in one transaction. When the queue is full, ``put`` waits, so the
websocket reader that called it stops reading (backpressure) and no row is dropped.
A clean shutdown flushes everything that was queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC
from typing import Any

import orjson
from sqlalchemy import JSON, Table

from app.db.engine import Database
from app.db.types import UTCDateTime

log = logging.getLogger("chargeplan.batch")

CATCH_UP_FACTOR = 10


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
        self._columns = [c.name for c in table.columns if c.name != "id"]
        # COPY and the SQLite executemany bypass SQLAlchemy's type processing.
        self._json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        self._time_columns = {c.name for c in table.columns if isinstance(c.type, UTCDateTime)}
        self._insert_sql = "INSERT INTO {} ({}) VALUES ({})".format(
            table.name, ", ".join(self._columns), ", ".join("?" for _ in self._columns))
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._batch: list[dict[str, Any]] = []
        self._inflight: asyncio.Future[None] | None = None
        self.rows_written = 0
        self.flushes = 0
        self.failures = 0
        self.full_episodes = 0
        self._writing = 0
        self._full = False

    @property
    def depth(self) -> int:
        """Rows not committed yet: queued, or taken for the write under way."""
        return self._queue.qsize() + len(self._batch) + self._writing

    async def put(self, row: dict[str, Any]) -> None:
        if self._queue.full():
            if not self._full:
                # Once per episode: a warning per waiting frame would cost more CPU than
                # the backpressure saves.
                log.warning("%s queue full (%d rows): pausing readers", self._table.name,
                            self.depth)
                self._full = True
                self.full_episodes += 1
        elif self._full and self._queue.qsize() < self._queue.maxsize // 2:
            self._full = False
        await self._queue.put(row)

    def offer(self, row: dict[str, Any]) -> bool:
        """Queue a row without waiting; False when the queue is full (the row is not
        queued). For rows a caller would rather lose than wait for (security events
        during a flood)."""
        try:
            self._queue.put_nowait(row)
        except asyncio.QueueFull:
            return False
        return True

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"batch-writer-{self._table.name}")

    async def stop(self) -> None:
        """Flush every queued row, then stop."""
        self._closing = True
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

    def _take(self, limit: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while len(rows) < limit and not self._queue.empty():
            rows.append(self._queue.get_nowait())
        return rows

    async def _run(self) -> None:
        # Rows taken from the queue live in self._batch until written, so a cancel at
        # any point (shutdown) leaves them for stop() to flush: none is lost.
        while True:
            self._batch.append(await self._queue.get())
            deadline = time.monotonic() + self._flush_interval
            while len(self._batch) < self._batch_size:
                if not self._queue.empty():
                    self._batch.extend(self._take(self._batch_size - len(self._batch)))
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    self._batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            # Behind (rows piled up while the last write ran): catch up with what is queued
            # already, in one larger transaction. On SQLite the index pages a batch touches
            # are written once per commit, so 5,000 rows cost far less than ten times 500.
            self._batch.extend(self._take(self._batch_size * CATCH_UP_FACTOR - len(self._batch)))
            rows, self._batch = self._batch, []
            self._inflight = asyncio.ensure_future(self._flush(rows))
            try:
                await asyncio.shield(self._inflight)
            finally:
                if self._inflight.done():
                    self._inflight = None

    async def _flush(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        delay = 0.1
        while True:
            try:
                self._writing = len(rows)
                try:
                    await self._write(rows)
                finally:
                    self._writing = 0
                break
            except Exception:
                # Never drop a row: keep them and try again; readers pause meanwhile.
                self.failures += 1
                log.exception("writing %d %s rows failed; retrying", len(rows),
                              self._table.name)
                if self._closing and self.failures > 20:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.rows_written += len(rows)
        self.flushes += 1

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        if self._db.dialect == "postgresql":
            await self._copy(rows)
            return
        await self._sqlite_executemany(rows)

    async def _sqlite_executemany(self, rows: list[dict[str, Any]]) -> None:
        """One executemany with values rendered here, in SQLite's storage formats, instead
        of SQLAlchemy processing every parameter of every row (a third of the CPU of a
        MeterValues round trip)."""
        columns = self._columns
        json_columns = self._json_columns
        time_columns = self._time_columns
        records = []
        for row in rows:
            values = []
            for column in columns:
                value = row.get(column)
                if value is not None:
                    if column in json_columns:
                        value = orjson.dumps(value).decode()
                    elif column in time_columns:
                        # UTCDateTime on SQLite: naive UTC, SQLAlchemy's text format.
                        value = value.astimezone(UTC).replace(tzinfo=None).isoformat(
                            " ", "microseconds")
                values.append(value)
            records.append(tuple(values))
        async with self._db.core() as conn:
            await conn.exec_driver_sql(self._insert_sql, records)

    async def _copy(self, rows: list[dict[str, Any]]) -> None:
        json_columns = self._json_columns
        records = [
            tuple(
                orjson.dumps(row[c]).decode() if c in json_columns and row.get(c) is not None
                else row.get(c)
                for c in self._columns
            )
            for row in rows
        ]
        async with self._db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.copy_records_to_table(
                self._table.name, records=records, columns=self._columns
            )
            await conn.commit()
