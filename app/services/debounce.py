"""Debouncing, a handler's policy for happenings that come in storms: ids collected for a
short window, then published together as one message."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.services.messagebus import Publisher
from app.services.messages import Message


class Debounce:
    """Ids added within ``window_s`` of the first one are published as one message made
    by ``message`` (a reconnect storm costs one query per batch, a burst of sessions'
    happenings one re-plan)."""

    def __init__(self, bus: Publisher, window_s: float,
                 message: Callable[[tuple[str, ...]], Message]) -> None:
        self._bus = bus
        self._window_s = window_s
        self._message = message
        self._ids: dict[str, None] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, key: str) -> None:
        self._ids[key] = None
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window_s, self._fire)

    def _fire(self) -> None:
        ids, self._ids, self._timer = tuple(self._ids), {}, None
        self._bus.publish(self._message(ids))

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
