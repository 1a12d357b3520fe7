"""A fresh database per server start, and the count of its audit rows."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

AUDIT_COUNT_SQL: Final = "SELECT count(*) FROM audit_log"
# Stations whose answer to a SetChargingProfile is in the audit table.
PROFILE_ANSWERS_SQL: Final = (
    "SELECT count(DISTINCT station_id) FROM audit_log"
    " WHERE action = 'SetChargingProfile' AND message_type = 'CALLRESULT' AND direction = 'in'"
)
SETTLE_POLL_S: Final = 0.25
QUEUE_POLL_S: Final = 0.05
SETTLE_STABLE_S: Final = 0.5
SETTLE_MAX_WAIT_S: Final = 30.0


class BenchDatabase(Protocol):
    @property
    def url(self) -> str:
        """The SQLAlchemy URL the server is started with."""
        ...

    def count_audit_rows(self) -> int | None:
        """Rows in `audit_log`, or None while the table does not exist."""
        ...

    def count(self, sql: str) -> int | None:
        """The single number a `SELECT count(...)` answers, or None while its table is missing."""
        ...

    def drop(self) -> None:
        """Remove the database; called once the server has stopped."""
        ...


class SqliteDatabase:
    def __init__(self, directory: Path) -> None:
        self._path = directory / "bench.db"

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self._path}"

    def count_audit_rows(self) -> int | None:
        return self.count(AUDIT_COUNT_SQL)

    def count(self, sql: str) -> int | None:
        if not self._path.exists():
            return None
        try:
            # Read-only, so the bench can never hold the writer's lock.
            with sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=5.0) as db:
                row = db.execute(sql).fetchone()
        except sqlite3.OperationalError:
            return None
        return int(row[0])

    def drop(self) -> None:
        # The file lives in the run's temporary directory, removed with it.
        return None


class PostgresDatabase:
    """A database created for one server start under the server the user named."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy.engine import make_url

        base = make_url(admin_url)
        name = f"chargeplan_bench_{secrets.token_hex(4)}"
        self._admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
        self._dsn = base.set(drivername="postgresql", database=name).render_as_string(
            hide_password=False
        )
        self._url = base.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
        self._name = name
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))

    @property
    def url(self) -> str:
        return self._url

    def count_audit_rows(self) -> int | None:
        return self.count(AUDIT_COUNT_SQL)

    def count(self, sql: str) -> int | None:
        return asyncio.run(self._count(sql))

    def drop(self) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))

    async def _admin(self, statement: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(self._admin_dsn, timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def _count(self, sql: str) -> int | None:
        import asyncpg

        connection = await asyncpg.connect(self._dsn, timeout=10)
        try:
            value = await connection.fetchval(sql)
        except asyncpg.UndefinedTableError:
            return None
        finally:
            await connection.close()
        return int(value)


def settled_audit_count(
    database: BenchDatabase,
    queued: Callable[[], float | None] | None = None,
    poll_s: float = SETTLE_POLL_S,
    stable_for_s: float = SETTLE_STABLE_S,
    max_wait_s: float = SETTLE_MAX_WAIT_S,
) -> int | None:
    """The audit row count once the server has written what it holds.

    Settled means: the server reports no audit row queued or being written (when `queued`
    can tell), else the count has not moved for `stable_for_s`. Bounded: after `max_wait_s`
    the last reading is returned as it is.
    """
    deadline = time.monotonic() + max_wait_s
    if queued is not None:
        # The server counts rows queued or being written: once none, the count is final.
        while time.monotonic() < deadline:
            depth = queued()
            if depth is None:
                break
            if not depth:
                return database.count_audit_rows()
            time.sleep(QUEUE_POLL_S)
    current = database.count_audit_rows()
    unchanged_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(poll_s)
        reading = database.count_audit_rows()
        now = time.monotonic()
        if reading != current:
            current, unchanged_since = reading, now
            continue
        if now - unchanged_since >= stable_for_s and (queued is None or not queued()):
            return current
    return current
