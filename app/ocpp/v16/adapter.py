"""The OCPP 1.6J version adapter: subprotocol ``ocpp1.6``, its schemas and handlers.

The services' calls are OCPP 1.6 actions and payloads already, so a CALL is the call
itself once it is known to be one the central system sends (OCPP 1.6 §5, and the
security extension's) and its payload fits the action's request schema; a CALLRESULT is
the answer once it fits the action's response schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from app.domain.protocol_rules import OcppVersion
from app.json_types import JsonObject
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.protocol import OutgoingCall, Send
from app.ocpp.router import Handler
from app.ocpp.v16.handlers import all_handlers
from app.ocpp.v16.schemas import (
    CENTRAL_SYSTEM_ACTIONS,
    CHARGE_POINT_ACTIONS,
    SECURITY_CENTRAL_SYSTEM_ACTIONS,
    SECURITY_EXTENSION_ACTIONS,
    SchemaRegistry,
)
from app.services.ports import ProfileReport, StationProfile

SUBPROTOCOL = "ocpp1.6"


class Ocpp16:
    subprotocol = SUBPROTOCOL
    version = OcppVersion.V16
    station_actions = frozenset({*CHARGE_POINT_ACTIONS, *SECURITY_EXTENSION_ACTIONS})
    server_actions = frozenset({*CENTRAL_SYSTEM_ACTIONS, *SECURITY_CENTRAL_SYSTEM_ACTIONS})
    # OCPP 1.6 §4.2: while Pending, nothing but a BootNotification unless a TriggerMessage
    # asked for it.
    while_pending = frozenset({"BootNotification"})

    @cached_property
    def schemas(self) -> SchemaRegistry:
        # Compiled when a server first needs them, not when the adapter is imported.
        return SchemaRegistry()

    @cached_property
    def handlers(self) -> Mapping[str, Handler]:
        return all_handlers()

    def error_code(self, code: ErrorCode) -> str:
        return code.value  # the core's codes are OCPP-J 1.6's (Table 7)

    def outgoing(self, action: str, payload: JsonObject) -> OutgoingCall:
        if action not in self.server_actions:
            raise OcppError(ErrorCode.NOT_SUPPORTED, "not an action the central system sends")
        self.schemas.validate_request(action, payload)
        return OutgoingCall(action, payload)

    def answer(self, action: str, payload: JsonObject) -> JsonObject:
        self.schemas.validate_response(action, payload)
        return payload

    async def held_profiles(self, station_id: str, send: Send, timeout: float
                            ) -> list[StationProfile] | None:
        # OCPP 1.6 has no message that reports the profiles a charge point holds.
        return None

    async def profile_report(self, station_id: str, request: JsonObject, send: Send,
                             timeout: float) -> ProfileReport | None:
        return None


OCPP16 = Ocpp16()
