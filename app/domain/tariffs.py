"""Time-of-use tariffs in local time, turned into an Absolute TxDefaultProfile per day.

Why Absolute and not Recurring Daily: OCPP 1.6 §7.37 repeats a Daily profile every
86,400 s from its startSchedule. A local day is 23 or 25 hours long on a daylight-saving
change, so a Daily profile drifts by an hour against the local clock from that day on,
and a window at 17:00-21:00 local would start at 16:00 or 18:00. Instead the generator
writes one Absolute profile that starts at local midnight of today (in UTC) and runs to
local midnight after tomorrow (47, 48 or 49 hours), computing every window in UTC seconds
for each local day on its own. It is regenerated every day shortly after local midnight,
so the station always holds today and tomorrow, and a missed regeneration still leaves a
full day of correct limits.

On a local date that has day-ahead prices and a tariff with a price rule, the rule
decides that date's limits: ``cheap_limit`` in the N cheapest hours (earlier hour first
on a tie) and ``other_limit`` in every other hour. Prices count elapsed hours from local
midnight, so a DST day has 23 or 25 of them. Where weekly windows overlap, the lowest
limit applies (never more than any window allows).

Pure: standard library and zoneinfo only; the caller passes the time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.composite import merge_periods
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
)
from app.domain.validation import has_one_decimal

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TariffError(ValueError):
    """Bad tariff input: ``field`` names the field, ``rule`` says what it must be."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True)
class Window:
    """A weekly window: on each of ``days`` (0 = Monday) from ``start`` to ``end`` local
    minutes after midnight; ``end <= start`` means it ends on the next day."""

    days: frozenset[int]
    start: int
    end: int
    limit: float


@dataclass(frozen=True)
class PriceRule:
    cheapest_hours: int
    cheap_limit: float
    other_limit: float


@dataclass(frozen=True)
class TimeOfUse:
    timezone: str
    unit: ChargingRateUnit
    windows: tuple[Window, ...]
    default_limit: float
    price_rule: PriceRule | None = None
    stack_level: int = 0


# --- reading input --------------------------------------------------------------------
def zone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TariffError(field, f"{name!r} is not a known IANA time zone") from None


