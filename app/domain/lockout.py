"""Throttling of failed authentication and of request rates: pure rules, time passed in.

Failed authentication (station passwords, API keys) is counted per key (a station id, an
address, or both together). Once a key has failed ``failures_allowed`` times within
``window_s`` it is locked for ``base_lock_s``; each further lockout of the same key
doubles the time, up to ``max_lock_s`` (exponential lockout). A success clears the key's
failures and its lockout history, and so does a quiet period of ``forget_after_s``.

Request rates are token buckets: ``rate`` requests per second sustained, ``burst`` at
once; a refused request learns how long until the next token.

Times are seconds on a monotonic clock, given by the caller; nothing here reads a clock.
Memory is bounded: keys idle for longer than ``forget_after_s`` are dropped when the table
grows past ``max_keys``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LockoutPolicy:
    failures_allowed: int = 5
    window_s: float = 60.0
    base_lock_s: float = 60.0
    max_lock_s: float = 3600.0
    forget_after_s: float = 86400.0
    max_keys: int = 100_000

    def lock_duration(self, lockouts: int) -> float:
        """How long the ``lockouts``-th lockout (1-based) of a key lasts."""
        return min(self.max_lock_s, self.base_lock_s * 2.0 ** max(0, lockouts - 1))

    def lockouts_for(self, duration: float) -> int:
        """Which lockout (1-based) lasted ``duration``: the first that lasts as long."""
        lockouts = 1
        while self.lock_duration(lockouts) < duration and \
                self.lock_duration(lockouts) < self.max_lock_s:
            lockouts += 1
        return lockouts


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    lockouts: int = 0
    locked_until: float = 0.0
    last_event: float = 0.0


class Lockout:
    def __init__(self, policy: LockoutPolicy) -> None:
        self.policy = policy
        self._records: dict[str, _Record] = {}

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again; 0 when it is not locked."""
        record = self._records.get(key)
        if record is None:
            return 0.0
        return max(0.0, record.locked_until - now)

    def failures(self, key: str, now: float) -> int:
        """Failures of ``key`` within the window (since its last lockout began)."""
        record = self._records.get(key)
        if record is None:
            return 0
        return sum(1 for t in record.failures if now - t <= self.policy.window_s)

    def fail(self, key: str, now: float) -> float:
        """Count a failure; the length of the lockout it starts, or 0 when none starts."""
        record = self._record(key, now)
        if now - record.last_event > self.policy.forget_after_s:
            record.lockouts = 0
        record.last_event = now
        window = record.failures
        window.append(now)
        while window and now - window[0] > self.policy.window_s:
            window.popleft()
        if len(window) < self.policy.failures_allowed or record.locked_until > now:
            return 0.0
        return self._start_lockout(record, now)

    def lock(self, key: str, now: float) -> float:
        """Start a lockout of ``key`` now, whatever its failures (the next one of its
        series, as ``fail`` would); 0 when it is locked already."""
        record = self._record(key, now)
        if record.locked_until > now:
            return 0.0
        if now - record.last_event > self.policy.forget_after_s:
            record.lockouts = 0
        record.last_event = now
        return self._start_lockout(record, now)

    def _start_lockout(self, record: _Record, now: float) -> float:
        record.failures.clear()
        record.lockouts += 1
        duration = self.policy.lock_duration(record.lockouts)
        record.locked_until = now + duration
        return duration

    def succeed(self, key: str) -> None:
        self._records.pop(key, None)

    def restore(self, key: str, duration: float, remaining: float, now: float) -> None:
        """Take back a lockout of ``duration`` with ``remaining`` seconds to run (one that
        another process started, or this one before a restart); the next lockout of the
        key lasts twice as long, as it would have."""
        if remaining <= 0:
            return
        record = self._record(key, now)
        record.lockouts = max(record.lockouts, self.policy.lockouts_for(duration))
        record.locked_until = max(record.locked_until, now + remaining)
        record.last_event = now

    def __len__(self) -> int:
        return len(self._records)

    def _record(self, key: str, now: float) -> _Record:
        record = self._records.get(key)
        if record is not None:
            return record
        if len(self._records) >= self.policy.max_keys:
            self._prune(now)
        record = self._records[key] = _Record(last_event=now)
        return record

    def _prune(self, now: float) -> None:
        horizon = self.policy.forget_after_s
        self._records = {k: r for k, r in self._records.items()
                         if r.locked_until > now or now - r.last_event <= horizon}
        if len(self._records) >= self.policy.max_keys:
            # Still full of live keys: keep the locked ones, forget mere failure counts.
            self._records = {k: r for k, r in self._records.items() if r.locked_until > now}


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """One token bucket per key."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._max_keys = max_keys

    def take(self, key: str, rate: float, burst: float, now: float) -> float:
        """Take a token: 0 when granted, else the seconds until one is available."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(tokens=burst, stamp=now)
        bucket.tokens = min(burst, bucket.tokens + max(0.0, now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate if rate > 0 else float("inf")
