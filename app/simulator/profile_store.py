"""Persistence of installed charging profiles across Reset and restarts of the simulator."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.domain.installation import InstalledProfile
from app.domain.profiles import ChargingProfile


class ProfileStore:
    """One JSON file holding, per station id, the profiles that station has installed.

    OCPP 1.6 §3.13: a charger keeps its profiles through a reboot; without a store the
    simulator behaves like a charger that loses them, which a central system must notice.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._data: dict[str, list[dict[str, Any]]] = {}
        if path.exists():
            text = path.read_text(encoding="utf-8")
            self._data = json.loads(text) if text.strip() else {}

    def load(self, station_id: str) -> list[InstalledProfile]:
        return [
            InstalledProfile(
                item["connectorId"], ChargingProfile.from_ocpp(item["chargingProfile"])
            )
            for item in self._data.get(station_id, [])
        ]

    def save(self, station_id: str, installed: Sequence[InstalledProfile]) -> None:
        self._data[station_id] = [
            {"connectorId": item.connector_id, "chargingProfile": item.profile.to_ocpp()}
            for item in installed
        ]
        # Write then rename, so a crash never leaves a half-written store behind.
        temporary = self._path.with_name(self._path.name + ".tmp")
        temporary.write_text(json.dumps(self._data, indent=1), encoding="utf-8")
        os.replace(temporary, self._path)
