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
# Counting the tracked objects lists them all (a few ms at a million): after every full
# collection, and after an older-generation one at most this often.
COUNT_EVERY_S = 10.0


class CollectorPauses:
    def __init__(self) -> None:
        self.full_collections = 0
        self.full_pause_total_s = 0.0
        self.full_pause_max_s = 0.0
        # Objects the collector tracked when last counted (the frozen ones left out):
        # what the next full collection will walk.
        self.tracked_objects = 0
        self._started = 0.0
        self._counted = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        generation = info.get("generation")
        if phase == "start":
            if generation == FULL:
                self._started = time.perf_counter()
            return
        now = time.perf_counter()
        if generation == FULL:
            pause = now - self._started
            self.full_collections += 1
            self.full_pause_total_s += pause
            self.full_pause_max_s = max(self.full_pause_max_s, pause)
        elif generation == 0 or now - self._counted < COUNT_EVERY_S:
            return
        # Outside the pause just measured.
        self.tracked_objects = sum(len(gc.get_objects(g)) for g in range(FULL + 1))
        self._counted = time.perf_counter()


PAUSES = CollectorPauses()
