"""What follows a change to a station's registration, in one place (not in a controller):
plans and tariffs that target it by id or tag, its circuit's sessions, deliveries kept
back while it was unmanaged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.services.container import Services

# Fields whose change re-plans the station's circuit.
_CIRCUIT_FIELDS = frozenset({"circuit_id", "phase_rotation", "max_current_a"})


async def station_registered(services: Services, station_id: str) -> None:
    """Plans and tariffs that name it or one of its tags apply from now on."""
    await services.plans.sync_station(station_id)
    await services.tariffs.sync_station(station_id)


async def station_updated(services: Services, station_id: str,
                          changes: Mapping[str, Any]) -> None:
    if _CIRCUIT_FIELDS & set(changes):
        services.scheduler.transaction_changed(station_id)  # its sessions re-planned
    if "tags" in changes:  # the station gains or loses plans and tariffs by tag
        await station_registered(services, station_id)
    if changes.get("managed") is True:
        # Managed again: deliver what was kept back meanwhile.
        services.scheduler.request_reconcile([station_id], "managed")
