"""What follows a change to a station's registration or a boot, in one place (not in a
controller or an OCPP handler): plans and tariffs that target it by id or tag, its
circuit's sessions, deliveries kept back while it was unmanaged, what a boot sets off."""

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
    if "circuit_id" in changes:
        services.scheduler.stations_left_circuit([station_id])
    if "tags" in changes:  # the station gains or loses plans and tariffs by tag
        await station_registered(services, station_id)
    if changes.get("managed") is True:
        # Managed again: deliver what was kept back meanwhile.
        services.scheduler.request_reconcile([station_id], "managed")


async def station_booted(services: Services, station_id: str) -> None:
    """After the BootNotification answer is out: read the station's configuration (its
    smart-charging limits) and have its profiles delivered and verified, for a charger
    that rebooted may have lost them (OCPP 1.6 does not say it keeps them). An unmanaged
    station (PATCH /stations/{id} {"managed": false}) gets nothing, not even the read."""
    if not await services.stations.is_managed(station_id):
        return
    if services.settings.read_configuration_on_boot:
        await services.commands.read_configuration(station_id)
    services.scheduler.station_booted(station_id)
