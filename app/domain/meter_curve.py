"""A transaction's meter curve: stored sampled values grouped into one point per instant.

OCPP 1.6 §7.43 SampledValue: ``measurand`` defaults to Energy.Active.Import.Register and
``unit`` to Wh; a value may be given per ``phase``. A point carries the energy drawn since
the transaction's meterStart (Wh), the active import power (W; the phase values summed when
no total is given) and the highest phase current (A).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
SCALE = {"Wh": 1.0, "kWh": 1000.0, "W": 1.0, "kW": 1000.0, "A": 1.0}
BASE_UNIT = {ENERGY: "Wh", POWER: "W", CURRENT: "A"}


@dataclass(frozen=True)
class Sample:
    at: datetime
    measurand: str
    phase: str | None
    unit: str | None
    value: float | None


@dataclass(frozen=True)
class CurvePoint:
    at: datetime
    energy_wh: float | None
    power_w: float | None
    current_a: float | None


def _base(sample: Sample) -> float | None:
    """The value in Wh, W or A; None for a unit that is not one of the measurand's."""
    unit = sample.unit or BASE_UNIT[sample.measurand]
    if sample.value is None or unit not in SCALE or unit[-1] != BASE_UNIT[sample.measurand][-1]:
        return None
    return sample.value * SCALE[unit]


def _combine(values: dict[str | None, float], *, total: bool) -> float | None:
    """The value without phase if given, else the phases summed (``total``) or their maximum."""
    if not values:
        return None
    if None in values:
        return values[None]
    return sum(values.values()) if total else max(values.values())


def meter_curve(samples: Iterable[Sample], meter_start_wh: float) -> list[CurvePoint]:
    """One point per instant that has energy, power or current, in time order."""
    by_instant: dict[datetime, dict[str, dict[str | None, float]]] = {}
    for sample in samples:
        if sample.measurand not in BASE_UNIT:
            continue
        value = _base(sample)
        if value is None:
            continue
        by_instant.setdefault(sample.at, {}).setdefault(sample.measurand, {})[sample.phase] = value
    points = []
    for at in sorted(by_instant):
        values = by_instant[at]
        energy = _combine(values.get(ENERGY, {}), total=True)
        points.append(CurvePoint(
            at=at, energy_wh=None if energy is None else energy - meter_start_wh,
            power_w=_combine(values.get(POWER, {}), total=True),
            current_a=_combine(values.get(CURRENT, {}), total=False)))
    return points
