"""Demand detection: what a session's metered draws say about the current it uses.

A car that keeps drawing well below its limit leaves capacity unused
(:func:`demand_cap`, :func:`next_demand`); a charger that keeps drawing above its limit
ignores it (:func:`over_limit`). Draws count only once the limit they answer is in force
(:func:`held_limit`). The circuit allocation (``app/domain/allocation.py``) takes the
caps found here as its sessions' ``demand_cap_a``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "DEMAND_HEADROOM",
    "OVER_LIMIT_TOLERANCE_A",
    "UNUSED_MARGIN_A",
    "UNUSED_SAMPLES",
    "DemandState",
    "HeldLimit",
    "demand_cap",
    "held_limit",
    "next_demand",
    "over_limit",
]

_EPS = 1e-6  # amperes a float comparison forgives
_STEP = 0.1  # OCPP 1.6 errata §3.71: limits carry at most one decimal


def _ceil_tenth(value: float) -> float:
    return math.ceil(value * 10 - _EPS) / 10


UNUSED_SAMPLES = 3  # samples a car must stay below its limit to be capped
UNUSED_MARGIN_A = 1.0  # "below its limit": at least this much below
DEMAND_HEADROOM = 1.2  # a capped car is offered its draw times this


def demand_cap(draws_a: Sequence[float], limit_a: float | None, suspended_ev: bool) -> float | None:
    """A session's unused-capacity cap, from its latest metered draws (oldest first).

    A car that is SuspendedEV is capped at 0 (it then holds its minimum). A car whose last
    ``UNUSED_SAMPLES`` draws all stayed ``UNUSED_MARGIN_A`` or more below its limit is
    capped at its highest recent draw x ``DEMAND_HEADROOM``, rounded up to 0.1 A, and the
    current it leaves goes to the others. The cap goes as soon as one draw comes within
    the margin of the limit (the limit being the cap by then), or the car stops being
    SuspendedEV. ``None``: no cap (not enough samples, or the car takes what it is given).
    """
    if suspended_ev:
        return 0.0
    recent = list(draws_a)[-UNUSED_SAMPLES:]
    if limit_a is None or len(recent) < UNUSED_SAMPLES:
        return None
    if all(draw <= limit_a - UNUSED_MARGIN_A for draw in recent):
        return _ceil_tenth(max(recent) * DEMAND_HEADROOM)
    return None


OVER_LIMIT_TOLERANCE_A = 1.0  # a charger may overshoot its limit by this much


def over_limit(draws_a: Sequence[float], limit_a: float | None) -> bool:
    """Whether a charger ignores its limit: its last ``UNUSED_SAMPLES`` draws since the
    limit was set all passed it by more than ``OVER_LIMIT_TOLERANCE_A``."""
    recent = list(draws_a)[-UNUSED_SAMPLES:]
    return (limit_a is not None and len(recent) == UNUSED_SAMPLES
            and all(draw > limit_a + OVER_LIMIT_TOLERANCE_A for draw in recent))


@dataclass(frozen=True)
class HeldLimit:
    """The limit a session is held to and since when it has had that value: draws from
    before ``since`` answered another limit and count neither for unused capacity nor for
    a charger over its limit."""

    limit_a: float
    since: datetime


def held_limit(previous: HeldLimit | None, limit_a: float,
               in_force_since: datetime | None) -> HeldLimit | None:
    """The limit held now, ``limit_a``, after ``previous``. ``in_force_since``: when the
    charger was held to it (the later of its acknowledgement and the start of the period
    giving it); None while the charger has not acknowledged it. The same value sent again
    (a lease renewal, a new ``startSchedule``) keeps ``previous.since``: the car answers a
    value, not a message; otherwise a lease shorter than three samples would keep a
    tapering car from ever being capped. A new value counts from ``in_force_since``; None
    while it is on its way: no draw answers it yet (counted against it, the draws of the
    old limit would cap every car whose share just rose)."""
    if previous is not None and abs(previous.limit_a - limit_a) < _STEP / 2:
        return previous
    if in_force_since is None:
        return None
    return HeldLimit(limit_a, in_force_since)


@dataclass(frozen=True)
class DemandState:
    """A session's unused-capacity cap between solves. ``since``: draws before it answered
    another limit and do not count."""

    cap: float | None = None
    since: datetime | None = None


def next_demand(state: DemandState, draws: Sequence[tuple[datetime, float]],
                limit_a: float | None, suspended_ev: bool, now: datetime) -> DemandState:
    """The cap after the latest draws (oldest first, each ``(time, amperes)``).

    A capped car keeps its cap until it draws within ``UNUSED_MARGIN_A`` of it, or until
    it stops being SuspendedEV after a cap set for that; the draws that released it do
    not cap it again. An uncapped car is capped by :func:`demand_cap` on the draws since
    ``since``, against ``limit_a``.
    """
    counted = [amps for at, amps in draws if state.since is None or at > state.since]
    if state.cap is not None:
        if state.cap == 0.0:
            released = not suspended_ev
        else:
            released = bool(counted) and counted[-1] > state.cap - UNUSED_MARGIN_A
        if not released:
            return state
        return DemandState(None, now)
    cap = demand_cap(counted, limit_a, suspended_ev)
    return state if cap is None else DemandState(cap, now)
