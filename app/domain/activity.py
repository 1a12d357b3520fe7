"""When a charging profile is running, and which of its periods is in force at an instant.

A profile is *running* at an instant when the instant lies inside validFrom/validTo, at or
after its schedule start and before the end of its duration (OCPP 1.6 §3.13.2). Everything
here is pure: the schedule start of a profile (its *anchor*) is computed from arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from app.domain.profiles import (
    ChargingProfileKind,
    ChargingSchedulePeriod,
    RecurrencyKind,
)
from app.domain.protocol_rules import SchedulableProfile
from app.domain.validation import RECURRENCE_SECONDS


def schedule_anchor(
    profile: SchedulableProfile, request_start: datetime, transaction_start: datetime | None
) -> datetime | None:
    """The instant a profile's schedule (its first recurrence) starts; None if it never does.

    - Absolute (OCPP 1.6 §7.9): its startSchedule. When absent, its validFrom, else the start
      of the request: the profile then runs from the moment it is looked at, the reading
      libocpp gives to a profile received without startSchedule (it uses the receipt time).
    - Relative (§7.9): the start of the connector's transaction; with no transaction, the
      start of the request (libocpp and open-ocpp both apply it from the time of the request).
    - Recurring (§7.9): its startSchedule; without one it never runs (validation forbids it).
    """
    schedule = profile.schedule
    if profile.kind is ChargingProfileKind.ABSOLUTE:
        return schedule.start_schedule or profile.valid_from or request_start
    if profile.kind is ChargingProfileKind.RELATIVE:
        return transaction_start or request_start
    return schedule.start_schedule


def _cycle(profile: SchedulableProfile) -> timedelta | None:
    if profile.kind is not ChargingProfileKind.RECURRING:
        return None
    # OCPP 1.6 §7.37 (errata §3.79): Daily repeats every 24 h, Weekly every 7 days,
    # counted from startSchedule.
    return timedelta(seconds=RECURRENCE_SECONDS[profile.recurrency_kind or RecurrencyKind.DAILY])


def _cycle_start(profile: SchedulableProfile, anchor: datetime, at: datetime) -> datetime | None:
    if at < anchor:
        # A schedule, recurring or not, does not run before it first starts.
        return None
    cycle = _cycle(profile)
    if cycle is None:
        return anchor
    return anchor + cycle * ((at - anchor) // cycle)


def period_at(
    profile: SchedulableProfile, anchor: datetime | None, at: datetime
) -> ChargingSchedulePeriod | None:
    """The period of ``profile`` in force at ``at``, or None when it is not running."""
    if anchor is None:
        return None
    # OCPP 1.6 §3.13.2, §7.8: outside validFrom/validTo the profile gives way to a lower one.
    if profile.valid_from is not None and at < profile.valid_from:
        return None
    if profile.valid_to is not None and at >= profile.valid_to:
        return None
    begin = _cycle_start(profile, anchor, at)
    if begin is None:
        return None
    offset = at - begin
    duration = profile.schedule.duration
    # OCPP 1.6 §7.13: with no duration the last period runs on; with one, the schedule ends.
    if duration is not None and offset >= timedelta(seconds=duration):
        return None
    current: ChargingSchedulePeriod | None = None
    for period in profile.schedule.periods:
        if timedelta(seconds=period.start_period) <= offset:
            current = period
        else:
            break
    return current


def breakpoints(
    profile: SchedulableProfile, anchor: datetime | None, start: datetime, end: datetime
) -> set[datetime]:
    """Every instant in (start, end) at which ``profile``'s period may change."""
    points = {p for p in (profile.valid_from, profile.valid_to) if p is not None}
    if anchor is not None:
        for begin in _cycle_starts(profile, anchor, start, end):
            points.add(begin)
            points.update(
                begin + timedelta(seconds=p.start_period) for p in profile.schedule.periods
            )
            if profile.schedule.duration is not None:
                points.add(begin + timedelta(seconds=profile.schedule.duration))
    return {p for p in points if start < p < end}


def _cycle_starts(
    profile: SchedulableProfile, anchor: datetime, start: datetime, end: datetime
) -> Iterator[datetime]:
    cycle = _cycle(profile)
    if cycle is None:
        yield anchor
        return
    first = max(0, (start - anchor) // cycle)
    last = (end - anchor) // cycle
    for k in range(first, last + 1):
        yield anchor + cycle * k