def check_limit(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TariffError(field, "must be a number")
    number = float(value)
    # OCPP 1.6 §7.14: at most one decimal (schema multipleOf 0.1); never negative (policy).
    if not math.isfinite(number) or number < 0:
        raise TariffError(field, "must be a finite number of 0 or more")
    if not has_one_decimal(number):
        raise TariffError(field, "must have at most one decimal (OCPP 1.6 §7.14)")
    return number


def clock_minutes(text: str, field: str) -> int:
    """``"HH:MM"`` as minutes after midnight; ``"24:00"`` is the end of the day."""
    hours, sep, minutes = text.partition(":")
    if (sep != ":" or len(hours) != 2 or len(minutes) != 2 or not hours.isdigit()
            or not minutes.isdigit()):
        raise TariffError(field, "must be HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise TariffError(field, "must be a time of day from 00:00 to 24:00")
    return value


def window(days: Sequence[str], start: str, end: str, limit: object, field: str) -> Window:
    if not days:
        raise TariffError(f"{field}.days", "must name at least one day")
    numbers = set()
    for index, day in enumerate(days):
        if day not in DAYS:
            raise TariffError(f"{field}.days[{index}]", "must be one of " + ", ".join(DAYS))
        numbers.add(DAYS.index(day))
    first = clock_minutes(start, f"{field}.start") % (24 * 60)
    last = clock_minutes(end, f"{field}.end") % (24 * 60)
    if first == last:
        raise TariffError(f"{field}.end", "must differ from start")
    return Window(frozenset(numbers), first, last, check_limit(limit, f"{field}.limit"))


def price_rule(cheapest_hours: int, cheap_limit: object, other_limit: object,
               field: str = "price_rule") -> PriceRule:
    if not 0 <= cheapest_hours <= 25:
        raise TariffError(f"{field}.cheapest_hours", "must be between 0 and 25")
    return PriceRule(cheapest_hours, check_limit(cheap_limit, f"{field}.cheap_limit"),
                     check_limit(other_limit, f"{field}.other_limit"))


def parse_date(text: str, field: str = "date") -> date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise TariffError(field, "must be a date YYYY-MM-DD") from None


# --- local days in UTC ----------------------------------------------------------------
def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant local ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_hours(day: date, tz: ZoneInfo) -> int:
    """How many hours local ``day`` has: 24, or 23 / 25 on a daylight-saving change."""
    length = local_midnight(day + timedelta(days=1), tz) - local_midnight(day, tz)
    return round(length.total_seconds() / 3600)


def _at(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """Local wall time ``minutes`` after the midnight that starts ``day``, in UTC.

    A wall time skipped by a spring-forward change takes the offset before the change
    (fold 0), which lands on the same instant the local clock jumps past.
    """
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=tz).astimezone(UTC)


# --- generation -----------------------------------------------------------------------
_Segment = tuple[datetime, datetime, float]


def _window_segments(tariff: TimeOfUse, tz: ZoneInfo, first: date, last: date
                     ) -> list[_Segment]:
    """Every window occurrence that may touch the local days ``first``..``last``; a window
    that crosses midnight starts on the day before, so that day is included."""
    segments = []
    day = first - timedelta(days=1)
    while day <= last:
        for item in tariff.windows:
            if day.weekday() not in item.days:
                continue
            end_day = day if item.end > item.start else day + timedelta(days=1)
            segments.append((_at(day, item.start, tz), _at(end_day, item.end, tz), item.limit))
        day += timedelta(days=1)
    return segments


def _price_segments(rule: PriceRule, day: date, prices: Sequence[float], tz: ZoneInfo
                    ) -> list[_Segment]:
    start = local_midnight(day, tz)
    ranked = sorted(range(len(prices)), key=lambda hour: (prices[hour], hour))
    cheap = set(ranked[:rule.cheapest_hours])
    return [(start + timedelta(hours=hour), start + timedelta(hours=hour + 1),
             rule.cheap_limit if hour in cheap else rule.other_limit)
            for hour in range(len(prices))]


def profile_for_day(tariff: TimeOfUse, today: date,
                    prices: Mapping[date, Sequence[float]] | None = None, *,
                    profile_id: int = 0) -> ChargingProfile:
    """The TxDefaultProfile for local ``today`` and tomorrow (see the module docstring).

    ``prices`` maps a local date to its hourly prices; only dates whose count matches
    the local day's length are used.
    """
    tz = zone(tariff.timezone)
    tomorrow = today + timedelta(days=1)
    start = local_midnight(today, tz)
    end = local_midnight(tomorrow + timedelta(days=1), tz)
    priced: list[_Segment] = []
    priced_days: list[tuple[datetime, datetime]] = []
    for day in (today, tomorrow):
        hourly = (prices or {}).get(day)
        if tariff.price_rule is not None and hourly and len(hourly) == day_hours(day, tz):
            priced.extend(_price_segments(tariff.price_rule, day, hourly, tz))
            priced_days.append((local_midnight(day, tz),
                                local_midnight(day + timedelta(days=1), tz)))
    windows = _window_segments(tariff, tz, today, tomorrow)

    def limit_at(instant: datetime) -> float:
        if any(lo <= instant < hi for lo, hi in priced_days):
            return next(limit for lo, hi, limit in priced if lo <= instant < hi)
        active = [limit for lo, hi, limit in windows if lo <= instant < hi]
        return min(active) if active else tariff.default_limit

    edges = {start}
    for lo, hi, _ in (*windows, *priced):
        edges.update(edge for edge in (lo, hi) if start < edge < end)
    periods = [ChargingSchedulePeriod(int((edge - start).total_seconds()), limit_at(edge))
               for edge in sorted(edges)]
    return ChargingProfile(
        charging_profile_id=profile_id,
        stack_level=tariff.stack_level,
        purpose=ChargingProfilePurpose.TX_DEFAULT_PROFILE,
        kind=ChargingProfileKind.ABSOLUTE,
        schedule=ChargingSchedule(
            charging_rate_unit=tariff.unit,
            periods=merge_periods(periods),
            duration=int((end - start).total_seconds()),
            start_schedule=start,
        ),
    )


def local_today(tariff: TimeOfUse, now: datetime) -> date:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(zone(tariff.timezone)).date()


def tariff_profile(tariff: TimeOfUse, *, now: datetime,
                   prices: Mapping[date, Sequence[float]] | None = None,
                   profile_id: int = 0) -> ChargingProfile:
    """The profile a station should hold at ``now``: today's and tomorrow's local days."""
    return profile_for_day(tariff, local_today(tariff, now), prices, profile_id=profile_id)
