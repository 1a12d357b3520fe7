"""Charging profiles the tests send (OCPP 1.6 §7.8 ChargingProfile)."""

from __future__ import annotations

from typing import Any


def tx_default_watts(limit_w: float) -> dict[str, Any]:
    """An Absolute TxDefaultProfile at stack level 0 holding ``limit_w`` from now on."""
    return {
        "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"chargingRateUnit": "W",
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit_w}]},
    }


TX_DEFAULT_7KW = tx_default_watts(7000)
