"""Reservations, the local authorization list, firmware and diagnostics of a simulated
station (OCPP 1.6 §5.1, §5.6, §5.10, §5.13, §5.15, §5.19)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# OCPP 1.6 §4.4 / §4.5: the notifications that follow UpdateFirmware and GetDiagnostics.
FIRMWARE_STEPS = ("Downloading", "Downloaded", "Installing", "Installed")
DIAGNOSTICS_STEPS = ("Uploading", "Uploaded")


@dataclass(frozen=True, slots=True)
class Reservation:
    reservation_id: int
    connector_id: int
    id_tag: str
    expiry: datetime
    parent_id_tag: str | None = None


@dataclass(slots=True)
class LocalAuthList:
    """OCPP 1.6 §3.5 Local Authorization List: a version and idTag -> IdTagInfo."""

    version: int = 0
    entries: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def update(self, version: int, kind: str, items: Iterable[Mapping[str, Any]]) -> str:
        """Apply SendLocalList.req; answers its status (OCPP 1.6 §5.15)."""
        if kind == "Differential" and version <= self.version:
            return "VersionMismatch"
        if kind == "Full":
            self.entries = {}
        for item in items:
            info = item.get("idTagInfo")
            if info is None:
                # Differential: an entry without idTagInfo is removed.
                self.entries.pop(item["idTag"], None)
            else:
                self.entries[item["idTag"]] = info
        self.version = version
        return "Accepted"


@dataclass(slots=True)
class Operations:
    """What the station keeps for the operator-facing features."""

    reservations: dict[int, Reservation] = field(default_factory=dict)
    local_list: LocalAuthList = field(default_factory=LocalAuthList)
    firmware_status: str = "Idle"
    diagnostics_status: str = "Idle"

    def reservation_on(self, connector_id: int) -> Reservation | None:
        for reservation in self.reservations.values():
            if reservation.connector_id == connector_id:
                return reservation
        return None
