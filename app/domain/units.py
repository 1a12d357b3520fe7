"""Conversion of charging limits between amperes and watts.

OCPP 1.6 §7.14 gives a period's ``numberPhases`` (default 3); the voltage is not in the
protocol, so it comes from :class:`SupplyConfig`. Power = current x voltage x phases, with the
period's numberPhases where given (as open-ocpp does), else the supply's phases.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.profiles import ChargingRateUnit


@dataclass(frozen=True)
class SupplyConfig:
    """The electrical supply of a charge point.

    ``default_limit_a`` is the limit reported at an instant no profile covers; 48 A is the
    default libocpp documents (33,120 W at 230 V x 3 phases).
    """

    voltage: float = 230.0
    phases: int = 3
    default_limit_a: float = 48.0

    def __post_init__(self) -> None:
        if self.voltage <= 0:
            raise ValueError("voltage must be greater than 0")
        if not 1 <= self.phases <= 3:
            raise ValueError("phases must be between 1 and 3")
        if self.default_limit_a < 0:
            raise ValueError("default_limit_a must not be negative")

    def watts_per_ampere(self, number_phases: int | None = None) -> float:
        return self.voltage * (number_phases if number_phases is not None else self.phases)


def convert(
    value: float,
    source: ChargingRateUnit,
    target: ChargingRateUnit,
    *,
    number_phases: int | None = None,
    supply: SupplyConfig = SupplyConfig(),  # noqa: B008 - frozen, shared safely
) -> float:
    """``value`` in ``source`` units expressed in ``target`` units (no rounding)."""
    if source is target:
        return value
    factor = supply.watts_per_ampere(number_phases)
    if source is ChargingRateUnit.A:
        return value * factor
    return value / factor
