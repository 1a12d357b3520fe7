"""The database engine and explicit units of work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState

log = logging.getLogger("chargeplan.db")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL with synchronous=NORMAL: about 50x the commit rate of the default rollback
    # journal, still crash-safe for the database (only the last transactions may be lost
    # on power failure, never corrupted).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _sqlite_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    """A connection handed back to the pool is rolled back, as ``reset_on_return`` does,
    but only when SQLite says a transaction is open: sqlite3's ``rollback`` does nothing
    otherwise, and asking costs a round trip to aiosqlite's thread. The batch writer
    commits on the raw connection, so without this each of its transactions paid a
    second trip for a rollback with nothing to roll back."""
    if state.transaction_was_reset or not state.asyncio_safe:
        return
    driver = dbapi_connection.driver_connection
    try:
        idle = not driver.in_transaction
    except ValueError:  # aiosqlite: no connection any more; rollback() knows what to do
        idle = False
    if not idle:
        dbapi_connection.rollback()


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a SQLite file so a fresh clone needs no manual step."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    ensure_sqlite_dir(url)
    # orjson for JSON columns: several times faster than the standard library encoder on
    # the audit path, and its output is plain JSON text either way.
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _json_dumps}
    if url.startswith("sqlite"):
        # SQLite has one writer at a time; several connections only contend for its lock
        # and sleep in its busy handler. One connection queues units of work instead.
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=60,
                      pool_reset_on_return=None)
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "reset", _sqlite_reset)
    return engine


class Database:
    """Owns the engine; hands out units of work that roll back unless committed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends normally, rolled back otherwise."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def core(self) -> AsyncIterator[AsyncConnection]:
        """One transaction on a plain connection, for single statements on hot paths
        (every frame of a reconnect storm): no ORM identity map or session bookkeeping."""
        async with self.engine.begin() as connection:
            yield connection

    async def reachable(self, timeout_s: float) -> bool:
        """Whether a trivial statement completes within ``timeout_s`` (a probe must get an
        answer even when the database hangs)."""
        try:
            async with asyncio.timeout(timeout_s), self.core() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("database unreachable: %s", exc)
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
