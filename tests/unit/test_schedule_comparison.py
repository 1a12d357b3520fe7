"""Reading limits out of GetCompositeSchedule.conf payloads and comparing two of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.schedule_comparison import limit_at, schedules_match

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def conf(
    periods: list[tuple[int, float]],
    *,
    start: datetime = T0,
    duration: int | None = 3600,
    unit: str = "W",
) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "startSchedule": start.isoformat().replace("+00:00", "Z"),
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods],
    }
    if duration is not None:
        schedule["duration"] = duration
    return {"status": "Accepted", "connectorId": 1, "chargingSchedule": schedule}


def test_limit_at_reads_the_period_in_force() -> None:
    payload = conf([(0, 11000), (600, 7000)])
    assert limit_at(payload, T0) == 11000
    assert limit_at(payload, T0 + timedelta(seconds=599)) == 11000
    assert limit_at(payload, T0 + timedelta(seconds=600)) == 7000
    assert limit_at(payload["chargingSchedule"], T0 + timedelta(seconds=900)) == 7000


def test_limit_at_is_none_outside_the_window_or_without_schedule() -> None:
    payload = conf([(0, 11000)])
    assert limit_at(payload, T0 - timedelta(seconds=1)) is None
    assert limit_at(payload, T0 + timedelta(seconds=3600)) is None
    assert limit_at({"status": "Rejected"}, T0) is None


def test_a_held_limit_is_the_first_before_the_start_and_the_last_after_the_duration() -> None:
    # A circuit's own profile: its limit holds until the next one replaces it.
    profile = conf([(0, 16.0), (600, 10.0)], unit="A")
    assert limit_at(profile, T0 - timedelta(seconds=1), hold=True) == 16.0
    assert limit_at(profile, T0 + timedelta(seconds=599), hold=True) == 16.0
    assert limit_at(profile, T0 + timedelta(seconds=3600), hold=True) == 10.0
    assert limit_at(profile, T0 + timedelta(seconds=3600)) is None


def test_periods_cut_differently_with_the_same_limits_match() -> None:
    a = conf([(0, 11000), (600, 7000)])
    b = conf([(0, 11000), (300, 11000), (600, 7000), (1200, 7000.05)])
    assert schedules_match(a, b)


def test_a_different_limit_anywhere_does_not_match() -> None:
    a = conf([(0, 11000), (600, 7000)])
    b = conf([(0, 11000), (600, 7000), (3599, 6000)])
    assert not schedules_match(a, b)


def test_only_the_common_window_is_compared() -> None:
    a = conf([(0, 9000), (60, 11000)], duration=3600)
    b = conf([(0, 11000)], start=T0 + timedelta(seconds=60), duration=3600)
    assert schedules_match(a, b)
    c = conf([(0, 10000)], start=T0 + timedelta(seconds=60), duration=3600)
    assert not schedules_match(a, c)


def test_different_units_do_not_match() -> None:
    assert not schedules_match(conf([(0, 16)], unit="A"), conf([(0, 16)], unit="W"))


def test_a_rejected_answer_does_not_match() -> None:
    assert not schedules_match(conf([(0, 16)]), {"status": "Rejected"})


def test_open_ended_schedules_compare_past_their_last_period() -> None:
    a = conf([(0, 11000), (600, 7000)], duration=None)
    b = conf([(0, 11000), (600, 7000)], duration=None)
    c = conf([(0, 11000), (600, 7000), (700, 5000)], duration=None)
    assert schedules_match(a, b)
    assert not schedules_match(a, c)
