"""Throttling failed station authentication without locking out the real station.

Failures are counted per source address and per (station, address) pair, each with
exponential lockout (``app.domain.lockout``). One address guessing one station's password
locks out that pair, never the station: the real charger connecting from elsewhere is
not affected. Guessing spread over many addresses is caught per station: once failures
for a station come from ``failures_allowed`` different addresses within the window, the
station is locked for every address except those it has authenticated from before.

The two kinds of lockout refuse differently (``Verdict``):
- a pair or station lockout refuses the attempt whatever it presents, before any
  credential is checked: a flood of guesses for one station costs nothing to refuse;
- an address lockout only throttles: the attempt's credentials are still checked, a
  correct one is admitted, and anything else is refused. Depots put many chargers behind
  one public address (NAT): one charger with a stale password must not keep the others
  off. While its address is locked, a station's first failure locks its pair at once, so
  a locked address gets at most one credential check per station per lockout.
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


@dataclass(frozen=True)
class Verdict:
    """What the lockouts say of an attempt before its credentials are checked (seconds;
    0 when none applies)."""

    # A pair or station lockout: refused whatever the attempt presents.
    refused_for: float
    # An address lockout: only a correct credential for the station is admitted.
    throttled_for: float


class AuthThrottle:
    def __init__(self, policy: LockoutPolicy) -> None:
        self._lock = Lockout(policy)
        self._known: OrderedDict[str, list[str]] = OrderedDict()
        self._max_stations = policy.max_keys

    def verdict(self, station_id: str, host: str, now: float) -> Verdict:
        refused = self._lock.retry_after(f"pair:{station_id}|{host}", now)
        if host not in self._known.get(station_id, ()):
            refused = max(refused, self._lock.retry_after(f"station:{station_id}", now))
        return Verdict(refused, self._lock.retry_after(f"addr:{host}", now))

    def retry_after(self, station_id: str, host: str, now: float) -> float:
        """Seconds until every lockout on this address and station has run out; 0 when
        free."""
        verdict = self.verdict(station_id, host, now)
        return max(verdict.refused_for, verdict.throttled_for)

    def fail(self, station_id: str, host: str, now: float) -> Lockouts:
        started = []
        address, pair = f"addr:{host}", f"pair:{station_id}|{host}"
        address_locked = self._lock.retry_after(address, now) > 0
        first_from_here = self._lock.failures(pair, now) == 0
        for key, duration in ((address, self._lock.fail(address, now)),
                              # A locked address gets one credential check per station.
                              (pair, self._lock.lock(pair, now) if address_locked
                               else self._lock.fail(pair, now))):
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

    def succeed(self, station_id: str, host: str, now: float) -> None:
        """The station authenticated from this address: its pair's failures are
        forgotten, unless a lockout of the pair began while its credentials were checked
        (taken in from another node, or started by a concurrent failure): that stands."""
        pair = f"pair:{station_id}|{host}"
        if self._lock.retry_after(pair, now) == 0:
            self._lock.succeed(pair)
        known = self._known.pop(station_id, [])
        if host in known:
            known.remove(host)
        known.insert(0, host)
        self._known[station_id] = known[:KNOWN_ADDRESSES]
        if len(self._known) > self._max_stations:
            self._known.popitem(last=False)
