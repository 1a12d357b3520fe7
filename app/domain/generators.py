"""Ready-made charging profiles for common operator goals.

Each generator returns a profile that passes :func:`app.domain.validation.validate_profile`
and raises ``ValueError`` naming the parameter when its input cannot make one.
"""

from __future__ import annotations

import math
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.composite import merge_periods
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    RecurrencyKind,
    ensure_utc,
)
from app.domain.validation import RECURRENCE_SECONDS, has_one_decimal

_HOUR = 3600


def peak_shaving(
    *,
    profile_id: int,
    max_power_w: float,
    stack_level: int = 0,
    start_schedule: datetime | None = None,
) -> ChargingProfile:
    """Cap the whole charge point at ``max_power_w`` (a ChargePointMaxProfile for connector 0).

    Absolute with one open-ended period. Without ``start_schedule`` it applies from the moment
    it is installed; some chargers refuse an Absolute profile without startSchedule, so pass
    the current time when targeting them.
    """
    _check_power("max_power_w", max_power_w)
    _check_stack_level(stack_level)
    return ChargingProfile(
        charging_profile_id=profile_id,
        stack_level=stack_level,
        purpose=ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE,
        kind=ChargingProfileKind.ABSOLUTE,
        schedule=ChargingSchedule(
            charging_rate_unit=ChargingRateUnit.W,
            periods=(ChargingSchedulePeriod(0, max_power_w),),
            start_schedule=ensure_utc(start_schedule) if start_schedule is not None else None,
        ),
    )


def time_of_use(
    *,
    profile_id: int,
    off_peak_w: float,
    peak_w: float,
    peak_start_hour: int,
    peak_end_hour: int,
    timezone: str = "UTC",
    now: datetime,
    stack_level: int = 0,
) -> ChargingProfile:
    """A daily TxDefaultProfile: ``peak_w`` from ``peak_start_hour`` to ``peak_end_hour``
    local time, ``off_peak_w`` otherwise. The peak may cross midnight (22 to 6).

    The schedule starts at the local midnight of ``now``'s local day, in UTC. OCPP 1.6 Daily
    recurrence counts 86400 s (§7.37), not local days: across a daylight-saving change the
    peak moves by an hour in local time, so regenerate the profile each day.
    """
    _check_power("off_peak_w", off_peak_w)
    _check_power("peak_w", peak_w)
    _check_stack_level(stack_level)
    for name, hour in (("peak_start_hour", peak_start_hour), ("peak_end_hour", peak_end_hour)):
        if not 0 <= hour <= 23:
            raise ValueError(f"{name} must be between 0 and 23, not {hour}")
    if peak_start_hour == peak_end_hour:
        raise ValueError("peak_end_hour must differ from peak_start_hour")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone {timezone!r} is not a known IANA time zone") from exc
    local_midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)

    def peak_at(hour: int) -> bool:
        if peak_start_hour < peak_end_hour:
            return peak_start_hour <= hour < peak_end_hour
        return hour >= peak_start_hour or hour < peak_end_hour

    hourly = [
        ChargingSchedulePeriod(hour * _HOUR, peak_w if peak_at(hour) else off_peak_w)
        for hour in range(24)
    ]
    return ChargingProfile(
        charging_profile_id=profile_id,
        stack_level=stack_level,
        purpose=ChargingProfilePurpose.TX_DEFAULT_PROFILE,
        kind=ChargingProfileKind.RECURRING,
        recurrency_kind=RecurrencyKind.DAILY,
        schedule=ChargingSchedule(
            charging_rate_unit=ChargingRateUnit.W,
            periods=merge_periods(hourly),
            duration=RECURRENCE_SECONDS[RecurrencyKind.DAILY],
            start_schedule=ensure_utc(local_midnight),
        ),
    )


def energy_cap(
    *,
    profile_id: int,
    transaction_id: int,
    max_energy_wh: float,
    duration_seconds: int,
    power_limit_w: float,
    stack_level: int = 0,
) -> ChargingProfile:
    """A TxProfile letting the transaction draw ``power_limit_w`` until ``max_energy_wh``
    would be delivered at that power, then 0 W, for ``duration_seconds`` from its start.

    The switch to 0 W is rounded down to the second so the cap is never exceeded.
    """
    _check_power("power_limit_w", power_limit_w)
    _check_stack_level(stack_level)
    if max_energy_wh < 0 or not math.isfinite(max_energy_wh):
        raise ValueError("max_energy_wh must be a finite number of 0 or more")
    if duration_seconds <= 0:
        raise ValueError("duration_seconds must be greater than 0")
    periods: tuple[ChargingSchedulePeriod, ...]
    if power_limit_w == 0:
        periods = (ChargingSchedulePeriod(0, 0.0),)
    else:
        stop = math.floor(max_energy_wh / power_limit_w * _HOUR)
        if stop >= duration_seconds:
            periods = (ChargingSchedulePeriod(0, power_limit_w),)
        elif stop <= 0:
            periods = (ChargingSchedulePeriod(0, 0.0),)
        else:
            periods = (ChargingSchedulePeriod(0, power_limit_w), ChargingSchedulePeriod(stop, 0.0))
    return ChargingProfile(
        charging_profile_id=profile_id,
        stack_level=stack_level,
        purpose=ChargingProfilePurpose.TX_PROFILE,
        kind=ChargingProfileKind.RELATIVE,
        transaction_id=transaction_id,
        schedule=ChargingSchedule(
            charging_rate_unit=ChargingRateUnit.W,
            periods=periods,
            duration=duration_seconds,
        ),
    )


def _check_power(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of 0 or more, not {value}")
    # OCPP 1.6 §7.14: limits carry at most one decimal.
    if not has_one_decimal(value):
        raise ValueError(f"{name} must have at most one decimal, not {value}")


def _check_stack_level(stack_level: int) -> None:
    if stack_level < 0:
        raise ValueError(f"stack_level must be 0 or greater, not {stack_level}")
