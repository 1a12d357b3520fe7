"""The rules of app/domain/external_limits.py: what a limit set outside chargeplan caps,
when, and by how much."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.allocation import CapWindow, Circuit, Session, Site, allocate
from app.domain.external_limits import (
    ExternalLimit,
    LimitError,
    LimitSource,
    parse_schedules,
    session_caps,
)
from app.domain.planner import Horizon, Need, PlanRequest, plan

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def limit(evse: int, *schedules: dict[str, object], source: LimitSource = LimitSource.SO
          ) -> ExternalLimit:
    return ExternalLimit(evse, source, T0, parse_schedules(list(schedules)))


def amps(*periods: tuple[int, float], **extra: object) -> dict[str, object]:
    return {"chargingRateUnit": "A", **extra,
            "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods]}


def test_a_limit_on_an_evse_caps_only_the_session_there_and_names_its_source() -> None:
    found = [limit(1, amps((0, 10)), source=LimitSource.EMS)]
    assert session_caps(found, 1, 2, T0, T0 + HOUR, 230) == (
        CapWindow(T0, T0 + HOUR, 10.0, "external limit (EMS)"),)
    assert session_caps(found, 2, 2, T0, T0 + HOUR, 230) == ()


def test_a_whole_station_limit_is_split_between_its_sessions() -> None:
    assert session_caps([limit(0, amps((0, 30)))], 2, 3, T0, T0 + HOUR, 230) == (
        CapWindow(T0, T0 + HOUR, 10.0, "external limit (SO)"),)


def test_watts_are_per_phase_amperes_over_the_periods_phases() -> None:
    watts = {"chargingRateUnit": "W", "chargingSchedulePeriod": [
        {"startPeriod": 0, "limit": 6900}, {"startPeriod": 600, "limit": 2300,
                                            "numberPhases": 1}]}
    assert [w.max_current_a for w in session_caps([limit(1, watts)], 1, 1, T0, T0 + HOUR,
                                                  230)] == [10.0, 10.0]


def test_a_schedule_starts_at_its_start_or_on_receipt_and_ends_after_its_duration() -> None:
    later = amps((0, 8), (1800, 6), startSchedule="2026-12-07T12:30:00Z", duration=3600)
    assert session_caps([limit(1, later)], 1, 1, T0, T0 + 2 * HOUR, 230) == (
        CapWindow(T0 + HOUR / 2, T0 + HOUR, 8.0, "external limit (SO)"),
        CapWindow(T0 + HOUR, T0 + 1.5 * HOUR, 6.0, "external limit (SO)"))
    # Without startSchedule the schedule counts from receipt (T0): asked about an hour on,
    # its second period is in force.
    relative = amps((0, 8), (1800, 6))
    assert session_caps([limit(1, relative)], 1, 1, T0 + HOUR, T0 + 2 * HOUR, 230) == (
        CapWindow(T0 + HOUR, T0 + 2 * HOUR, 6.0, "external limit (SO)"),)


def test_a_limit_without_schedules_caps_nothing() -> None:
    assert session_caps([ExternalLimit(1, LimitSource.CSO, T0)], 1, 1, T0, T0 + HOUR,
                        230) == ()


@pytest.mark.parametrize(("schedule", "field"), [
    ({"chargingRateUnit": "kW", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1}]},
     "chargingSchedule[0].chargingRateUnit"),
    (amps((10, 5)), "chargingSchedule[0].chargingSchedulePeriod"),
    (amps((0, 5), (0, 6)), "chargingSchedule[0].chargingSchedulePeriod"),
    (amps((0, -1)), "chargingSchedule[0].chargingSchedulePeriod[0].limit"),
    (amps((0, 5), duration=0), "chargingSchedule[0].duration"),
])
def test_a_schedule_that_is_not_one_is_refused_naming_the_field(
        schedule: dict[str, object], field: str) -> None:
    with pytest.raises(LimitError) as refused:
        parse_schedules([schedule])
    assert refused.value.field == field


def test_the_water_level_and_the_planner_keep_a_session_under_its_external_limit() -> None:
    """A 32 A circuit, two cars that each want more than it can give in two hours; the
    grid operator limits one to 10 A: the other gets the 22 A left, in every slot."""
    end = T0 + 2 * HOUR
    caps = session_caps([limit(1, amps((0, 10)))], 1, 1, T0, end, 230)
    site = Site((Circuit("site", None, (32.0,) * 3),), (
        Session("limited", "site", ("L1", "L2", "L3"), 6, 32, cap_windows=caps),
        Session("other", "site", ("L1", "L2", "L3"), 6, 32)))
    solved = allocate(site, T0)
    assert (solved.sessions["limited"].limit_a, solved.sessions["limited"].binding,
            solved.sessions["other"].limit_a) == (10.0, "external limit (SO)", 22.0)

    needs = {"limited": Need(60.0, end), "other": Need(60.0, end)}
    planned = plan(PlanRequest(site, T0, needs, horizon=Horizon(horizon_s=7200)))
    assert planned.decided_by == "planner"
    limited = planned.sessions["limited"].periods
    assert limited and max(p.limit_a for p in limited) == 10.0
    assert planned.sessions["other"].limit_a == 22.0
