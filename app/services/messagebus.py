"""The message bus: messages published into an :class:`Outbox` are taken out by the
:class:`MessageBus` and handed to the handlers its table lists for their type.

Services are built first and publish into the outbox; the bus is built last, from the
table and the finished services (``app/bootstrap.py``), so no service needs a handler
assigned to it afterwards. Each message is handled in a task of its own, its handlers
one after the other in the table's order; a handler that fails is logged and the next
one still runs. ``await publisher.handle(message)`` returns once every handler ran, for
a publisher whose next step depends on them (e.g. an answer sent after them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from app.services.messages import Message
from app.tasks import TaskOwner

log = logging.getLogger("chargeplan.bus")

C = TypeVar("C")
Handler = Callable[[C, Any], Awaitable[None]]
Table = Mapping[type[Message], Sequence[Handler[C]]]


class Publisher(Protocol):
    def publish(self, message: Message) -> None:
        """Have ``message`` handled soon; do not wait for it."""
        ...

    async def handle(self, message: Message) -> None:
        """Have ``message`` handled and return once all its handlers ran."""
        ...


class Discard:
    """A publisher nobody listens to (a service built alone, in a test)."""

    def publish(self, message: Message) -> None:
        return None

    async def handle(self, message: Message) -> None:
        return None


DISCARD = Discard()


class Outbox:
    """Messages published and not yet taken out by the bus, in the order published."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[Message, asyncio.Future[None] | None]] = (
            asyncio.Queue())
        self._closed = False

    def publish(self, message: Message) -> None:
        if not self._closed:
            self._queue.put_nowait((message, None))

    async def handle(self, message: Message) -> None:
        if self._closed:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((message, done))
        await done

    @property
    def pending(self) -> int:
        """Messages published and not yet taken out."""
        return self._queue.qsize()

    async def take(self) -> tuple[Message, asyncio.Future[None] | None]:
        return await self._queue.get()

    def close(self) -> None:
        """Take nothing more; whoever waits on a message left inside goes on."""
        self._closed = True
        while not self._queue.empty():
            _, done = self._queue.get_nowait()
            if done is not None and not done.done():
                done.set_result(None)


class MessageBus(Generic[C]):
    """Hands each message of ``outbox`` to the handlers ``table`` lists for its type,
    called with ``context`` (what they need: the services) and the message."""

    def __init__(self, table: Table[C], context: C, outbox: Outbox, tasks: TaskOwner) -> None:
        self._table = table
        self._context = context
        self._outbox = outbox
        self._tasks = tasks
        self._consumer: asyncio.Task[None] | None = None

    async def dispatch(self, message: Message) -> None:
        """Run the handlers of ``message`` in the table's order; one that fails is logged
        and does not stop the others."""
        handlers = self._table.get(type(message))
        if handlers is None:
            log.error("no handlers for %s", type(message).__name__)
            return
        for handler in handlers:
            try:
                await handler(self._context, message)
            except Exception:
                log.exception("%s after %r failed", _name(handler), message)

    async def start(self) -> None:
        self._consumer = asyncio.create_task(self._consume(), name="message-bus")

    async def stop(self) -> None:
        self._outbox.close()
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer

    async def _consume(self) -> None:
        while True:
            message, done = await self._outbox.take()
            self._tasks.spawn(self._run(message, done), type(message).__name__)

    async def _run(self, message: Message, done: asyncio.Future[None] | None) -> None:
        try:
            await self.dispatch(message)
        finally:
            if done is not None and not done.done():
                done.set_result(None)


def _name(handler: Callable[..., Any]) -> str:
    return getattr(handler, "__qualname__", repr(handler))
