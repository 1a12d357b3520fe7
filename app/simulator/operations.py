"""Reservations, the local authorization list, firmware and diagnostics of a simulated
station (OCPP 1.6 §5.1, §5.6, §5.10, §5.13, §5.15, §5.19), and a 2.0.1 station's firmware
updates and log uploads (L01, L02, N01)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# OCPP 1.6 §4.4 / §4.5: the notifications that follow UpdateFirmware and GetDiagnostics.
FIRMWARE_STEPS = ("Downloading", "Downloaded", "Installing", "Installed")
DIAGNOSTICS_STEPS = ("Uploading", "Uploaded")
# OCPP 2.0.1 L01/L02 and N01: the same steps; a signed firmware's signature is verified
# once it is downloaded (L01: SignatureVerified before Installing).
SIGNED_FIRMWARE_STEPS = ("Downloading", "Downloaded", "SignatureVerified", "Installing",
                         "Installed")
LOG_STEPS = DIAGNOSTICS_STEPS


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
class Progress:
    """A 2.0.1 firmware update or log upload: the requestId it is for and the status last
    sent (once the central system has answered it, so what follows comes after it). A new
    request replaces an ongoing one (L02.FR.15: AcceptedCanceled; the same for a log),
    whose remaining steps are then dropped."""

    final: str  # the status after which nothing is ongoing
    status: str = "Idle"
    request_id: int | None = None

    def start(self, request_id: int) -> str:
        """The answer's status for a new request ``request_id``, now the current one."""
        ongoing = self.request_id is not None and self.status not in ("Idle", self.final)
        self.request_id, self.status = request_id, "Idle"
        return "AcceptedCanceled" if ongoing else "Accepted"

    def current(self, request_id: int) -> bool:
        return self.request_id == request_id

    def sent(self, request_id: int, status: str) -> None:
        """``status`` of ``request_id`` was sent; a newer request's status stays."""
        if self.current(request_id):
            self.status = status

    def triggered(self) -> tuple[str, int | None]:
        """The status a TriggerMessage asks for: Idle (with no requestId) when nothing is
        ongoing (L02.FR.16: after Installed too), else the last one sent (L02.FR.17)."""
        if self.request_id is None or self.status in ("Idle", self.final):
            return "Idle", None
        return self.status, self.request_id


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
