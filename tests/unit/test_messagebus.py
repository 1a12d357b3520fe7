"""The message bus: the table's order, failures kept to their handler, and one row per
happening."""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass

import pytest

from app.reactions import REACTIONS
from app.services import messages
from app.services.debounce import Debounce
from app.services.messagebus import MessageBus, Outbox
from app.services.messages import Message
from app.tasks import TaskOwner


@dataclass(frozen=True, slots=True)
class Happened(Message):
    what: str


@dataclass(frozen=True, slots=True)
class Batched(Message):
    ids: tuple[str, ...]


def _bus(table: dict[type[Message], list[object]], seen: list[str]
         ) -> tuple[MessageBus[list[str]], Outbox, TaskOwner]:
    outbox, tasks = Outbox(), TaskOwner(logging.getLogger("test"))
    return MessageBus(table, seen, outbox, tasks), outbox, tasks  # type: ignore[arg-type]


async def test_handlers_run_in_the_order_of_the_table() -> None:
    async def first(seen: list[str], m: Happened) -> None:
        await asyncio.sleep(0)  # a handler that waits still comes before the next
        seen.append(f"first {m.what}")

    async def second(seen: list[str], m: Happened) -> None:
        seen.append(f"second {m.what}")

    seen: list[str] = []
    bus, _, _ = _bus({Happened: [first, second]}, seen)
    await bus.dispatch(Happened("stop"))
    assert seen == ["first stop", "second stop"]


async def test_a_failing_handler_is_logged_and_the_others_still_run(
        caplog: pytest.LogCaptureFixture) -> None:
    async def fails(seen: list[str], m: Happened) -> None:
        raise RuntimeError("database gone")

    async def after(seen: list[str], m: Happened) -> None:
        seen.append(m.what)

    seen: list[str] = []
    bus, _, _ = _bus({Happened: [fails, after]}, seen)
    with caplog.at_level(logging.ERROR, logger="chargeplan.bus"):
        await bus.dispatch(Happened("stop"))
    assert seen == ["stop"]
    assert "fails after Happened(what='stop') failed" in caplog.text
    assert "database gone" in caplog.text


async def test_handle_returns_once_every_handler_of_the_message_ran() -> None:
    release = asyncio.Event()

    async def slow(seen: list[str], m: Happened) -> None:
        await release.wait()
        seen.append(m.what)

    seen: list[str] = []
    bus, outbox, tasks = _bus({Happened: [slow]}, seen)
    await bus.start()
    try:
        handled = asyncio.create_task(outbox.handle(Happened("boot")))
        outbox.publish(Happened("meter"))  # published, not waited for
        await asyncio.sleep(0.01)
        assert not handled.done() and seen == []
        release.set()
        await handled
        assert "boot" in seen
    finally:
        await bus.stop()
        await tasks.close()


async def test_a_publisher_waiting_when_the_bus_stops_goes_on() -> None:
    seen: list[str] = []
    bus, outbox, tasks = _bus({Happened: []}, seen)
    waiting = asyncio.create_task(outbox.handle(Happened("late")))
    await asyncio.sleep(0)
    await bus.stop()  # never started: the message is left inside
    await asyncio.wait_for(waiting, 1)
    await outbox.handle(Happened("after the stop"))  # returns at once
    await tasks.close()


async def test_debounce_publishes_the_ids_of_one_window_as_one_message() -> None:
    outbox = Outbox()
    debounce = Debounce(outbox, 0.01, Batched)
    for station_id in ("CP-2", "CP-1", "CP-2"):
        debounce.add(station_id)
    message, _ = await asyncio.wait_for(outbox.take(), 1)
    assert message == Batched(("CP-2", "CP-1"))
    assert outbox.pending == 0


def test_every_message_type_has_its_row_in_the_table() -> None:
    kinds = {obj for _, obj in inspect.getmembers(messages, inspect.isclass)
             if issubclass(obj, Message) and obj is not Message}
    assert kinds - set(REACTIONS) == set()
    assert all(REACTIONS[kind] for kind in kinds), "a row without handlers"
