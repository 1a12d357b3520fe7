"""Test-profile scenarios: named parameters in, a valid OCPP profile out (pure core)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain import generators
from app.domain.profiles import ChargingProfile
from app.services.errors import Invalid

REQUIRED = {
    "peak_shaving": ("max_power_w",),
    "time_of_use": ("off_peak_w", "peak_w", "peak_start_hour", "peak_end_hour"),
    "energy_cap": ("transaction_id", "max_energy_wh", "duration_seconds", "power_limit_w"),
}


@dataclass(frozen=True)
class Scenario:
    profile: ChargingProfile
    connector_id: int
    note: str | None


def build(name: str, connector_id: int, params: Mapping[str, Any], now: datetime) -> Scenario:
    if name not in REQUIRED:
        raise Invalid("scenario", "must be one of " + ", ".join(REQUIRED))
    missing = [(key, f"is required for scenario {name}") for key in REQUIRED[name]
               if params.get(key) is None]
    if missing:
        raise Invalid.all(missing)
    try:
        if name == "peak_shaving":
            # A ChargePointMaxProfile limits the whole station: connector 0 (OCPP 1.6 §3.13.1).
            profile = generators.peak_shaving(profile_id=0, max_power_w=params["max_power_w"])
            note = None if connector_id == 0 else (
                f"peak_shaving limits the whole station: sent to connector 0, not "
                f"{connector_id}")
            return Scenario(profile, 0, note)
        if name == "time_of_use":
            profile = generators.time_of_use(
                profile_id=0, off_peak_w=params["off_peak_w"], peak_w=params["peak_w"],
                peak_start_hour=params["peak_start_hour"],
                peak_end_hour=params["peak_end_hour"],
                timezone=params.get("timezone") or "UTC", now=now)
            return Scenario(profile, connector_id, None)
        profile = generators.energy_cap(
            profile_id=0, transaction_id=params["transaction_id"],
            max_energy_wh=params["max_energy_wh"], duration_seconds=params["duration_seconds"],
            power_limit_w=params["power_limit_w"])
        return Scenario(profile, connector_id, None)
    except ValueError as exc:
        text = str(exc)
        field = next((k for k in (*REQUIRED[name], "timezone") if text.startswith(k)), "scenario")
        raise Invalid(field, text) from None
