"""Routes an inbound CALL to its handler, with schema validation both ways.

One router per OCPP version: the version adapter (``protocol.py``) gives the handler
table, the schemas and which actions exist; routing is the same for every version.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.frames import Call
from app.services.container import Services

if TYPE_CHECKING:
    from app.ocpp.connection import StationConnection
    from app.ocpp.protocol import ProtocolAdapter

After = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Reply:
    payload: dict[str, Any]
    # Work to start once the answer is on the wire (never before: OCPP-J 1.6 §4.1.1).
    after: After | None = None


@dataclass(frozen=True, slots=True)
class CallContext:
    station_id: str
    services: Services
    connection: StationConnection


Handler = Callable[[CallContext, dict[str, Any]], Awaitable[Reply]]


class Router:
    def __init__(self, services: Services, protocol: ProtocolAdapter) -> None:
        unknown = set(protocol.handlers) - protocol.station_actions
        if unknown:
            raise ValueError(f"handlers for actions a charge point never sends: {unknown}")
        self.protocol = protocol
        self._services = services
        self._schemas = protocol.schemas
        self._handlers = protocol.handlers
        self._server_actions = protocol.server_actions

    async def dispatch(
        self, connection: StationConnection, call: Call
    ) -> tuple[dict[str, Any], After | None]:
        handler = self._handlers.get(call.action)
        if handler is None:
            if call.action in self._server_actions:
                raise OcppError(ErrorCode.NOT_SUPPORTED,
                                f"{call.action} is not supported by this central system")
            if call.action in self.protocol.station_actions:
                # A station's action of the version that nothing here handles (2.0.1
                # GetCertificateStatus, Get15118EVCertificate, ...): known, not supported.
                raise OcppError(ErrorCode.NOT_SUPPORTED,
                                f"{call.action} is not supported by this central system")
            # OCPP-J 1.6 Table 7: NotImplemented = the action is not known.
            raise OcppError(ErrorCode.NOT_IMPLEMENTED, f"unknown action {call.action!r}")
        if connection.pending_boot and call.action not in self.protocol.while_pending:
            if call.action not in connection.triggered:
                # OCPP 2.0.1 B02.FR.09; OCPP 1.6 §4.2: not while the boot is Pending.
                raise OcppError(ErrorCode.SECURITY_ERROR,
                                f"{call.action} is not allowed while the boot is Pending")
            connection.triggered.discard(call.action)
        self._schemas.validate_request(call.action, call.payload)
        context = CallContext(connection.station_id, self._services, connection)
        reply = await handler(context, call.payload)
        try:
            self._schemas.validate_response(call.action, reply.payload)
        except OcppError as exc:
            raise OcppError(ErrorCode.INTERNAL_ERROR,
                            f"the central system built an invalid answer: {exc.description}"
                            ) from exc
        return reply.payload, reply.after
