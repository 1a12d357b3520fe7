"""The audit scenario: the audit writer alone, as fast as it takes rows.

The OCPP scenarios cannot show the writer's ceiling: two rows per answered CALL, so the
message rate bounds the row rate. Here the server's own ``BatchWriter`` (same class, same
flush interval, batch size and queue bound as ``chargeplan serve``) takes realistic
MeterValues frames as fast as it accepts them, into the database the chargeplan server of
this run migrated (a fresh SQLite file, or PostgreSQL with --database-url), and is then
stopped cleanly. Figures: rows_per_s (rows put / seconds until stop() returned, so every
row is committed), rows_lost (put minus counted in the table: must be 0).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Final, cast

from sqlalchemy import Table

from app.bench import stats
from app.bench.config import BenchConfig
from app.bench.errors import BenchError
from app.bench.scenarios import Outcome
from app.bench.servers import RunningServer
from app.db.batch_writer import BatchWriter
from app.db.engine import Database
from app.db.models import AuditFrame
from app.ocpp import audit
from app.settings import Settings

STATIONS: Final = 200


def audit_rate(server: RunningServer, config: BenchConfig) -> Outcome:
    database = server.database
    if database is None:
        raise BenchError("the audit scenario needs the server's database")
    rows = config.audit_rows
    before = database.count_audit_rows() or 0
    seconds = asyncio.run(_write(database.url, rows))
    after = database.count_audit_rows() or 0
    return Outcome(figures={
        "rows_per_s": stats.rounded(rows / seconds, 1),
        "seconds": stats.rounded(seconds),
        "rows_lost": rows - (after - before),
    })


async def _write(url: str, rows: int) -> float:
    defaults = Settings()
    db = Database(url)
    writer = BatchWriter(db, cast(Table, AuditFrame.__table__),
                         flush_interval=defaults.audit_flush_interval_s,
                         batch_size=defaults.audit_batch_size,
                         max_queue=defaults.audit_queue_max)
    frames = [_frame(i) for i in range(STATIONS)]
    try:
        started = time.perf_counter()
        await writer.start()
        for i in range(rows):
            # put() waits when the queue is full: the rate is what the writer sustains.
            frame = frames[i % STATIONS]
            await writer.put((datetime.now(UTC), *frame[1:4], str(i), *frame[5:]))
        await writer.stop()
        return time.perf_counter() - started
    finally:
        await db.dispose()


def _frame(i: int) -> audit.Record:
    """An inbound MeterValues CALL as a station sends it every minute (OCPP 1.6 §4.7)."""
    return audit.row(
        datetime.now(UTC), f"bench-audit-{i:04d}", "in", "CALL", unique_id="0",
        action="MeterValues", payload={
            "connectorId": 1, "transactionId": 1000 + i,
            "meterValue": [{"timestamp": "2026-11-25T12:00:00Z", "sampledValue": [
                {"value": "1234.5", "measurand": "Energy.Active.Import.Register",
                 "unit": "Wh"},
                {"value": "7010", "measurand": "Power.Active.Import", "unit": "W"},
            ]}],
        })
