"""The one way the server sends a CALL to a station.

Validates the request against the OCPP 1.6 schema before it leaves and the answer
when it comes back; a CALLERROR, a timeout or a closed socket is raised as a typed
:class:`StationCallError` with station, action and reason. Nothing is swallowed.
"""

from __future__ import annotations

from collections import Counter

from app.json_types import JsonObject
from app.ocpp.errors import OcppError
from app.ocpp.registry import ConnectionRegistry
from app.ocpp.schemas import (
    CENTRAL_SYSTEM_ACTIONS,
    SECURITY_CENTRAL_SYSTEM_ACTIONS,
    SchemaRegistry,
)
from app.services.ports import (
    InvalidRequest,
    InvalidResponse,
    StationCallError,
    StationOffline,
)


class OcppGateway:
    def __init__(self, registry: ConnectionRegistry, schemas: SchemaRegistry) -> None:
        self._registry = registry
        self._schemas = schemas
        # (action, outcome) -> count, for /metrics; outcome: ok or the error kind.
        self.calls: Counter[tuple[str, str]] = Counter()

    def is_connected(self, station_id: str) -> bool:
        connection = self._registry.get(station_id)
        return connection is not None and not connection.closed

    def connected_station_ids(self) -> list[str]:
        return [c.station_id for c in self._registry.all() if not c.closed]

    async def reachable(self, station_id: str) -> bool:
        return self.is_connected(station_id)

    def check_request(self, station_id: str, action: str, payload: JsonObject) -> None:
        """Raise InvalidRequest unless ``payload`` is a valid ``action`` the central system
        may send."""
        if (action not in CENTRAL_SYSTEM_ACTIONS
                and action not in SECURITY_CENTRAL_SYSTEM_ACTIONS):
            raise InvalidRequest(station_id, action, "not an action the central system sends")
        try:
            self._schemas.validate_request(action, payload)
        except OcppError as exc:
            raise InvalidRequest(station_id, action, exc.description) from None

    async def call(
        self, station_id: str, action: str, payload: JsonObject, *,
        timeout: float | None = None, desired_profile_id: int | None = None,
    ) -> JsonObject:
        self.check_request(station_id, action, payload)
        try:
            answer = await self._call(station_id, action, payload, timeout, desired_profile_id)
        except StationCallError as exc:
            self.calls[(action, exc.kind)] += 1
            raise
        self.calls[(action, "ok")] += 1
        return answer

    async def _call(self, station_id: str, action: str, payload: JsonObject,
                    timeout: float | None, desired_profile_id: int | None) -> JsonObject:
        connection = self._registry.get(station_id)
        if connection is None or connection.closed:
            raise StationOffline(station_id, action)
        answer = await connection.call(action, payload, timeout,
                                       desired_profile_id=desired_profile_id)
        try:
            self._schemas.validate_response(action, answer)
        except OcppError as exc:
            raise InvalidResponse(station_id, action, exc.description) from None
        return answer
