"""OCPP dateTime out: UTC with 'Z', milliseconds only when the time has a fraction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from app.timefmt import format_timestamp, read_timestamp


def test_a_whole_second_has_no_fraction() -> None:
    assert format_timestamp(datetime(2026, 12, 7, 21, 0, 5, tzinfo=UTC)) == "2026-12-07T21:00:05Z"


def test_a_fraction_is_cut_to_milliseconds() -> None:
    assert (format_timestamp(datetime(2026, 12, 7, 21, 0, 5, 123999, tzinfo=UTC))
            == "2026-12-07T21:00:05.123Z")
    # Under a millisecond: still a fraction, written as .000.
    assert (format_timestamp(datetime(2026, 12, 7, 21, 0, 5, 999, tzinfo=UTC))
            == "2026-12-07T21:00:05.000Z")


def test_another_offset_is_written_in_utc() -> None:
    local = datetime(2026, 12, 7, 22, 30, tzinfo=timezone(timedelta(hours=1, minutes=30)))
    assert format_timestamp(local) == "2026-12-07T21:00:00Z"


def test_a_year_under_1000_keeps_the_strftime_spelling() -> None:
    early = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert format_timestamp(early) == early.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))])))
def test_what_is_written_reads_back_to_the_millisecond(value: datetime) -> None:
    text = format_timestamp(value)
    assert text.endswith("Z")
    truncated = value.replace(microsecond=value.microsecond // 1000 * 1000)
    assert read_timestamp(text) == truncated
