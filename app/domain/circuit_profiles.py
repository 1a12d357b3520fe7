"""The arithmetic of the profiles a circuit sends (Absolute, one schedule, periods from
its ``startSchedule``): what limit one holds at an instant, in A per phase, and since
when. The limit itself is read by the one :func:`~app.domain.schedule_comparison.limit_at`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app.domain.profiles import parse_datetime
from app.domain.schedule_comparison import limit_at

__all__ = ["amps_at", "in_force_since"]


def amps_at(profile: Mapping[str, Any], at: datetime, voltage: float) -> float:
    """A circuit profile's limit at ``at`` in A per phase: one in W (for a charger that
    takes only W) is divided by voltage x its numberPhases (errata v4 §3.69: absent, 3)."""
    schedule = profile["chargingSchedule"]
    limit = limit_at(profile, at, hold=True)
    if schedule["chargingRateUnit"] != "W":
        return limit
    phases = schedule["chargingSchedulePeriod"][0].get("numberPhases") or 3
    return limit / (voltage * phases)


def in_force_since(profile: Mapping[str, Any], at: datetime) -> datetime:
    """When the period of an Absolute single-schedule profile of ours in force at ``at``
    began (its ``startSchedule`` when ``at`` is before it)."""
    schedule = profile["chargingSchedule"]
    start = parse_datetime(schedule["startSchedule"])
    offset = (at - start).total_seconds()
    begun = [p["startPeriod"] for p in schedule["chargingSchedulePeriod"]
             if p["startPeriod"] <= offset]
    return start + timedelta(seconds=max(begun, default=0))
