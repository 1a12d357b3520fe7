"""Charging limits set outside chargeplan, as caps on the sessions they bound.

OCPP 2.0.1 K12 NotifyChargingLimit: a station tells the central system that a limit was
set on it by someone else: ``chargingLimitSource`` EMS (a local energy manager), SO (the
grid operator), CSO (another central system) or Other, ``isGridCritical``, the EVSE it
applies to (absent or 0: the whole station, OCPP 2.0.1 NotifyChargingLimitRequest
``evseId``) and, optionally, the schedules it follows (ChargingScheduleType: a
``startSchedule``, a ``duration``, a ``chargingRateUnit`` and periods). K13
ClearedChargingLimit removes it. The station enforces it itself; chargeplan takes it as a
cap so that it does not hand a session current the session cannot draw:

- A limit on an EVSE caps the session on that EVSE (in chargeplan's model the 1.6
  connector and the 2.0.1 EVSE are the same place: what a profile addresses).
- A limit on the whole station is shared by the sessions running there: each is capped at
  its equal part (fail closed: no session is given more than the station may draw).
- A period's limit in W is per phase ``limit / (voltage x numberPhases)`` (3 phases where
  the period does not say, OCPP 2.0.1 ChargingSchedulePeriodType ``numberPhases``).
- A schedule without ``startSchedule`` starts when the message came; without
  ``duration`` its last period lasts. Before its start and after its end it caps nothing.
- A limit without schedules says a limit is set but not what it is: it caps nothing
  (chargeplan cannot invent a number) and is shown as such.
- Each cap window is named ``"external limit (<source>)"``: the binding of a session it
  holds down.

Pure: standard library only, times passed in (aware UTC), frozen dataclasses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.domain.allocation import CapWindow
from app.domain.profiles import parse_datetime

DEFAULT_PHASES = 3


class LimitSource(StrEnum):
    """OCPP 2.0.1 ChargingLimitSourceEnumType."""

    EMS = "EMS"
    OTHER = "Other"
    SO = "SO"
    CSO = "CSO"


class LimitError(ValueError):
    """Bad input: ``field`` names it as the station spells it."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True)
class LimitPeriod:
    start_s: int
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True)
class LimitSchedule:
    unit: str  # "A" or "W"
    periods: tuple[LimitPeriod, ...]
    start: datetime | None = None
    duration_s: int | None = None


@dataclass(frozen=True)
class ExternalLimit:
    evse_id: int  # 0: the whole station
    source: LimitSource
    received_at: datetime
    schedules: tuple[LimitSchedule, ...] = ()
    is_grid_critical: bool | None = None

    @property
    def label(self) -> str:
        return label(self.source)


def label(source: LimitSource | str) -> str:
    """What a session held down by the limit is bound by."""
    return f"external limit ({source})"


def parse_schedules(raw: Sequence[Mapping[str, Any]] | None,
                    field: str = "chargingSchedule") -> tuple[LimitSchedule, ...]:
    """The schedules of a NotifyChargingLimit as sent (camelCase); LimitError naming the
    field at fault."""
    found = []
    for index, schedule in enumerate(raw or ()):
        where = f"{field}[{index}]"
        unit = schedule.get("chargingRateUnit")
        if unit not in ("A", "W"):
            raise LimitError(f"{where}.chargingRateUnit", "must be A or W")
        periods = []
        for n, period in enumerate(schedule.get("chargingSchedulePeriod") or ()):
            start, limit = period.get("startPeriod"), period.get("limit")
            phases = period.get("numberPhases")
            if not isinstance(start, int) or start < 0:
                raise LimitError(f"{where}.chargingSchedulePeriod[{n}].startPeriod",
                                 "must be an integer of 0 or more")
            if not isinstance(limit, int | float) or limit < 0:
                raise LimitError(f"{where}.chargingSchedulePeriod[{n}].limit",
                                 "must be a number of 0 or more")
            if phases is not None and phases not in (1, 2, 3):
                raise LimitError(f"{where}.chargingSchedulePeriod[{n}].numberPhases",
                                 "must be 1, 2 or 3")
            periods.append(LimitPeriod(start, float(limit), phases))
        # OCPP 2.0.1 ChargingScheduleType: the first period starts at 0, in order.
        if not periods or periods[0].start_s != 0:
            raise LimitError(f"{where}.chargingSchedulePeriod",
                             "needs a first period with startPeriod 0")
        if any(b.start_s <= a.start_s for a, b in zip(periods, periods[1:], strict=False)):
            raise LimitError(f"{where}.chargingSchedulePeriod",
                             "startPeriod must increase from one period to the next")
        start_text = schedule.get("startSchedule")
        duration = schedule.get("duration")
        if duration is not None and (not isinstance(duration, int) or duration <= 0):
            raise LimitError(f"{where}.duration", "must be a positive integer (seconds)")
        try:
            start = None if start_text is None else parse_datetime(str(start_text))
        except ValueError:
            raise LimitError(f"{where}.startSchedule", "must be an RFC 3339 time") from None
        found.append(LimitSchedule(unit, tuple(periods), start, duration))
    return tuple(found)


def amps(period: LimitPeriod, unit: str, voltage: float) -> float:
    """The period's limit in A per phase."""
    if unit == "A":
        return period.limit
    return period.limit / (voltage * (period.number_phases or DEFAULT_PHASES))


def windows(limit: ExternalLimit, at: datetime, end: datetime, voltage: float,
            share: int = 1) -> tuple[CapWindow, ...]:
    """The limit's caps over [at, end), in A per phase, each divided by ``share`` (the
    sessions that split a whole-station limit)."""
    found = []
    for schedule in limit.schedules:
        anchor = schedule.start or limit.received_at
        stop = end if schedule.duration_s is None else min(
            end, anchor + timedelta(seconds=schedule.duration_s))
        starts = [anchor + timedelta(seconds=p.start_s) for p in schedule.periods]
        for period, begin, following in zip(schedule.periods, starts,
                                            [*starts[1:], stop], strict=True):
            lo, hi = max(begin, at), min(following, stop)
            if lo < hi:
                value = amps(period, schedule.unit, voltage) / max(share, 1)
                found.append(CapWindow(lo, hi, round(value, 3), limit.label))
    return tuple(found)


def session_caps(limits: Sequence[ExternalLimit], evse_id: int, sessions_on_station: int,
                 at: datetime, end: datetime, voltage: float) -> tuple[CapWindow, ...]:
    """What the station's external limits allow the session on ``evse_id`` over
    [at, end): the EVSE's own limits, and its part of the whole station's."""
    found: list[CapWindow] = []
    for limit in limits:
        if limit.evse_id == evse_id:
            found.extend(windows(limit, at, end, voltage))
        elif limit.evse_id == 0:
            found.extend(windows(limit, at, end, voltage, share=sessions_on_station))
    return tuple(found)
