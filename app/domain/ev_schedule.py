"""Whether the schedule a car chose fits what the central system allows (OCPP 2.0.1
NotifyEVChargingSchedule, K15/K16/K17).

Over ISO 15118 the car answers the station's schedule with its own charging profile; the
station passes it on with NotifyEVChargingSchedule: ``timeBase``, the EVSE and a
ChargingScheduleType whose periods start ``startPeriod`` seconds after ``timeBase``. The
central system checks it against its own schedule: Accepted when it is within its limits
(K15.FR.11, K16.FR.06, K17.FR.11), Rejected when it is not (K15.FR.12, K16.FR.07,
K17.FR.12).

What the central system allows is the composite schedule of what it sent for the EVSE
(its TxProfile for the transaction, or else its default and station-wide profiles), in the
car's unit, from ``timeBase`` (:mod:`app.domain.composite`; A and W convert there, with
each period's numberPhases and the supply's voltage). The rules:

1. At every instant where both the car's schedule and an allowed limit are in force, the
   car's limit is at or below the allowed one. The first instant where it is not, its
   period and the amount over are the answer.
2. An instant no profile bounds (``limit`` None in the composite: nothing was sent for the
   EVSE then) bounds nothing: the station keeps to its own rating.
3. In A, a limit is per phase, so a car's period on more phases than the allowed one
   names draws more than allowed at the same limit: it is over by the phases it adds
   (numberPhases 3 when not given, OCPP 2.0.1 ChargingSchedulePeriodType). In W the
   limit is the whole power, whatever the phases.
4. The car's last period runs to its schedule's ``duration`` when given, else for
   :data:`OPEN_ENDED_S` (chargeplan policy: the check has to end somewhere, and a day is
   longer than any session's plan).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.composite import CompositeAnswer, Point
from app.domain.profiles import ChargingRateUnit, ChargingSchedule, ChargingSchedulePeriod

# How long the car's last period is taken to run when its schedule has no duration.
OPEN_ENDED_S = 24 * 3600
# OCPP 2.0.1 ChargingSchedulePeriodType.numberPhases: 3 when not given.
DEFAULT_PHASES = 3
# Limits are compared as numbers; a car's limit equal to the allowed one fits.
_EPSILON = 1e-6


@dataclass(frozen=True)
class EvSchedule:
    """What the car chose: ``schedule``'s periods from ``time_base``."""

    time_base: datetime
    schedule: ChargingSchedule

    @property
    def unit(self) -> ChargingRateUnit:
        return self.schedule.charging_rate_unit

    def window_s(self) -> int:
        """The seconds from ``time_base`` the check covers (rule 4)."""
        if self.schedule.duration is not None:
            return max(self.schedule.duration, 1)
        return self.schedule.periods[-1].start_period + OPEN_ENDED_S


@dataclass(frozen=True)
class Excess:
    """The first instant the car's schedule is above what is allowed."""

    period: int  # index of the car's period in its chargingSchedulePeriod
    at: datetime
    limit: float  # the car's, in ``unit``
    allowed: float  # in ``unit``
    unit: ChargingRateUnit
    # Rule 3: the car's phases and the allowed ones, when the phases are what is over.
    phases: tuple[int, int] | None = None

    @property
    def over(self) -> float:
        return round(self.limit - self.allowed, 3)

    def describe(self) -> str:
        if self.phases is not None:
            return (f"period {self.period} asks {self.limit:g} {self.unit.value} on "
                    f"{self.phases[0]} phases at {self.at.isoformat()}, where "
                    f"{self.phases[1]} are allowed")
        return (f"period {self.period} asks {self.limit:g} {self.unit.value} at "
                f"{self.at.isoformat()}, {self.over:g} {self.unit.value} above the "
                f"{self.allowed:g} {self.unit.value} allowed")


@dataclass(frozen=True)
class ScheduleCheck:
    excess: Excess | None = None
    # Whether anything sent bounds the EVSE within the window.
    bounded: bool = False

    @property
    def fits(self) -> bool:
        return self.excess is None


def check_ev_schedule(chosen: EvSchedule, allowed: CompositeAnswer) -> ScheduleCheck:
    """Check ``chosen`` against ``allowed``: the composite of what was sent for its EVSE,
    in its unit, from its ``time_base`` over its :meth:`~EvSchedule.window_s`."""
    if allowed.unit is not chosen.unit:
        raise ValueError("the allowed schedule must be in the car's unit")
    offset = round((allowed.schedule_start - chosen.time_base).total_seconds())
    window = chosen.window_s()
    periods = chosen.schedule.periods
    instants = sorted({p.start_period for p in periods}
                      | {p.start + offset for p in allowed.periods}
                      | {0})
    for at in (t for t in instants if 0 <= t < window):
        index = _in_force(periods, at)
        point = _point_at(allowed.periods, at - offset)
        if index is None or point is None or point.limit is None:
            continue
        limit = periods[index].limit
        when = chosen.time_base + timedelta(seconds=at)
        if limit > point.limit + _EPSILON:
            return ScheduleCheck(Excess(index, when, limit, point.limit, chosen.unit), True)
        phases = (periods[index].number_phases or DEFAULT_PHASES,
                  point.number_phases or DEFAULT_PHASES)
        if chosen.unit is ChargingRateUnit.A and limit > _EPSILON and phases[0] > phases[1]:
            return ScheduleCheck(Excess(index, when, limit, point.limit, chosen.unit,
                                        phases), True)
    return ScheduleCheck(None, allowed.bounded)


def _in_force(periods: Sequence[ChargingSchedulePeriod], at: int) -> int | None:
    found = None
    for index, period in enumerate(periods):
        if period.start_period <= at:
            found = index
    return found


def _point_at(points: Sequence[Point], at: int) -> Point | None:
    found = None
    for point in points:
        if point.start <= at:
            found = point
    return found


def offered_periods(allowed: CompositeAnswer, *, ceiling: float | None,
                    car_minimum: float | None) -> tuple[ChargingSchedulePeriod, ...]:
    """The periods of a TxProfile offered to the car when chargeplan holds none for its
    session (K15.FR.03, K16.FR.08): what ``allowed`` (the composite of the other
    profiles for the EVSE) permits, so the offer never raises a limit the station
    applies now. The rules (chargeplan policy):

    1. An instant no profile bounds gets ``ceiling`` (the car's or the station's maximum);
       with none, nothing is offered there either: empty when no instant is bounded.
    2. A limit is at most ``ceiling`` and rounded down to one decimal.
    3. A limit between 0 and ``car_minimum`` is 0: below its minimum a car cannot charge
       (IEC 61851-1 Annex A), so the offer pauses it instead.
    4. Consecutive periods of the same limit are one.
    """
    periods: list[ChargingSchedulePeriod] = []
    for point in allowed.periods:
        limit = point.limit if point.limit is not None else ceiling
        if limit is None:
            return ()
        if ceiling is not None:
            limit = min(limit, ceiling)
        limit = math.floor(limit * 10 + _EPSILON) / 10
        if car_minimum is not None and 0 < limit < car_minimum:
            limit = 0.0
        if periods and periods[-1].limit == limit:
            continue
        periods.append(ChargingSchedulePeriod(point.start, limit, point.number_phases))
    return tuple(periods)
