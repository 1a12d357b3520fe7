"""Profile generators: each gives a valid profile with the schedule an operator expects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.composite import composite_schedule
from app.domain.generators import energy_cap, peak_shaving, time_of_use
from app.domain.installation import InstalledProfile
from app.domain.profiles import (
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedulePeriod,
    RecurrencyKind,
)
from app.domain.validation import validate_profile

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_peak_shaving_caps_the_station() -> None:
    profile = peak_shaving(profile_id=4, max_power_w=40000, stack_level=2)
    assert validate_profile(profile, 0) == []
    assert profile.purpose is ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE
    assert profile.kind is ChargingProfileKind.ABSOLUTE
    assert profile.stack_level == 2
    assert profile.schedule.charging_rate_unit is ChargingRateUnit.W
    assert profile.schedule.periods == (ChargingSchedulePeriod(0, 40000),)


def test_peak_shaving_refuses_a_negative_power() -> None:
    with pytest.raises(ValueError, match="max_power_w"):
        peak_shaving(profile_id=4, max_power_w=-1)


def test_time_of_use_with_an_afternoon_peak() -> None:
    profile = time_of_use(
        profile_id=5, off_peak_w=11000, peak_w=3000, peak_start_hour=17, peak_end_hour=21, now=NOW
    )
    assert validate_profile(profile, 0) == []
    assert profile.purpose is ChargingProfilePurpose.TX_DEFAULT_PROFILE
    assert profile.kind is ChargingProfileKind.RECURRING
    assert profile.recurrency_kind is RecurrencyKind.DAILY
    assert profile.schedule.start_schedule == datetime(2026, 3, 2, tzinfo=UTC)
    assert profile.schedule.duration == 86400
    assert [(p.start_period, p.limit) for p in profile.schedule.periods] == [
        (0, 11000),
        (17 * 3600, 3000),
        (21 * 3600, 11000),
    ]


def test_time_of_use_peak_crossing_midnight() -> None:
    profile = time_of_use(
        profile_id=5, off_peak_w=11000, peak_w=3000, peak_start_hour=22, peak_end_hour=6, now=NOW
    )
    assert [(p.start_period, p.limit) for p in profile.schedule.periods] == [
        (0, 3000),
        (6 * 3600, 11000),
        (22 * 3600, 3000),
    ]
    # The composite the next night: 3 kW from 22:00 to 06:00.
    evening = datetime(2026, 3, 3, 21, 0, tzinfo=UTC)
    schedule = composite_schedule(
        [InstalledProfile(0, profile)], 1, evening, 10 * 3600, ChargingRateUnit.W
    )
    assert [(p.start_period, p.limit) for p in schedule.periods] == [
        (0, 11000.0),
        (3600, 3000.0),
        (9 * 3600, 11000.0),
    ]


def test_time_of_use_start_moves_an_hour_in_utc_across_the_spring_change() -> None:
    def start_on(now: datetime) -> datetime | None:
        return time_of_use(
            profile_id=1,
            off_peak_w=11000,
            peak_w=3000,
            peak_start_hour=17,
            peak_end_hour=20,
            timezone="Europe/Berlin",
            now=now,
        ).schedule.start_schedule

    # Berlin moves from UTC+1 to UTC+2 on Sunday 29 March 2026.
    assert start_on(datetime(2026, 3, 28, 12, tzinfo=UTC)) == datetime(2026, 3, 27, 23, tzinfo=UTC)
    assert start_on(datetime(2026, 3, 30, 12, tzinfo=UTC)) == datetime(2026, 3, 29, 22, tzinfo=UTC)
    # Just after local midnight the local day is already the next one.
    assert start_on(datetime(2026, 3, 27, 23, 30, tzinfo=UTC)) == datetime(
        2026, 3, 27, 23, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"peak_start_hour": 24}, "peak_start_hour"),
        ({"peak_end_hour": -1}, "peak_end_hour"),
        ({"peak_end_hour": 17}, "peak_end_hour"),
        ({"peak_w": -5}, "peak_w"),
        ({"off_peak_w": -5}, "off_peak_w"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_time_of_use_names_the_bad_parameter(changes: dict[str, object], parameter: str) -> None:
    arguments: dict[str, object] = {
        "profile_id": 1,
        "off_peak_w": 11000,
        "peak_w": 3000,
        "peak_start_hour": 17,
        "peak_end_hour": 21,
        "now": NOW,
        **changes,
    }
    with pytest.raises(ValueError, match=parameter):
        time_of_use(**arguments)  # type: ignore[arg-type]


def test_energy_cap_stops_when_the_energy_is_delivered() -> None:
    profile = energy_cap(
        profile_id=9,
        transaction_id=31,
        max_energy_wh=5500,
        duration_seconds=7200,
        power_limit_w=11000,
    )
    assert validate_profile(profile, 1) == []
    assert profile.purpose is ChargingProfilePurpose.TX_PROFILE
    assert profile.kind is ChargingProfileKind.RELATIVE
    assert profile.transaction_id == 31
    assert profile.schedule.duration == 7200
    # 5.5 kWh at 11 kW takes half an hour.
    assert profile.schedule.periods == (
        ChargingSchedulePeriod(0, 11000),
        ChargingSchedulePeriod(1800, 0.0),
    )


def test_energy_cap_beyond_the_duration_keeps_the_power() -> None:
    profile = energy_cap(
        profile_id=9,
        transaction_id=31,
        max_energy_wh=50000,
        duration_seconds=3600,
        power_limit_w=11000,
    )
    assert profile.schedule.periods == (ChargingSchedulePeriod(0, 11000),)


def test_energy_cap_refuses_a_zero_duration() -> None:
    with pytest.raises(ValueError, match="duration_seconds"):
        energy_cap(
            profile_id=9,
            transaction_id=31,
            max_energy_wh=100,
            duration_seconds=0,
            power_limit_w=11000,
        )
