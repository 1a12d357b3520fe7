"""Station timestamps: flagged when absurd, never ordering state from the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.station_time import ClockOffset, TimeFlag, TimeRules, offset_sample

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
RULES = TimeRules(max_ahead=timedelta(minutes=5), max_age=timedelta(days=90))


def test_a_timestamp_within_the_skew_orders_state_and_is_not_flagged() -> None:
    stamped = NOW + timedelta(minutes=4)
    assert RULES.ordering_time(stamped, NOW) == stamped
    assert RULES.flag(stamped, NOW) is None


def test_a_future_timestamp_is_flagged_and_ordered_by_receipt() -> None:
    stamped = datetime(2099, 1, 1, tzinfo=UTC)
    assert RULES.ordering_time(stamped, NOW) is None
    assert RULES.flag(stamped, NOW) is TimeFlag.FUTURE


def test_year_one_and_year_9999_are_flagged() -> None:
    assert RULES.flag(datetime(1, 1, 1, tzinfo=UTC), NOW) is TimeFlag.TOO_OLD
    assert RULES.flag(datetime(9999, 12, 31, tzinfo=UTC), NOW) is TimeFlag.FUTURE


def test_an_offline_queue_replayed_within_the_age_is_trusted() -> None:
    stamped = NOW - timedelta(days=30)
    assert RULES.flag(stamped, NOW) is None
    assert RULES.ordering_time(stamped, NOW) == stamped


def test_a_stop_before_its_start_is_flagged() -> None:
    assert RULES.stop_flag(NOW, NOW - timedelta(days=1), NOW) is TimeFlag.BEFORE_START
    assert RULES.stop_flag(NOW - timedelta(hours=1), NOW, NOW) is None


def test_the_offset_is_the_largest_recent_sample() -> None:
    clock = ClockOffset.first(offset_sample(NOW + timedelta(seconds=60), NOW), NOW)
    # A replayed frame an hour old says nothing against the live one.
    clock = clock.observe(-3600.0, NOW + timedelta(minutes=1))
    assert clock.seconds == 60.0


def test_an_offset_that_shrinks_shows_after_two_windows() -> None:
    clock = ClockOffset.first(600.0, NOW)
    clock = clock.observe(5.0, NOW + timedelta(hours=1))
    assert clock.seconds == 600.0
    clock = clock.observe(5.0, NOW + timedelta(hours=2))
    assert clock.seconds == 5.0


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30))
def test_within_one_window_the_estimate_is_the_maximum(samples: list[float]) -> None:
    clock = ClockOffset.first(samples[0], NOW)
    for sample in samples[1:]:
        clock = clock.observe(sample, NOW + timedelta(seconds=1))
    assert clock.seconds == max(samples)
