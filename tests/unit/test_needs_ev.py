"""The car's own needs (OCPP 2.0.1 NotifyEVChargingNeeds) as the first source of a
session's need, and the currents it takes as bounds of the session."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.needs import EvNeed, Facts, Requested, Source, decide, session_bounds
from tests.unit.test_needs import HISTORY, NOW, START, VAN

LEAVES = START + timedelta(hours=5)


def test_what_the_car_says_wins_over_every_other_source() -> None:
    facts = Facts(started_at=START, delivered_kwh=2.0,
                  ev=EvNeed(LEAVES, 30.0, 6.0, 16.0, {"energy_transfer": "AC_three_phase"}),
                  request=Requested(12.0, START + timedelta(hours=2)), id_tag_default=VAN,
                  history=HISTORY, circuit_dwell_s=3600)
    need = decide(facts, NOW)
    assert (need.source, need.energy_kwh, need.departure, need.remaining_kwh, need.plan) == \
        (Source.EV, 30.0, LEAVES, 28.0, True)
    assert need.detail == {"energy_transfer": "AC_three_phase"}


def test_a_car_that_gives_no_departure_leaves_the_need_to_the_next_source() -> None:
    facts = Facts(started_at=START, ev=EvNeed(None, 30.0, 6.0, 16.0),
                  request=Requested(12.0, START + timedelta(hours=2)))
    assert decide(facts, NOW).source is Source.REQUEST


def test_a_car_without_an_energy_amount_takes_as_much_as_it_can_by_its_departure() -> None:
    need = decide(Facts(started_at=START, ev=EvNeed(LEAVES)), NOW)
    assert (need.source, need.energy_kwh, need.remaining_kwh, need.plan) == \
        (Source.EV, None, None, True)


@pytest.mark.parametrize(("ev_min", "ev_max", "bounds"), [
    (None, None, (6.0, 32.0)),  # the car said nothing
    (8.0, 16.0, (8.0, 16.0)),  # the car's own range, inside the station's
    (4.0, 40.0, (6.0, 32.0)),  # never below the site minimum, never above the station
    (20.0, 16.0, (16.0, 16.0)),  # a minimum above the maximum stops at the maximum
    (0.0, 0.0, (6.0, 32.0)),  # values that are not positive say nothing
])
def test_the_cars_currents_bound_the_session(ev_min: float | None, ev_max: float | None,
                                             bounds: tuple[float, float]) -> None:
    assert session_bounds(6.0, 32.0, ev_min, ev_max) == bounds
