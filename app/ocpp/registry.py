"""The live connections of this process, by station id."""

from __future__ import annotations

from datetime import datetime

from app.ocpp.connection import StationConnection


class ConnectionRegistry:
    def __init__(self) -> None:
        self._connections: dict[str, StationConnection] = {}

    def __len__(self) -> int:
        return len(self._connections)

    def get(self, station_id: str) -> StationConnection | None:
        return self._connections.get(station_id)

    def remote_host(self, station_id: str) -> str | None:
        """The host the station is connected from here; None when it is not."""
        connection = self._connections.get(station_id)
        return None if connection is None else connection.remote_host

    def replace(self, connection: StationConnection) -> StationConnection | None:
        """Register a newly authenticated connection; return the one it displaces."""
        old = self._connections.get(connection.station_id)
        self._connections[connection.station_id] = connection
        return old

    def remove(self, connection: StationConnection) -> bool:
        """Forget a closed connection, unless a newer one for the station replaced it."""
        if self._connections.get(connection.station_id) is connection:
            del self._connections[connection.station_id]
            return True
        return False

    def all(self) -> list[StationConnection]:
        return list(self._connections.values())

    def last_seen(self) -> dict[str, datetime]:
        return {sid: conn.last_seen for sid, conn in self._connections.items()}
