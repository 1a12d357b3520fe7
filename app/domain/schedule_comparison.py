"""Comparing schedules: what a charger reported (GetCompositeSchedule.conf, OCPP 1.6 §5.7)
against what it should apply, as step functions of time.

:func:`composite_answer <app.domain.composite.composite_answer>` computes what a charger
should report; this module reads a reported schedule (:func:`limit_at`), compares two
(:func:`schedules_match`) and says which charger convention explains an answer
(:func:`explains`, :func:`explanation`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, overload

from app.domain.composite import NO_LIMIT, CompositeAnswer, Convention
from app.domain.profiles import ensure_utc, parse_datetime

__all__ = [
    "explanation",
    "explains",
    "limit_at",
    "schedules_match",
    "unconstrained_in",
]


@dataclass(frozen=True)
class _Steps:
    """A reported schedule as a step function: limit from each instant until the next."""

    start: datetime
    end: datetime | None
    unit: str
    steps: tuple[tuple[datetime, float], ...]

    def at(self, at: datetime) -> float | None:
        if at < self.start or (self.end is not None and at >= self.end):
            return None
        return self._in_force(at, None)

    def held_at(self, at: datetime) -> float:
        """The limit at ``at`` ignoring the window: the first before it, the last after."""
        held = self._in_force(at, self.steps[0][1])
        assert held is not None  # it starts from a limit
        return held

    def _in_force(self, at: datetime, before: float | None) -> float | None:
        current = before
        for begin, limit in self.steps:
            if begin <= at:
                current = limit
            else:
                break
        return current


def _steps(payload: Mapping[str, Any]) -> _Steps | None:
    schedule = payload.get("chargingSchedule", payload)
    if not isinstance(schedule, Mapping) or "chargingSchedulePeriod" not in schedule:
        return None
    raw_start = schedule.get("startSchedule") or payload.get("scheduleStart")
    if not isinstance(raw_start, str):
        raise ValueError("the schedule has neither startSchedule nor scheduleStart")
    start = parse_datetime(raw_start)
    duration = schedule.get("duration")
    end = start + timedelta(seconds=duration) if duration is not None else None
    periods = sorted(schedule["chargingSchedulePeriod"], key=lambda p: p["startPeriod"])
    steps = tuple((start + timedelta(seconds=p["startPeriod"]), float(p["limit"])) for p in periods)
    return _Steps(start, end, str(schedule.get("chargingRateUnit")), steps)


@overload
def limit_at(schedule_ocpp: Mapping[str, Any], at: datetime) -> float | None: ...


@overload
def limit_at(schedule_ocpp: Mapping[str, Any], at: datetime, *, hold: Literal[True]) -> float: ...


def limit_at(schedule_ocpp: Mapping[str, Any], at: datetime, *,
             hold: bool = False) -> float | None:
    """The limit a schedule gives at ``at``: a GetCompositeSchedule.conf, a
    chargingSchedule or a profile holding one.

    None outside the schedule's window or when the payload carries no schedule (Rejected).
    With ``hold`` (a single-schedule profile of ours, e.g. a circuit's), the first
    period's limit holds before the start and the last one's after the duration; a
    payload without a schedule is then an error.
    """
    steps = _steps(schedule_ocpp)
    if steps is None:
        if hold:
            raise ValueError("the payload carries no chargingSchedule")
        return None
    return steps.held_at(ensure_utc(at)) if hold else steps.at(ensure_utc(at))


def schedules_match(a: Mapping[str, Any], b: Mapping[str, Any], *, tolerance: float = 0.1) -> bool:
    """True when two reported schedules give the same limits over their common window.

    The step functions are compared at every breakpoint of either, so periods cut at
    different instants that give the same limits match. Both must use the same unit; a
    payload without a schedule, or two windows with nothing in common, do not match.
    """
    left, right = _steps(a), _steps(b)
    if left is None or right is None or left.unit != right.unit:
        return False
    low = max(left.start, right.start)
    ends = [e for e in (left.end, right.end) if e is not None]
    if ends:
        high = min(ends)
    else:
        last = max(begin for begin, _ in (*left.steps, *right.steps, (low, 0.0)))
        high = max(low, last) + timedelta(seconds=1)
    if low >= high:
        return False
    points = {low} | {begin for begin, _ in (*left.steps, *right.steps) if low < begin < high}
    for point in points:
        x, y = left.at(point), right.at(point)
        if x is None or y is None:
            if x is not y:
                return False
        elif abs(x - y) > tolerance + 1e-9:
            return False
    return True


def explanation(candidates: Iterable[CompositeAnswer], reported: Mapping[str, Any], *,
                known: Convention | None, unconstrained: float | None = None
                ) -> CompositeAnswer | None:
    """Which convention explains a GetCompositeSchedule.conf (None when none does).

    The station's ``known`` convention (recorded by an earlier verification) wins when it
    explains the answer; ``candidates`` are consumed lazily, so give the known one first
    and nothing else is computed then. Else, of the conventions that explain it, the most
    specific (:attr:`CompositeAnswer.compared_seconds`), the earliest of ``candidates`` on
    a tie: an answer both strict and libocpp explain is recorded as libocpp only when
    libocpp bounds more of it.
    """
    explaining: list[CompositeAnswer] = []
    for candidate in candidates:
        if explains(candidate, reported, unconstrained=unconstrained):
            if candidate.convention is known:
                return candidate
            explaining.append(candidate)
    return max(explaining, key=lambda c: c.compared_seconds, default=None)


def explains(expected: CompositeAnswer, reported: Mapping[str, Any], *,
             unconstrained: float | None = None, tolerance: float = 0.1) -> bool:
    """Whether a GetCompositeSchedule.conf shows every limit ``expected`` holds applied.

    Only the instants some profile bounds are compared: elsewhere the charger reports its
    own value. A bounded instant the answer does not cover, or covers with another limit,
    is a limit not applied; a reported value below the bound that equals the station's
    ``unconstrained`` value is the station's own maximum, lower than the profile's, so the
    profile is applied. Units must agree (ask in the unit of the profiles).
    """
    if expected.status != "Accepted":
        return False
    steps = _steps(reported)
    if steps is None or steps.unit != expected.unit.value:
        return False
    start = expected.schedule_start
    window_end = start + timedelta(seconds=expected.duration)
    periods = expected.periods
    # MicroOcpp says "no limit" as -1: an answer that says anything else where it would
    # have no limit is not MicroOcpp's (a charger that ignores its profiles while idle
    # would otherwise pass for one).
    signed = expected.convention is Convention.MICROOCPP
    if signed and (steps.start > start or (steps.end is not None and steps.end < window_end)):
        # MicroOcpp answers for the whole window asked: an answer that leaves part of it
        # out (open-ocpp's, whose window shrinks to what its profiles cover, down to
        # nothing when it holds none) is not MicroOcpp's "no limit".
        return False
    for index, point in enumerate(periods):
        if point.limit is None and not signed:
            continue
        begin = start + timedelta(seconds=point.start)
        end = (start + timedelta(seconds=periods[index + 1].start)
               if index + 1 < len(periods) else window_end)
        instants = {begin} | {at for at, _ in steps.steps if begin < at < end}
        if steps.end is not None and begin < steps.end < end:
            instants.add(steps.end)
        for at in instants:
            value = steps.at(at)
            if point.limit is None:
                if value is not None and value != NO_LIMIT:
                    return False
                continue
            if value is None or value < 0:
                return False
            if abs(value - point.limit) <= tolerance + 1e-9:
                continue
            if (unconstrained is not None and value < point.limit
                    and abs(value - unconstrained) <= tolerance + 1e-9):
                continue
            return False
    return True


def unconstrained_in(expected: CompositeAnswer, reported: Mapping[str, Any]) -> float | None:
    """What the charger reported at the first instant no profile bounds: its own value
    (None when every reported instant is bounded, or the charger says "no limit")."""
    steps = _steps(reported)
    if steps is None or steps.unit != expected.unit.value:
        return None
    start = expected.schedule_start
    for point in expected.periods:
        if point.limit is None and point.shown is None:
            value = steps.at(start + timedelta(seconds=point.start))
            if value is not None and value >= 0:
                return value
    return None
