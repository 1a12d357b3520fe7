"""A transaction's meter curve from stored sampled values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.meter_curve import CURRENT, ENERGY, POWER, Sample, meter_curve

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_points_are_grouped_per_instant_in_time_order_with_energy_since_the_start() -> None:
    samples = [
        Sample(at(1), ENERGY, None, "kWh", 10.5),
        Sample(at(1), POWER, None, "kW", 7.4),
        Sample(at(0), ENERGY, None, None, 10_000.0),  # unit defaults to Wh
        Sample(at(0), POWER, None, "W", 0.0),
    ]
    points = meter_curve(samples, meter_start_wh=10_000)
    assert [(p.at, p.energy_wh, p.power_w, p.current_a) for p in points] == [
        (at(0), 0.0, 0.0, None), (at(1), 500.0, 7400.0, None)]


def test_phase_powers_are_summed_and_the_highest_phase_current_is_kept() -> None:
    samples = [Sample(at(0), POWER, phase, "W", 2000.0 + i)
               for i, phase in enumerate(("L1", "L2", "L3"))]
    samples += [Sample(at(0), CURRENT, "L1", "A", 9.0), Sample(at(0), CURRENT, "L2", "A", 16.0)]
    (point,) = meter_curve(samples, meter_start_wh=0)
    assert (point.power_w, point.current_a, point.energy_wh) == (6003.0, 16.0, None)


def test_a_total_wins_over_phases_and_foreign_units_or_measurands_are_left_out() -> None:
    samples = [
        Sample(at(0), POWER, "L1", "W", 1000.0), Sample(at(0), POWER, None, "W", 3300.0),
        Sample(at(0), ENERGY, None, "varh", 5.0),  # not an active energy unit
        Sample(at(0), "Temperature", None, "Celsius", 40.0),
        Sample(at(1), "SoC", None, "Percent", 50.0),  # an instant with nothing drawn
        Sample(at(2), CURRENT, None, "A", None),  # a value that did not parse
    ]
    (point,) = meter_curve(samples, meter_start_wh=0)
    assert (point.at, point.power_w, point.energy_wh) == (at(0), 3300.0, None)
