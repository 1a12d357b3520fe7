"""Group commit and batched lookups: many callers, few statements.

A station that connects costs a handful of small writes (its admission, connection, boot
data, connector status, configuration). Issued one by one, each is a transaction of its
own, and on one SQLite connection a reconnect storm queues thousands of them. Here each
caller still awaits its own write (when ``execute`` returns, the row is committed, exactly
as before), but the writes that arrive while a transaction is in flight are committed
together in the next one, as one executemany per statement. Under light load a write
goes out at once, alone; under load the batches grow by themselves, with no timer.

``BatchLoader`` does the same for reads by key: the lookups that arrive while one query
runs are answered by the next single ``IN (...)`` query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.sql import Executable

from app.db.engine import Database

log = logging.getLogger("chargeplan.db")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

# Rows per transaction: large enough to amortise a commit, small enough that one
# transaction never holds the only SQLite connection for long.
MAX_BATCH = 2000
# Bound parameters per IN list: far below SQLite's (32766) and asyncpg's (32767) limits.
CHUNK = 500


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(slots=True)
class _Write:
    statement: Executable
    params: Mapping[str, Any]
    order_key: Hashable
    done: asyncio.Future[None]


class GroupCommit:
    """Commits the writes of concurrent callers together; each awaits its own.

    Writes that share an ``order_key`` (a station) are applied in the order they were
    made; writes of different keys may be reordered among themselves, which is what lets
    the same statement for many stations go out as one executemany.
    """

    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._max_batch = max_batch
        self._pending: list[_Write] = []
        self._task: asyncio.Task[None] | None = None
        self.transactions = 0
        self.writes = 0

    async def execute(self, statement: Executable, params: Mapping[str, Any], *,
                      order_key: Hashable) -> None:
        """Apply ``statement`` with ``params``; returns once it is committed, raises what
        the database raised for this write alone."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Write(statement, params, order_key, done))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="group-commit")
        await asyncio.shield(done)

    async def close(self) -> None:
        """Wait for the writes already made (called before the engine is disposed)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:self._max_batch]
                del self._pending[:self._max_batch]
                try:
                    await self._commit(batch)
                except BaseException as exc:  # cancelled at shutdown: no caller waits forever
                    for write in batch:
                        _settle(write, exc)
                    raise
        finally:
            self._task = None

    async def _commit(self, batch: list[_Write]) -> None:
        try:
            async with self._db.core() as conn:
                for statement, params in _grouped(batch):
                    await conn.execute(statement, params[0] if len(params) == 1 else params)
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            # One bad write (a station deleted meanwhile, say) must not fail the others:
            # the transaction rolled back as a whole, so apply each on its own, in order.
            log.warning("a batch of %d writes failed; retrying them one by one", len(batch))
            for write in batch:
                await self._commit([write])
            return
        self.transactions += 1
        self.writes += len(batch)
        for write in batch:
            _settle(write, None)


def _grouped(batch: Iterable[_Write]) -> list[tuple[Executable, list[Mapping[str, Any]]]]:
    """The batch as executemany groups in a safe order.

    A write goes into layer n when it is the n-th write of its order key in the batch, so
    each layer holds at most one write per key; layers run in order, and within a layer
    the writes of one statement form one group.
    """
    seen: dict[Hashable, int] = {}
    layers: list[dict[int, tuple[Executable, list[Mapping[str, Any]]]]] = []
    for write in batch:
        depth = seen.get(write.order_key, 0)
        seen[write.order_key] = depth + 1
        if depth == len(layers):
            layers.append({})
        group = layers[depth].setdefault(id(write.statement), (write.statement, []))
        group[1].append(write.params)
    return [group for layer in layers for group in layer.values()]


def _settle(write: _Write, exc: BaseException | None) -> None:
    if write.done.done():
        return
    if exc is None:
        write.done.set_result(None)
    else:
        write.done.set_exception(exc)


class BatchLoader(Generic[K, V]):
    """Answers lookups by key with one query per batch of concurrent callers.

    ``load`` takes the keys and returns the values found; a key it does not return
    answers ``None``.
    """

    def __init__(self, load: Callable[[list[K]], Awaitable[Mapping[K, V]]], *,
                 max_batch: int = MAX_BATCH) -> None:
        self._load = load
        self._max_batch = max_batch
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        found: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(found)
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="batch-loader")
        return await asyncio.shield(found)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                keys = list(self._waiting)[:self._max_batch]
                waiters = {key: self._waiting.pop(key) for key in keys}
                try:
                    values = await self._load(keys)
                except Exception as exc:
                    for futures in waiters.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for key, futures in waiters.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(values.get(key))
        finally:
            self._task = None
