"""The OCPP 2.0.1 version adapter: subprotocol ``ocpp2.0.1``, its schemas and handlers,
and the translation of the services' calls (OCPP 1.6 actions and payloads) into 2.0.1
CALLs and of their answers back (``outgoing.py``).

Both directions are checked against the 2.0.1 schemas: a translated CALL that breaks its
schema is refused before it leaves, a CALLRESULT that breaks its schema is refused
before it is translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from app.clock import utcnow
from app.domain.protocol_rules import OcppVersion
from app.json_types import JsonObject
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.protocol import OutgoingCall, Send
from app.ocpp.router import Handler
from app.ocpp.v201.handlers import all_handlers
from app.ocpp.v201.outgoing import Outgoing
from app.ocpp.v201.profile_reports import ProfileReports
from app.ocpp.v201.remote_ids import RemoteIds
from app.ocpp.v201.schemas import CSMS_ACTIONS, STATION_ACTIONS, SchemaRegistry
from app.services.ports import ProfileReport, StationProfile

SUBPROTOCOL = "ocpp2.0.1"
# The two OCPP-J 1.6 codes the core answers with that OCPP-J 2.0.1 spells otherwise.
_SPELLING = {ErrorCode.FORMATION_VIOLATION: ErrorCode.FORMAT_VIOLATION,
             ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION: ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION}


class Ocpp201:
    subprotocol = SUBPROTOCOL
    version = OcppVersion.V201
    station_actions = frozenset(STATION_ACTIONS)
    server_actions = frozenset(CSMS_ACTIONS)
    # B02.FR.09: while Pending, a BootNotification or what a TriggerMessage, GetBaseReport
    # or GetReport asked for (their reports are NotifyReport).
    while_pending = frozenset({"BootNotification", "NotifyReport"})

    def __init__(self) -> None:
        # Shared by the handlers (which learn each transaction's string) and the CALLs
        # (which name a transaction by it).
        self.remote_ids = RemoteIds()
        # A 1.6 Absolute profile without startSchedule starts when it is received; its
        # 2.0.1 form needs one (K01.FR.40): the instant it is sent.
        self._outgoing = Outgoing(self.remote_ids, utcnow)
        # Shared by the handler of ReportChargingProfiles and the requests waiting.
        self.profile_reports = ProfileReports(self.remote_ids, utcnow)

    @cached_property
    def schemas(self) -> SchemaRegistry:
        # Compiled when a server first needs them, not when the adapter is imported.
        return SchemaRegistry()

    @cached_property
    def handlers(self) -> Mapping[str, Handler]:
        return all_handlers(self.remote_ids, self.profile_reports)

    def error_code(self, code: ErrorCode) -> str:
        return _SPELLING.get(code, code).value

    def outgoing(self, action: str, payload: JsonObject) -> OutgoingCall:
        translation = self._outgoing.translation(action)
        call = translation.call(payload)
        self.schemas.validate_request(translation.action, call)
        return OutgoingCall(translation.action, call)

    def answer(self, action: str, payload: JsonObject) -> JsonObject:
        translation = self._outgoing.translation(action)
        self.schemas.validate_response(translation.action, payload)
        try:
            return translation.answer(payload)
        except (KeyError, ValueError) as exc:
            # A 2.0.1 value with no 1.6 counterpart, or more results than were asked for.
            raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                            f"{translation.action} answer has no 1.6 form: {exc!r}") from None

    async def held_profiles(self, station_id: str, send: Send, timeout: float
                            ) -> list[StationProfile]:
        """K09: GetChargingProfiles, and the ReportChargingProfiles pages it brings."""
        return await self.profile_reports.read(station_id, send, self.schemas, timeout)

    async def profile_report(self, station_id: str, request: JsonObject, send: Send,
                             timeout: float) -> ProfileReport:
        """K09: GetChargingProfiles ``request``, and the pages of its requestId."""
        return await self.profile_reports.report(station_id, request, send, self.schemas,
                                                 timeout)


OCPP201 = Ocpp201()
