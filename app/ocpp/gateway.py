"""The one way the server sends a CALL to a station.

The station's version adapter (the one its connection negotiated) turns the services'
call into its CALL, checked against the version's schema before it leaves, and reads the
answer when it comes back; a CALLERROR, a timeout or a closed socket is raised as a typed
:class:`StationCallError` with station, action and reason. Nothing is swallowed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.json_types import JsonObject
from app.ocpp.connection import StationConnection
from app.ocpp.errors import OcppError
from app.ocpp.protocol import OutgoingCall, ProtocolAdapter, ProtocolRegistry, Send
from app.ocpp.registry import ConnectionRegistry
from app.services.ports import (
    InvalidRequest,
    InvalidResponse,
    ProfileReport,
    StationCallError,
    StationOffline,
    StationProfile,
)

T = TypeVar("T")

# How read-backs are counted in ``calls`` (the action of the CALL that asks).
READ_BACK = "GetChargingProfiles"


class OcppGateway:
    def __init__(self, registry: ConnectionRegistry, protocols: ProtocolRegistry) -> None:
        self._registry = registry
        self._protocols = protocols
        # (action, outcome) -> count, for /metrics; outcome: ok or the error kind.
        self.calls: Counter[tuple[str, str]] = Counter()

    def is_connected(self, station_id: str) -> bool:
        """Connected here and accepted: a station whose boot was answered Pending (held)
        is offline to the services, so delivery waits for its accepted boot; chargeplan's
        own calls still reach it (``holds``)."""
        connection = self._registry.get(station_id)
        return connection is not None and not connection.closed and not connection.pending_boot

    def holds(self, station_id: str) -> bool:
        """The station's socket is open here, accepted or not."""
        connection = self._registry.get(station_id)
        return connection is not None and not connection.closed

    def connected_station_ids(self) -> list[str]:
        return [c.station_id for c in self._registry.all()
                if not c.closed and not c.pending_boot]

    async def reachable(self, station_id: str) -> bool:
        return self.holds(station_id)

    def check_request(self, station_id: str, action: str, payload: JsonObject) -> None:
        """Raise InvalidRequest unless ``payload`` is a valid ``action`` the central system
        may send: to the station's version when it is connected here, else to the
        services' own (the first registered)."""
        connection = self._live(station_id)
        protocol = self._protocols.primary if connection is None else connection.protocol
        self._outgoing(protocol, station_id, action, payload)

    async def call(
        self, station_id: str, action: str, payload: JsonObject, *,
        timeout: float | None = None, desired_profile_id: int | None = None,
    ) -> JsonObject:
        connection = self._live(station_id)
        protocol = self._protocols.primary if connection is None else connection.protocol
        outgoing = self._outgoing(protocol, station_id, action, payload)
        try:
            if connection is None:
                raise StationOffline(station_id, action)
            answer = await connection.call(outgoing.action, outgoing.payload, timeout,
                                           desired_profile_id=desired_profile_id)
            try:
                answer = protocol.answer(action, answer)
            except OcppError as exc:
                raise InvalidResponse(station_id, action, exc.description) from None
        except StationCallError as exc:
            self.calls[(action, exc.kind)] += 1
            raise
        self.calls[(action, "ok")] += 1
        return answer

    async def held_profiles(self, station_id: str) -> list[StationProfile] | None:
        """Asked of the station's version adapter, which sends what its version asks with
        (audited as every CALL) and waits for the answer up to the call timeout."""
        async def ask(connection: StationConnection, send: Send
                      ) -> list[StationProfile] | None:
            return await connection.protocol.held_profiles(station_id, send,
                                                           connection.call_timeout)

        return await self._reading(station_id, ask)

    async def profile_report(self, station_id: str, request: JsonObject, *,
                             timeout: float) -> ProfileReport:
        """GetChargingProfiles ``request``, checked as any CALL, and the pages the version
        adapter collects for its requestId."""
        async def ask(connection: StationConnection, send: Send) -> ProfileReport:
            outgoing = self._outgoing(connection.protocol, station_id, READ_BACK, request)
            report = await connection.protocol.profile_report(station_id, outgoing.payload,
                                                              send, timeout)
            if report is None:
                raise InvalidRequest(station_id, READ_BACK,
                                     "the station's OCPP version has no such request")
            return report

        return await self._reading(station_id, ask)

    async def _reading(self, station_id: str,
                       ask: Callable[[StationConnection, Send], Awaitable[T]]) -> T:
        """A GetChargingProfiles and the pages it brings, counted in ``calls`` as one."""
        connection = self._live(station_id)
        try:
            if connection is None:
                raise StationOffline(station_id, READ_BACK)
            live = connection

            async def send(action: str, payload: JsonObject) -> JsonObject:
                return await live.call(action, payload)

            try:
                result = await ask(connection, send)
            except OcppError as exc:
                raise InvalidResponse(station_id, READ_BACK, exc.description) from None
        except StationCallError as exc:
            self.calls[(READ_BACK, exc.kind)] += 1
            raise
        if result is not None:
            self.calls[(READ_BACK, "ok")] += 1
        return result

    def _live(self, station_id: str) -> StationConnection | None:
        connection = self._registry.get(station_id)
        return None if connection is None or connection.closed else connection

    @staticmethod
    def _outgoing(protocol: ProtocolAdapter, station_id: str, action: str,
                  payload: JsonObject) -> OutgoingCall:
        try:
            return protocol.outgoing(action, payload)
        except OcppError as exc:
            raise InvalidRequest(station_id, action, exc.description) from None
