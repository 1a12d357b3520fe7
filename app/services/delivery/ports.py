"""What delivery needs from outside this node."""

from __future__ import annotations

from typing import Protocol

from app.json_types import JsonObject


class Owners(Protocol):
    """The node holding a station's socket, when another node does (several nodes on one
    PostgreSQL)."""

    async def carry_out(self, kind: str, station_id: str, payload: JsonObject
                        ) -> JsonObject | None:
        """Have the station's owner carry out work of ``kind`` and return its result; None
        when no live node holds the station. Raises StationCallError when the owner
        gave no result in time or died meanwhile."""
        ...


class NoOwners:
    """One node alone: a station not connected here is connected nowhere."""

    async def carry_out(self, kind: str, station_id: str, payload: JsonObject
                        ) -> JsonObject | None:
        return None
