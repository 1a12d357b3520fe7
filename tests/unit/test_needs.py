"""app/domain/needs.py: a session's need from four sources, first one wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.needs import (
    HISTORY_MAX,
    DailyDefault,
    Facts,
    NeedError,
    PastSession,
    Requested,
    Source,
    check_default,
    decide,
    energy_from_soc,
    next_local,
)

START = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
NOW = START + timedelta(minutes=30)
VAN = DailyDefault(60.0, "06:00", "Europe/Berlin")


def past(days: int, hours: float, kwh: float) -> PastSession:
    begin = START - timedelta(days=days)
    return PastSession(begin, begin + timedelta(hours=hours), kwh)


HISTORY = (past(1, 8, 20), past(2, 10, 30), past(3, 9, 25))


def test_no_source_gives_none_and_no_plan() -> None:
    need = decide(Facts(started_at=START), NOW)
    assert (need.source, need.energy_kwh, need.departure, need.plan) == \
        (Source.NONE, None, None, False)


def test_a_request_wins_over_everything() -> None:
    facts = Facts(started_at=START, request=Requested(12.0, START + timedelta(hours=2)),
                  id_tag_default=VAN, history=HISTORY, circuit_dwell_s=3600)
    need = decide(facts, NOW)
    assert (need.source, need.energy_kwh, need.departure) == \
        (Source.REQUEST, 12.0, START + timedelta(hours=2))


def test_the_id_tag_default_departs_at_the_next_local_time() -> None:
    facts = Facts(started_at=START, id_tag="VAN-1", id_tag_default=VAN, history=HISTORY)
    need = decide(facts, NOW)
    # 18:00 UTC is 20:00 in Berlin (CEST): next 06:00 local is 04:00 UTC the next day.
    assert (need.source, need.energy_kwh, need.departure) == \
        (Source.ID_TAG, 60.0, datetime(2026, 6, 2, 4, 0, tzinfo=UTC))
    assert need.detail["id_tag"] == "VAN-1"


def test_history_gives_the_median_dwell_and_energy() -> None:
    need = decide(Facts(started_at=START, history=HISTORY, circuit_dwell_s=3600), NOW)
    assert (need.source, need.energy_kwh, need.departure) == \
        (Source.HISTORY, 25.0, START + timedelta(hours=9))
    assert need.detail["sessions"] == 3


def test_history_needs_three_sessions_and_takes_the_last_ten() -> None:
    assert decide(Facts(started_at=START, history=HISTORY[:2]), NOW).source == Source.NONE
    old = [past(30 + d, 1, 1) for d in range(20)]
    need = decide(Facts(started_at=START, history=[*old, *[past(d, 5, 40) for d in
                                                          range(1, 11)]]), NOW)
    assert (need.energy_kwh, need.detail["sessions"]) == (40.0, HISTORY_MAX)


def test_history_leaves_out_sessions_that_ended_after_this_one_started() -> None:
    later = PastSession(START - timedelta(hours=1), START + timedelta(hours=1), 99)
    need = decide(Facts(started_at=START, history=[*HISTORY[:2], later]), NOW)
    assert need.source == Source.NONE


def test_the_circuit_default_is_as_much_as_it_takes_by_start_plus_dwell() -> None:
    need = decide(Facts(started_at=START, circuit_id="work", circuit_dwell_s=8 * 3600), NOW)
    assert (need.source, need.energy_kwh, need.remaining_kwh, need.departure, need.plan) == \
        (Source.CIRCUIT_DEFAULT, None, None, START + timedelta(hours=8), True)


def test_a_departure_in_the_past_or_zero_energy_does_not_plan() -> None:
    gone = decide(Facts(started_at=START, request=Requested(10, START)), NOW)
    assert (gone.plan, gone.reason) == (False, "departure has passed")
    zero = decide(Facts(started_at=START, request=Requested(0, NOW + timedelta(hours=1))), NOW)
    assert (zero.plan, zero.reason) == (False, "energy_kwh is 0")


def test_remaining_is_requested_less_delivered() -> None:
    need = decide(Facts(started_at=START, delivered_kwh=4.5,
                        request=Requested(10, NOW + timedelta(hours=1))), NOW)
    assert (need.delivered_kwh, need.remaining_kwh, need.plan) == (4.5, 5.5, True)


def test_energy_from_soc_needs_the_soc_now() -> None:
    assert energy_from_soc(80, 30, 60) == pytest.approx(30.0)
    assert energy_from_soc(50, 70, 60) == 0.0
    with pytest.raises(NeedError) as refused:
        energy_from_soc(80, None, 60)
    assert refused.value.field == "soc"


@pytest.mark.parametrize(("default", "field"), [
    (DailyDefault(-1, "06:00", "UTC"), "default_needs.energy_kwh"),
    (DailyDefault(1, "6:00", "UTC"), "default_needs.departure_local"),
    (DailyDefault(1, "24:00", "UTC"), "default_needs.departure_local"),
    (DailyDefault(1, "06:00", "Mars/Olympus"), "default_needs.timezone"),
    (DailyDefault(1, "06:00", "../etc"), "default_needs.timezone"),
])
def test_a_bad_default_is_refused_naming_its_field(default: DailyDefault, field: str) -> None:
    with pytest.raises(NeedError) as refused:
        check_default(default)
    assert refused.value.field == field


def test_next_local_is_dst_correct() -> None:
    # Berlin springs forward on 2026-03-29: 06:00 is 05:00 UTC before, 04:00 UTC after.
    assert next_local(datetime(2026, 3, 28, 12, tzinfo=UTC), "06:00", "Europe/Berlin") == \
        datetime(2026, 3, 29, 4, 0, tzinfo=UTC)
    assert next_local(datetime(2026, 3, 27, 12, tzinfo=UTC), "06:00", "Europe/Berlin") == \
        datetime(2026, 3, 28, 5, 0, tzinfo=UTC)
    # 02:30 does not exist on that day: read before the gap, it is 03:30 CEST.
    assert next_local(datetime(2026, 3, 28, 12, tzinfo=UTC), "02:30", "Europe/Berlin") == \
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 happens twice on 2026-10-25: the first one (CEST) is taken.
    assert next_local(datetime(2026, 10, 24, 12, tzinfo=UTC), "02:30", "Europe/Berlin") == \
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # Started at 06:00 local exactly: the next day's.
    assert next_local(datetime(2026, 6, 2, 4, 0, tzinfo=UTC), "06:00", "Europe/Berlin") == \
        datetime(2026, 6, 3, 4, 0, tzinfo=UTC)


instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1),
                        timezones=st.just(UTC))


@given(after=instants, hour=st.integers(0, 23), minute=st.integers(0, 59),
       zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                             "Asia/Kolkata", "UTC"]))
def test_next_local_is_after_the_start_and_within_a_day(
        after: datetime, hour: int, minute: int, zone: str) -> None:
    found = next_local(after, f"{hour:02d}:{minute:02d}", zone)
    assert after < found <= after + timedelta(hours=26)


@given(energy=st.floats(0, 500), delivered=st.floats(-10, 1000))
def test_remaining_is_never_negative(energy: float, delivered: float) -> None:
    need = decide(Facts(started_at=START, delivered_kwh=delivered,
                        request=Requested(energy, NOW + timedelta(hours=1))), NOW)
    assert need.remaining_kwh is not None and need.remaining_kwh >= 0


@given(request=st.booleans(), default=st.booleans(), history=st.booleans(),
       circuit=st.booleans())
def test_the_first_source_present_wins(request: bool, default: bool, history: bool,
                                       circuit: bool) -> None:
    facts = Facts(started_at=START,
                  request=Requested(5, NOW + timedelta(hours=1)) if request else None,
                  id_tag_default=VAN if default else None,
                  history=HISTORY if history else (),
                  circuit_dwell_s=3600 if circuit else None)
    order = [(request, Source.REQUEST), (default, Source.ID_TAG),
             (history, Source.HISTORY), (circuit, Source.CIRCUIT_DEFAULT)]
    expected = next((source for present, source in order if present), Source.NONE)
    assert decide(facts, NOW).source == expected
