"""Connectors, transactions and the energy meter of a simulated station."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from app.simulator.clock import ocpp_timestamp


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as the station knows it, with the id the central system gave it."""

    transaction_id: int
    connector_id: int
    id_tag: str
    start: datetime
    meter_start_wh: int


@dataclass(slots=True)
class Connector:
    """One connector: its status, the EV plugged into it and its energy register."""

    connector_id: int
    status: str = "Available"
    operative: bool = True
    ev_plugged: bool = False
    energy_wh: float = 0.0
    power_w: float = 0.0
    offered_w: float = 0.0
    power_since: datetime | None = None
    # With a simulated car: what it draws on the station's L1, L2, L3, and the offer per phase.
    phase_a: tuple[float, float, float] | None = None
    offered_a: float | None = None

    def draw(self, at: datetime, power_w: float, offered_w: float) -> None:
        """Integrate energy at the previous power up to ``at``, then draw ``power_w`` from then."""
        if self.power_since is not None and at > self.power_since:
            self.energy_wh += self.power_w * (at - self.power_since).total_seconds() / 3600.0
        self.power_since = at
        self.power_w = power_w
        self.offered_w = offered_w

    @property
    def meter_wh(self) -> int:
        return int(self.energy_wh)


def periodic_sample(
    connector: Connector, at: datetime, voltage: float, phases: int
) -> dict[str, object]:
    """One MeterValues ``meterValue`` entry with the measurands the station reports.

    OCPP 1.6 §9.1.19: Sample.Periodic values taken every MeterValueSampleInterval.
    """
    amps_per_watt = 1.0 / (voltage * phases)

    def value(measurand: str, amount: float, unit: str) -> dict[str, str]:
        # Rounded down: a reported draw must never read above the limit it obeys.
        return {
            "value": f"{math.floor(amount * 10.0) / 10.0:.1f}",
            "context": "Sample.Periodic",
            "measurand": measurand,
            "location": "Outlet",
            "unit": unit,
        }

    sampled = [
        value("Energy.Active.Import.Register", connector.energy_wh, "Wh"),
        value("Power.Active.Import", connector.power_w, "W"),
    ]
    if connector.phase_a is None or connector.offered_a is None:
        sampled += [value("Current.Import", connector.power_w * amps_per_watt, "A"),
                    value("Current.Offered", connector.offered_w * amps_per_watt, "A")]
    else:
        # A car on fewer phases than the station draws on some only: say which.
        for phase, amps in zip(("L1", "L2", "L3"), connector.phase_a, strict=True):
            sampled.append({**value("Current.Import", amps, "A"), "phase": phase})
        sampled.append(value("Current.Offered", connector.offered_a, "A"))
    return {"timestamp": ocpp_timestamp(at), "sampledValue": sampled}
