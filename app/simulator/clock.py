"""The station's virtual clock: real time, or real time shifted to a chosen start instant."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class VirtualClock:
    """Runs at normal speed from ``start`` (or is plain UTC wall time without one)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start.astimezone(UTC) if start is not None else None
        self._origin = time.monotonic()

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(UTC)
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


def ocpp_timestamp(at: datetime) -> str:
    """An OCPP-J dateTime: ISO 8601 in UTC with a ``Z`` suffix, millisecond precision."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
