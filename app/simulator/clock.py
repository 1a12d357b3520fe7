"""The station's virtual clock: real time, or real time shifted to a chosen start instant."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta


class VirtualClock:
    """Runs from ``start`` at ``speed`` times normal speed (or is plain UTC wall time
    without a start). A faster clock lets a test live through hours of a depot in
    seconds: the server given the same clock, cars charge and leave by it."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be greater than 0")
        self._start = start.astimezone(UTC) if start is not None else None
        self._origin = time.monotonic()
        self.speed = speed if start is not None else 1.0
        self._changed = asyncio.Event()  # set (and replaced) when the speed changes

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(UTC)
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)

    def set_speed(self, speed: float) -> None:
        """Run at ``speed`` from now on (a clock with a start only): e.g. real time while
        stations connect, faster once the cars are in."""
        if speed <= 0:
            raise ValueError("speed must be greater than 0")
        if self._start is None:
            raise ValueError("a clock without a start runs at real time")
        self._start, self._origin, self.speed = self.now(), time.monotonic(), speed
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def sleep_until(self, at: datetime) -> None:
        """Wait until this clock reads ``at``; a change of speed meanwhile is followed."""
        while (left := (at - self.now()).total_seconds()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left / self.speed)


def ocpp_timestamp(at: datetime) -> str:
    """An OCPP-J dateTime: ISO 8601 in UTC with a ``Z`` suffix, millisecond precision."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
