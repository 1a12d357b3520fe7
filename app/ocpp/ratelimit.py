"""Per-station limits: one misbehaving charger cannot starve the others."""

from __future__ import annotations

import time
from collections import deque


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class WindowCounter:
    """Events in the last ``window_s`` seconds, against a limit. Holds at most limit + 1
    timestamps, however many events come."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._stamps: deque[float] = deque(maxlen=limit + 1)

    def hit(self) -> bool:
        """Count one event; True when the window now holds more than the limit."""
        now = time.monotonic()
        self._expire(now)
        self._stamps.append(now)
        return len(self._stamps) > self.limit

    def idle(self) -> bool:
        """Nothing counted in the window: the counter can be forgotten."""
        self._expire(time.monotonic())
        return not self._stamps

    def _expire(self, now: float) -> None:
        stamps = self._stamps
        while stamps and now - stamps[0] >= self.window_s:
            stamps.popleft()
