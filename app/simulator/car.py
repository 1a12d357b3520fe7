"""Simulated cars: what a car draws for what it is offered, and how its battery fills.

Pure: no clock and no I/O; the station passes the instants in.

- A car draws on 1 or 3 phases, at most its own ``max_current_a`` per phase.
- Below 6 A offered it does not charge (IEC 61851-1 Annex A: the PWM duty cycle offers
  6 A at minimum; a lower offer is a pause).
- It tapers near full: from ``taper_soc`` on, what it accepts falls linearly with its
  state of charge, down to nothing at 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MIN_OFFER_A = 6.0


@dataclass(frozen=True, slots=True)
class Car:
    """A car as a site file describes it; ``arrive_s``/``depart_s`` count from the start."""

    id: str
    max_current_a: float = 16.0
    phases: int = 3
    battery_wh: float = 60_000.0
    soc: float = 0.2  # state of charge on arrival, 0 to 1
    taper_soc: float = 1.0  # from this state of charge on, what it accepts falls
    arrive_s: float = 0.0
    depart_s: float | None = None

    def __post_init__(self) -> None:
        if self.phases not in (1, 3):
            raise ValueError("phases must be 1 or 3")
        if self.max_current_a <= 0:
            raise ValueError("max_current_a must be greater than 0")
        if self.battery_wh <= 0:
            raise ValueError("battery_wh must be greater than 0")
        if not 0.0 <= self.soc <= 1.0:
            raise ValueError("soc must be between 0 and 1")
        if not 0.0 <= self.taper_soc <= 1.0:
            raise ValueError("taper_soc must be between 0 and 1")
        if self.arrive_s < 0:
            raise ValueError("arrive_s must be 0 or more")
        if self.depart_s is not None and self.depart_s <= self.arrive_s:
            raise ValueError("depart_s must be after arrive_s")


def acceptance_a(car: Car, soc: float) -> float:
    """The most the car takes per phase at ``soc``: its maximum, tapering near full."""
    if soc >= 1.0:
        return 0.0
    if soc <= car.taper_soc or car.taper_soc >= 1.0:
        return car.max_current_a
    return car.max_current_a * (1.0 - soc) / (1.0 - car.taper_soc)


def draw_a(car: Car, offered_a: float, soc: float) -> float:
    """What the car draws per phase when offered ``offered_a``: never above the offer."""
    if offered_a < MIN_OFFER_A:
        return 0.0
    return max(0.0, min(offered_a, acceptance_a(car, soc)))


def charged_soc(car: Car, soc: float, amps: float, seconds: float, voltage: float) -> float:
    """The state of charge after drawing ``amps`` per phase for ``seconds``."""
    energy_wh = amps * voltage * car.phases * seconds / 3600.0
    return min(1.0, soc + energy_wh / car.battery_wh)


@dataclass(slots=True)
class PluggedCar:
    """A car on a connector: its state of charge, and what it draws since when."""

    car: Car
    soc: float
    amps: float = 0.0
    since: datetime | None = None

    def draw(self, at: datetime, offered_a: float, voltage: float) -> float:
        """Charge at the previous draw up to ``at``, then draw for ``offered_a``; the draw."""
        if self.since is not None and at > self.since:
            seconds = (at - self.since).total_seconds()
            self.soc = charged_soc(self.car, self.soc, self.amps, seconds, voltage)
        self.since = at
        self.amps = draw_a(self.car, offered_a, self.soc)
        return self.amps
