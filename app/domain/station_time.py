"""How far a station's timestamps are trusted.

A station's clock may be wrong (unset after a power cut, a dead RTC battery, a firmware
bug): OCPP 1.6 §4.2 lets the central system send its time in BootNotification.conf and
Heartbeat.conf, but nothing obliges a station to use it. Its timestamps still date its
data (an offline queue is replayed with the times it was recorded, OCPP 1.6 §3.7), so
they are kept, but:

- a timestamp more than ``max_ahead`` after the frame was received cannot be true (a
  frame does not come from the future): it never orders state, the order of receipt
  does. Our receive time is not compared with the station's clock either: a station
  stamping whole seconds would see a status it sent after such an event, in the same
  second, taken as older (12:00:25Z against a receipt at 12:00:25.894);
- a timestamp more than ``max_ahead`` ahead or ``max_age`` behind receipt is flagged, as
  is a stop before its start, so no report takes it at its word.

The clock offset of a station (its clock minus ours) is estimated from the timestamps it
sends: each sample is ``timestamp - received``. A frame is never received before it was
stamped, so delays and replays only make a sample smaller; the largest recent sample is
the closest to the truth. Recent: the current window and the one before, both since the
last boot (the station may have set its clock from BootNotification.conf).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TimeFlag(StrEnum):
    FUTURE = "future"  # after receipt + max_ahead
    TOO_OLD = "too_old"  # before receipt - max_age
    BEFORE_START = "before_start"  # a transaction stopped before it started


@dataclass(frozen=True)
class TimeRules:
    max_ahead: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=90)

    def flag(self, stamped: datetime, received: datetime) -> TimeFlag | None:
        if stamped > received + self.max_ahead:
            return TimeFlag.FUTURE
        if stamped < received - self.max_age:
            return TimeFlag.TOO_OLD
        return None

    def ordering_time(self, stamped: datetime, received: datetime) -> datetime | None:
        """The time that orders state: the station's, unless it lies in the future; then
        None: the event is ordered by receipt (the later received wins) against any other,
        as one the station sent without a time."""
        return None if stamped > received + self.max_ahead else stamped

    def stop_flag(self, started: datetime, stopped: datetime,
                  received: datetime) -> TimeFlag | None:
        if stopped < started:
            return TimeFlag.BEFORE_START
        return self.flag(stopped, received)


@dataclass(frozen=True)
class ClockOffset:
    """The largest sample of the current window and of the one before it."""

    window: timedelta
    window_start: datetime
    current: float
    previous: float | None = None

    @classmethod
    def first(cls, sample_s: float, now: datetime,
              window: timedelta = timedelta(hours=1)) -> ClockOffset:
        return cls(window, now, sample_s)

    @property
    def seconds(self) -> float:
        return self.current if self.previous is None else max(self.current, self.previous)

    def observe(self, sample_s: float, now: datetime) -> ClockOffset:
        if now - self.window_start >= self.window:
            return ClockOffset(self.window, now, sample_s, self.current)
        if sample_s > self.current:
            return ClockOffset(self.window, self.window_start, sample_s, self.previous)
        return self


def offset_sample(stamped: datetime, received: datetime) -> float:
    return (stamped - received).total_seconds()
