"""What the cycle collector costs this process: its full collections and their pauses.

A full collection walks every tracked object (every dict, list, tuple of containers,
coroutine, future ... not frozen at start-up) with the event loop stopped, so its pause
grows with what each connection and each frame in flight keeps. Measured through
``gc.callbacks``; exposed by ``/metrics`` and read by the bench's steady scenario.
"""

from __future__ import annotations

import gc
import time
from typing import Any

FULL = 2


class CollectorPauses:
    def __init__(self) -> None:
        self.full_collections = 0
        self.full_pause_total_s = 0.0
        self.full_pause_max_s = 0.0
        self._started = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != FULL:
            return
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        self.full_collections += 1
        self.full_pause_total_s += pause
        self.full_pause_max_s = max(self.full_pause_max_s, pause)


def tracked_objects() -> int:
    """Objects the collector tracks now, those frozen at start-up left out: what the next
    full collection walks. Lists them all, which stops the event loop about as long as a
    collection would (tens of ms at a million): only on request."""
    return sum(len(gc.get_objects(generation)) for generation in range(FULL + 1))


PAUSES = CollectorPauses()
