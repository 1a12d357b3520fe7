"""Time-of-use tariffs in local time become Absolute TxDefaultProfiles in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain.profiles import ChargingProfile, ChargingProfileKind, ChargingRateUnit
from app.domain.tariffs import (
    PriceRule,
    TariffError,
    TimeOfUse,
    day_hours,
    price_rule,
    profile_for_day,
    tariff_profile,
    window,
    zone,
)
from app.domain.validation import validate_profile

EVERY_DAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def berlin(*windows_: tuple[tuple[str, ...], str, str, float], default: float = 11000,
           rule: PriceRule | None = None) -> TimeOfUse:
    return TimeOfUse(
        timezone="Europe/Berlin", unit=ChargingRateUnit.W,
        windows=tuple(window(list(days), start, end, limit, f"windows[{i}]")
                      for i, (days, start, end, limit) in enumerate(windows_)),
        default_limit=default, price_rule=rule)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def limit_at(profile: ChargingProfile, instant: datetime) -> float:
    start = profile.schedule.start_schedule
    assert start is not None
    offset = (instant - start).total_seconds()
    assert 0 <= offset < (profile.schedule.duration or 0), "outside the profile"
    return [p.limit for p in profile.schedule.periods if p.start_period <= offset][-1]


def spans(profile: ChargingProfile) -> list[tuple[str, float]]:
    start = profile.schedule.start_schedule
    assert start is not None
    return [((start + timedelta(seconds=p.start_period)).strftime("%m-%d %H:%M"), p.limit)
            for p in profile.schedule.periods]


def test_spring_forward_day_has_23_hours_and_the_window_moves_in_utc() -> None:
    # 2027-03-28 is the last Sunday of March: Berlin goes from UTC+1 to UTC+2.
    tariff = berlin((EVERY_DAY, "17:00", "21:00", 4000))
    profile = profile_for_day(tariff, date(2027, 3, 27))
    assert profile.kind is ChargingProfileKind.ABSOLUTE
    assert profile.schedule.start_schedule == utc("2027-03-26T23:00:00")
    assert profile.schedule.duration == (24 + 23) * 3600
    # Saturday (UTC+1): 16:00-20:00 UTC; Sunday (UTC+2): 15:00-19:00 UTC.
    assert spans(profile) == [("03-26 23:00", 11000), ("03-27 16:00", 4000),
                              ("03-27 20:00", 11000), ("03-28 15:00", 4000),
                              ("03-28 19:00", 11000)]
    assert day_hours(date(2027, 3, 28), zone("Europe/Berlin")) == 23


def test_profile_starting_on_the_short_day_lasts_47_hours() -> None:
    tariff = berlin((EVERY_DAY, "17:00", "21:00", 4000))
    profile = tariff_profile(tariff, now=utc("2027-03-28T05:00:00"))
    assert profile.schedule.start_schedule == utc("2027-03-27T23:00:00")
    assert profile.schedule.duration == 47 * 3600
    assert limit_at(profile, utc("2027-03-28T15:00:00")) == 4000
    assert limit_at(profile, utc("2027-03-28T14:59:00")) == 11000
    assert limit_at(profile, utc("2027-03-29T15:00:00")) == 4000


def test_fall_back_day_has_25_hours_and_the_window_moves_the_other_way() -> None:
    # 2026-10-25: Berlin goes from UTC+2 back to UTC+1.
    tariff = berlin((EVERY_DAY, "17:00", "21:00", 4000))
    profile = profile_for_day(tariff, date(2026, 10, 24))
    assert profile.schedule.start_schedule == utc("2026-10-23T22:00:00")
    assert profile.schedule.duration == (24 + 25) * 3600
    assert spans(profile)[1:] == [("10-24 15:00", 4000), ("10-24 19:00", 11000),
                                  ("10-25 16:00", 4000), ("10-25 20:00", 11000)]


def test_window_crossing_midnight_covers_the_start_of_the_next_day() -> None:
    tariff = berlin((EVERY_DAY, "22:00", "06:00", 3000))
    profile = profile_for_day(tariff, date(2026, 6, 10))  # UTC+2
    # From the window that began the evening before.
    assert limit_at(profile, utc("2026-06-09T22:00:00")) == 3000
    assert limit_at(profile, utc("2026-06-10T03:59:00")) == 3000
    assert limit_at(profile, utc("2026-06-10T04:00:00")) == 11000
    assert limit_at(profile, utc("2026-06-10T20:00:00")) == 3000
    assert spans(profile)[-1] == ("06-11 20:00", 3000)


def test_only_the_listed_weekdays_get_the_window() -> None:
    tariff = berlin((("Mon", "Tue", "Wed", "Thu", "Fri"), "08:00", "12:00", 5000))
    # 2026-06-12 is a Friday, 2026-06-13 a Saturday.
    profile = profile_for_day(tariff, date(2026, 6, 12))
    assert limit_at(profile, utc("2026-06-12T06:00:00")) == 5000
    assert limit_at(profile, utc("2026-06-13T06:00:00")) == 11000


def test_overlapping_windows_take_the_lowest_limit() -> None:
    tariff = berlin((EVERY_DAY, "16:00", "20:00", 6000), (EVERY_DAY, "18:00", "22:00", 2000))
    profile = profile_for_day(tariff, date(2026, 6, 10))
    assert [limit_at(profile, utc(f"2026-06-10T{h}:00:00")) for h in ("14", "16", "18", "19")] \
        == [6000, 2000, 2000, 2000]


def test_price_rule_gives_full_power_in_the_cheapest_hours_of_a_priced_day() -> None:
    rule = PriceRule(cheapest_hours=3, cheap_limit=22000, other_limit=3000)
    tariff = berlin((EVERY_DAY, "17:00", "21:00", 4000), rule=rule)
    prices = [30.0] * 24
    prices[2], prices[3], prices[14] = 5.0, 6.0, 1.0
    profile = profile_for_day(tariff, date(2026, 6, 10), {date(2026, 6, 10): prices})
    midnight = "2026-06-09T22:00:00"
    assert limit_at(profile, utc(midnight)) == 3000
    # Local 02:00, 03:00 and 14:00 are UTC 00:00, 01:00 and 12:00.
    assert [limit_at(profile, utc(f"2026-06-10T{h}:30:00")) for h in ("00", "01", "02", "12")] \
        == [22000, 22000, 3000, 22000]
    # The windows rule the day without prices.
    assert limit_at(profile, utc("2026-06-11T15:30:00")) == 4000
    assert limit_at(profile, utc("2026-06-11T05:00:00")) == 11000


def test_prices_of_a_23_hour_day_are_counted_in_elapsed_hours() -> None:
    rule = PriceRule(cheapest_hours=1, cheap_limit=22000, other_limit=1000)
    tariff = berlin(rule=rule)
    prices = [50.0] * 23
    prices[22] = 1.0  # the last hour: local 23:00 CEST = 21:00 UTC
    profile = profile_for_day(tariff, date(2027, 3, 28), {date(2027, 3, 28): prices})
    assert limit_at(profile, utc("2027-03-28T21:30:00")) == 22000
    assert limit_at(profile, utc("2027-03-28T20:30:00")) == 1000
    wrong_count = profile_for_day(tariff, date(2027, 3, 28), {date(2027, 3, 28): [1.0] * 24})
    assert limit_at(wrong_count, utc("2027-03-28T20:30:00")) == 11000


def test_generated_profile_passes_ocpp_validation_and_round_trips() -> None:
    tariff = berlin((EVERY_DAY, "22:00", "06:00", 3000), (("Sat",), "10:00", "14:00", 2500.5))
    profile = tariff_profile(tariff, now=utc("2026-10-24T10:00:00"), profile_id=7)
    assert validate_profile(profile, 0) == []
    assert ChargingProfile.from_ocpp(profile.to_ocpp()) == profile
    starts = [p.start_period for p in profile.schedule.periods]
    assert starts[0] == 0 and starts == sorted(set(starts))


@pytest.mark.parametrize(("build", "field"), [
    (lambda: window([], "17:00", "21:00", 1, "w"), "w.days"),
    (lambda: window(["Funday"], "17:00", "21:00", 1, "w"), "w.days[0]"),
    (lambda: window(["Mon"], "7:00", "21:00", 1, "w"), "w.start"),
    (lambda: window(["Mon"], "17:00", "25:00", 1, "w"), "w.end"),
    (lambda: window(["Mon"], "17:00", "17:00", 1, "w"), "w.end"),
    (lambda: window(["Mon"], "17:00", "21:00", 1.25, "w"), "w.limit"),
    (lambda: window(["Mon"], "17:00", "21:00", -1, "w"), "w.limit"),
    (lambda: price_rule(30, 1, 1), "price_rule.cheapest_hours"),
    (lambda: zone("Mars/Olympus"), "timezone"),
])
def test_bad_input_names_the_field(build: object, field: str) -> None:
    with pytest.raises(TariffError) as raised:
        build()  # type: ignore[operator]
    assert raised.value.field == field
