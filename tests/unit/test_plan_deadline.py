"""When the plan means to have delivered a need: a slot before the departure when the car
can take its need by then, else the departure itself, counting what its circuits allow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.allocation import Circuit, Session, Site
from app.services.load.circuit_plans import deadline, reachable_a

AT = datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
DEPARTURE = datetime(2026, 6, 2, 6, 0, tzinfo=UTC)
CAR = Session("1", "night", ("L1", "L2", "L3"), 6.0, 32.0)


def site(limit_a: float, margin_a: float = 0.0, max_power_w: float | None = None) -> Site:
    return Site((Circuit("night", None, (limit_a,) * 3, max_power_w=max_power_w,
                         margin_a=margin_a),), (CAR,))


def test_a_car_that_can_take_its_need_early_is_planned_a_slot_before_its_departure() -> None:
    assert deadline(site(32.0), CAR, AT, DEPARTURE, 30.0, 900) == DEPARTURE - timedelta(
        minutes=15)


def test_a_circuit_that_cannot_give_the_need_early_keeps_the_cars_last_slot() -> None:
    # The car's own 32 A would take each need a slot early; its circuit would not: 30 kWh
    # by 05:45 takes 5.6 A on three phases (5 A here), 12 kWh by 23:15 takes 13.9 A (8 A).
    assert deadline(site(5.0), CAR, AT, DEPARTURE, 30.0, 900) == DEPARTURE
    soon = AT + timedelta(minutes=90)
    assert deadline(site(8.0), CAR, AT, soon, 12.0, 900) == soon


def test_the_most_a_car_can_draw_is_its_maximum_within_its_circuits() -> None:
    assert reachable_a(site(8.0), CAR) == 8.0
    assert reachable_a(site(100.0), CAR) == 32.0
    assert reachable_a(site(16.0, margin_a=2.0), CAR) == 14.0
    assert reachable_a(site(100.0, max_power_w=11_040.0), CAR) == 16.0
