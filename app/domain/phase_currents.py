"""Per-phase currents in a MeterValues payload (OCPP 1.6 §4.7, measurand Current.Import
with phases L1-L3): what a circuit's meter connector reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["phase_totals"]


def phase_totals(meter_value: Sequence[Mapping[str, Any]]) -> list[float] | None:
    """The per-phase Current.Import (L1, L2, L3, in A) of the latest sample, if it has all
    three."""
    if not meter_value:
        return None
    latest = max(meter_value, key=lambda m: str(m.get("timestamp", "")))
    found: dict[str, float] = {}
    for sampled in latest.get("sampledValue", ()):
        phase = str(sampled.get("phase") or "")
        if sampled.get("measurand") != "Current.Import" or not phase.startswith(
                ("L1", "L2", "L3")) or sampled.get("unit", "A") != "A":
            continue
        try:
            found[phase[:2]] = float(sampled["value"])
        except (KeyError, ValueError):
            return None
    if len(found) != 3:
        return None
    return [found["L1"], found["L2"], found["L3"]]
