"""Throttling failed station authentication without locking out the real station.

Failures are counted per source address and per (station, address) pair, each with
exponential lockout (``app.domain.lockout``). One address guessing one station's password
locks out that address, never the station: the real charger connecting from elsewhere is
not affected. Guessing spread over many addresses is caught per station: once failures
for a station come from ``failures_allowed`` different addresses within the window, the
station is locked for every address except those it has authenticated from before.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from app.domain.lockout import Lockout, LockoutPolicy

# Addresses remembered per station as ones it authenticated from.
KNOWN_ADDRESSES = 4


@dataclass(frozen=True)
class Lockouts:
    """Lockouts a failure started: which key, for how long (seconds)."""

    started: tuple[tuple[str, float], ...]


class AuthThrottle:
    def __init__(self, policy: LockoutPolicy) -> None:
        self._lock = Lockout(policy)
        self._known: OrderedDict[str, list[str]] = OrderedDict()
        self._max_stations = policy.max_keys

    def retry_after(self, station_id: str, host: str, now: float) -> float:
        """Seconds until this address may try this station again; 0 when free."""
        wait = max(self._lock.retry_after(f"addr:{host}", now),
                   self._lock.retry_after(f"pair:{station_id}|{host}", now))
        if host not in self._known.get(station_id, ()):
            wait = max(wait, self._lock.retry_after(f"station:{station_id}", now))
        return wait

    def fail(self, station_id: str, host: str, now: float) -> Lockouts:
        started = []
        first_from_here = self._lock.failures(f"pair:{station_id}|{host}", now) == 0
        for key in (f"addr:{host}", f"pair:{station_id}|{host}"):
            duration = self._lock.fail(key, now)
            if duration:
                started.append((key, duration))
        if first_from_here:  # the station counts addresses, not attempts
            duration = self._lock.fail(f"station:{station_id}", now)
            if duration:
                started.append((f"station:{station_id}", duration))
        return Lockouts(tuple(started))

    def restore(self, kind: str, station_id: str | None, host: str | None, duration: float,
                remaining: float, now: float) -> bool:
        """A lockout recorded earlier (``kind`` addr, pair or station, as the keys of
        ``Lockouts.started`` begin); False when the record does not name one."""
        keys = {"addr": f"addr:{host}" if host else None,
                "pair": f"pair:{station_id}|{host}" if station_id and host else None,
                "station": f"station:{station_id}" if station_id else None}
        key = keys.get(kind)
        if key is None:
            return False
        self._lock.restore(key, duration, remaining, now)
        return True

    def known_address(self, station_id: str, host: str) -> None:
        """An address the station authenticated from before (exempt from its lockout)."""
        known = self._known.setdefault(station_id, [])
        if host not in known and len(known) < KNOWN_ADDRESSES:
            known.append(host)

    def succeed(self, station_id: str, host: str) -> None:
        self._lock.succeed(f"pair:{station_id}|{host}")
        known = self._known.pop(station_id, [])
        if host in known:
            known.remove(host)
        known.insert(0, host)
        self._known[station_id] = known[:KNOWN_ADDRESSES]
        if len(self._known) > self._max_stations:
            self._known.popitem(last=False)
