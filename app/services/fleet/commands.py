"""Operator commands: every CALL OCPP 1.6 lets the central system send, on request.

The payload is validated against the official schema before anything is sent. One-off
commands go straight to the station and fail at once when it is offline (no queue);
SetChargingProfile and ClearChargingProfile go through the desired-state path of
:class:`SmartChargingService`, so the reconcile job neither undoes nor repeats them.
What the station reports back is kept where it belongs: configuration values,
reservations, the local list version, remote-start profiles.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.models import LocalListVersion, Reservation
from app.domain.ownership import Owner, OwnerKind
from app.domain.profiles import ChargingProfile, ProfileFormatError
from app.domain.protocol_rules import OcppVersion
from app.domain.states import DeliveryStatus
from app.domain.validation import validate_remote_start_as_sent
from app.domain.violations import Violation
from app.json_types import JsonObject
from app.services.delivery.managed_profiles import CONNECTOR_FIELD
from app.services.delivery.smart_charging import InvalidProfile, Outcome, SmartChargingService
from app.services.errors import Invalid, NotFound
from app.services.fleet.remote_start import RemoteStartService
from app.services.fleet.stations import SMART_CHARGING_KEYS, StationService
from app.services.fleet.v201_meanings import limits_201, meanings
from app.services.ports import CallErrorReceived, ChargerGateway, StationCallError
from app.services.security.station_security import (
    SECURITY_KEYS,
    StationSecurityService,
    masked_request,
)
from app.timefmt import parse_timestamp

log = logging.getLogger("chargeplan.commands")

# OCPP 1.6 §5: every message the central system sends (Core, FirmwareManagement,
# LocalAuthListManagement, Reservation, RemoteTrigger, SmartCharging).
COMMAND_ACTIONS = (
    "CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache",
    "ClearChargingProfile", "DataTransfer", "GetCompositeSchedule", "GetConfiguration",
    "GetDiagnostics", "GetLocalListVersion", "RemoteStartTransaction",
    "RemoteStopTransaction", "ReserveNow", "Reset", "SendLocalList", "SetChargingProfile",
    "TriggerMessage", "UnlockConnector", "UpdateFirmware",
    # The security extension for 1.6 (OCA whitepaper "Improved security for OCPP 1.6-J").
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage",
    "GetInstalledCertificateIds", "GetLog", "InstallCertificate", "SignedUpdateFirmware",
)
# Commands that change what a station trusts or proves itself with: admins only.
ADMIN_ACTIONS = frozenset({"CertificateSigned", "DeleteCertificate", "InstallCertificate"})

# Checks a request payload against the action's OCPP 1.6 schema; raises Invalid naming
# the field. The OCPP adapter provides it (app.bootstrap wires it in).
RequestValidator = Callable[[str, Mapping[str, Any]], None]


class UnknownAction(NotFound):
    def __init__(self, action: str) -> None:
        super().__init__("action", action)
        self.valid = COMMAND_ACTIONS


@dataclass
class CommandError:
    """Why a command produced no CALLRESULT (or, for desired state, is not yet delivered).

    kind: callerror | timeout | offline | invalid_response.
    """

    kind: str
    reason: str
    code: str | None = None
    description: str | None = None
    details: Any = None


@dataclass
class CommandResult:
    status: str  # success: the station answered with a CALLRESULT; error: it did not
    station_id: str
    action: str
    request: JsonObject
    response: JsonObject | None = None
    error: CommandError | None = None
    # SetChargingProfile/ClearChargingProfile to an offline station: stored, carried out
    # when it reconnects.
    pending: bool = False
    warnings: list[str] = field(default_factory=list)
    desired_profile_id: int | None = None
    remote_start_id: int | None = None
    # GetChargingProfiles (OCPP 2.0.1): what the station reported for the requestId, and
    # whether its last page came in time.
    reported: list[JsonObject] | None = None
    report_complete: bool | None = None


def call_error(exc: StationCallError) -> CommandError:
    if isinstance(exc, CallErrorReceived):
        return CommandError(exc.kind, exc.reason, exc.code, exc.description, exc.details)
    return CommandError(exc.kind, exc.reason)


async def sent(gateway: ChargerGateway, station_id: str, action: str, request: JsonObject
               ) -> CommandResult:
    """One CALL as a command's result: the station's answer, or why there is none."""
    try:
        answer = await gateway.call(station_id, action, request)
    except StationCallError as exc:
        log.info("%s to %s failed: %s", action, station_id, exc.reason)
        return CommandResult("error", station_id, action, request, error=call_error(exc))
    return CommandResult("success", station_id, action, request, response=answer)


def _outcome_error(outcome: Outcome) -> CommandError:
    """The typed failure the smart-charging outcome carries, as the command's error."""
    if outcome.failure is not None:
        return call_error(outcome.failure)
    # No call failed (e.g. the row was removed before delivery): nothing was answered.
    return CommandError("invalid_response", outcome.error or outcome.message)


def _reprefixed(exc: InvalidProfile, prefix: str) -> InvalidProfile:
    def rename(path: str) -> str:
        if path == CONNECTOR_FIELD:  # the payload's own connectorId
            return "connectorId"
        return prefix + path[len("profile"):] if path.startswith("profile") else path

    return InvalidProfile([Violation(rename(v.path), v.rule, v.reference)
                           for v in exc.violations])


class CommandService:
    def __init__(self, db: Database, gateway: ChargerGateway, *, stations: StationService,
                 smart_charging: SmartChargingService, remote_starts: RemoteStartService,
                 validate: RequestValidator, clock: Clock = utcnow,
                 security: StationSecurityService | None = None) -> None:
        self._db = db
        self._security = security
        self._gateway = gateway
        self._stations = stations
        self._smart = smart_charging
        self._remote_starts = remote_starts
        self._validate = validate
        self._clock = clock
        self._special: dict[str, Callable[[str, JsonObject], Awaitable[CommandResult]]] = {
            "SetChargingProfile": self._set_charging_profile,
            "ClearChargingProfile": self._clear_charging_profile,
            "RemoteStartTransaction": self._remote_start,
        }
        self._side_effects: dict[
            str, Callable[[str, JsonObject, JsonObject], Awaitable[None]]] = {
            "GetConfiguration": self._configuration_read,
            "ChangeConfiguration": self._configuration_changed,
            "ReserveNow": self._reserved,
            "CancelReservation": self._reservation_cancelled,
            "SendLocalList": self._local_list_sent,
            "GetLocalListVersion": self._local_list_version,
        }

    async def send(self, station_id: str, action: str, payload: Mapping[str, Any]
                   ) -> CommandResult:
        """Validate, send and record one command; raises NotFound/Invalid before sending."""
        if action not in COMMAND_ACTIONS:
            raise UnknownAction(action)
        station = await self._stations.get(station_id)
        request = dict(payload)
        self._check(action, request, station.ocpp_version)
        if (action == "ChangeConfiguration" and request.get("key") in SECURITY_KEYS
                and self._security is not None):
            return await self._security_change(self._security, station_id, request)
        special = self._special.get(action)
        if special is not None:
            return await special(station_id, request)
        return await self._plain(station_id, action, request)

    def _check(self, action: str, request: JsonObject, version: str) -> None:
        """The 1.6 schema on the body; the 2.0.1 meanings a 2.0.1 station may be sent
        (``v201_meanings.py``) by their own rules, and none to a 1.6 station; for a 2.0.1
        station, what its form of the call cannot hold."""
        found = meanings(action, request)
        if found.used and version != OcppVersion.V201:
            raise Invalid.all(found.used)
        problems = list(found.problems)
        if version == OcppVersion.V201:
            problems.extend(limits_201(action, request))
        try:
            self._validate(action, found.checked)
        except Invalid as exc:
            problems.extend(exc.problems)
        if problems:
            raise Invalid.all(problems)

    async def _security_change(self, security: StationSecurityService, station_id: str,
                               request: JsonObject) -> CommandResult:
        """AuthorizationKey and SecurityProfile: checked, recorded as security events,
        and the key masked in the answer and in the stored configuration."""
        shown = masked_request(request)
        try:
            answer = await security.change_configuration(station_id, request)
        except StationCallError as exc:
            log.info("ChangeConfiguration %s to %s failed: %s", request["key"], station_id,
                     exc.reason)
            return CommandResult("error", station_id, "ChangeConfiguration", shown,
                                 error=call_error(exc))
        await self._configuration_changed(station_id, shown, answer)
        return CommandResult("success", station_id, "ChangeConfiguration", shown,
                             response=answer)

    async def _plain(self, station_id: str, action: str, request: JsonObject
                     ) -> CommandResult:
        result = await sent(self._gateway, station_id, action, request)
        side_effect = self._side_effects.get(action)
        if side_effect is not None and result.response is not None:
            await side_effect(station_id, request, result.response)
        return result

    # --- desired state -----------------------------------------------------------------
    async def _set_charging_profile(self, station_id: str, request: JsonObject
                                    ) -> CommandResult:
        try:
            submitted = await self._smart.submit(
                station_id, request["connectorId"], request["csChargingProfiles"],
                owner=Owner(OwnerKind.COMMAND))
        except InvalidProfile as exc:
            raise _reprefixed(exc, "csChargingProfiles") from None
        return self._desired_result(station_id, "SetChargingProfile", request,
                                    submitted.outcome, submitted.warnings,
                                    submitted.desired_id)

    async def _clear_charging_profile(self, station_id: str, request: JsonObject
                                      ) -> CommandResult:
        try:
            cleared = await self._smart.clear(
                station_id, profile_id=request.get("id"),
                connector_id=request.get("connectorId"),
                purpose=request.get("chargingProfilePurpose"),
                stack_level=request.get("stackLevel"))
        except Invalid as exc:
            names = {"profile_id": "id", "connector_id": "connectorId",
                     "purpose": "chargingProfilePurpose", "stack_level": "stackLevel"}
            raise Invalid(names.get(exc.field, exc.field), exc.rule) from None
        return self._desired_result(station_id, "ClearChargingProfile", request,
                                    cleared.outcome, [], None)

    @staticmethod
    def _desired_result(station_id: str, action: str, request: JsonObject,
                        outcome: Outcome, warnings: list[str], desired_id: int | None
                        ) -> CommandResult:
        if outcome.answer is not None and outcome.status in (
                DeliveryStatus.SUCCESS, DeliveryStatus.REJECTED):
            return CommandResult("success", station_id, action, request,
                                 response=outcome.answer, warnings=warnings,
                                 desired_profile_id=desired_id)
        return CommandResult("error", station_id, action, request,
                             error=_outcome_error(outcome),
                             pending=outcome.status == DeliveryStatus.PENDING, warnings=warnings,
                             desired_profile_id=desired_id)

    # --- remote start with a TxProfile -------------------------------------------------
    async def _remote_start(self, station_id: str, request: JsonObject) -> CommandResult:
        action = "RemoteStartTransaction"
        profile_json = request.get("chargingProfile")
        if profile_json is None:
            return await self._plain(station_id, action, request)
        warnings = await self._check_remote_start_profile(station_id, request, profile_json)
        remote_start_id = await self._remote_starts.remember(
            station_id, request.get("connectorId"), request["idTag"], profile_json)
        try:
            answer = await self._gateway.call(station_id, action, request)
        except StationCallError as exc:
            await self._remote_starts.answered(remote_start_id, None)
            return CommandResult("error", station_id, action, request, error=call_error(exc),
                                 warnings=warnings)
        await self._remote_starts.answered(remote_start_id, answer.get("status"))
        kept = answer.get("status") == "Accepted"
        row = await self._remote_starts.get(remote_start_id) if kept else None
        return CommandResult("success", station_id, action, request, response=answer,
                             warnings=warnings,
                             remote_start_id=remote_start_id if kept else None,
                             desired_profile_id=row.desired_profile_id if row else None)

    async def _check_remote_start_profile(self, station_id: str, request: JsonObject,
                                          profile_json: Mapping[str, Any]) -> list[str]:
        view = await self._smart.station_view(station_id)
        if view.smart_charging is False:
            raise Invalid("chargingProfile", "the station's SupportedFeatureProfiles lacks "
                          "SmartCharging (OCPP 1.6 §9.1)")
        try:
            profile = ChargingProfile.from_ocpp(profile_json)
        except ProfileFormatError as exc:
            raise InvalidProfile([v.prefixed("chargingProfile")
                                  for v in exc.violations]) from None
        # A TxProfile without transactionId (OCPP 1.6 errata §3.41), checked by the rules
        # of the station's version; with no connectorId the station picks one, so check it
        # as if for connector 1.
        connector_id = request.get("connectorId") or 1
        violations = validate_remote_start_as_sent(profile, connector_id, view.limits,
                                                   rules=view.rules, sent_at=self._clock())
        if violations:
            # connectorId is the request's own field, beside chargingProfile.
            raise InvalidProfile([v if v.path == "connectorId" else v.prefixed("chargingProfile")
                                  for v in violations])
        return view.warnings

    # --- what the station reports back ---------------------------------------------------
    async def read_configuration(self, station_id: str) -> None:
        """GetConfiguration with no key list returns every key the charger has (OCPP 1.6
        §5.8). Many chargers answer incompletely: what is missing stays unknown, not
        absent. A failure is logged: the station works without it."""
        try:
            answer = await self._gateway.call(station_id, "GetConfiguration", {})
        except StationCallError as exc:
            log.warning("%s: reading configuration failed: %s", station_id, exc.reason)
            return
        keys = answer.get("configurationKey") or []
        missing = [k for k in SMART_CHARGING_KEYS if k not in {e["key"] for e in keys}]
        if missing:
            log.info("%s did not report %s: treated as unknown", station_id,
                     ", ".join(missing))
        await self._stations.store_configuration(station_id, keys,
                                                 answer.get("unknownKey") or [])

    async def _configuration_read(self, station_id: str, request: JsonObject,
                                  answer: JsonObject) -> None:
        keys = answer.get("configurationKey") or []
        if request.get("key"):
            # A partial read updates what is known; other keys keep their last value.
            station = await self._stations.get(station_id)
            merged = {**(station.configuration or {}),
                      **{k["key"]: {"value": k.get("value"), "readonly": k.get("readonly")}
                         for k in keys}}
            keys = [{"key": k, **v} for k, v in merged.items()]
        await self._stations.store_configuration(station_id, keys,
                                                 answer.get("unknownKey") or [])

    async def _configuration_changed(self, station_id: str, request: JsonObject,
                                     answer: JsonObject) -> None:
        # OCPP 1.6 §5.3: Accepted means applied; RebootRequired means not yet in effect.
        if answer.get("status") != "Accepted":
            return
        station = await self._stations.get(station_id)
        config = dict(station.configuration or {})
        previous = config.get(request["key"]) or {}
        config[request["key"]] = {"value": request["value"],
                                  "readonly": previous.get("readonly", False)}
        await self._stations.store_configuration(
            station_id, [{"key": k, **v} for k, v in config.items()], [])

    async def _reserved(self, station_id: str, request: JsonObject,
                        answer: JsonObject) -> None:
        now = self._clock()
        values = {
            "connector_id": request["connectorId"], "id_tag": request["idTag"],
            "parent_id_tag": request.get("parentIdTag"),
            "expiry_date": parse_timestamp(request["expiryDate"]),
            "status": answer["status"], "updated_at": now,
        }
        async with self._db.uow() as session:
            row = await session.get(Reservation, (station_id, request["reservationId"]))
            if row is None:
                session.add(Reservation(station_id=station_id,
                                        reservation_id=request["reservationId"],
                                        created_at=now, **values))
            else:
                # OCPP 1.6 §5.13: the same reservationId replaces the reservation.
                for key, value in values.items():
                    setattr(row, key, value)

    async def _reservation_cancelled(self, station_id: str, request: JsonObject,
                                     answer: JsonObject) -> None:
        if answer.get("status") != "Accepted":
            return
        async with self._db.uow() as session:
            row = await session.get(Reservation, (station_id, request["reservationId"]))
            if row is not None:
                row.status = "Cancelled"
                row.updated_at = self._clock()

    async def reservation_ended(self, station_id: str, reservation_id: int,
                                status: str) -> bool:
        """A reservation ended at the station: it ended it itself (OCPP 2.0.1
        ReservationStatusUpdate: Expired or Removed), or a transaction used it (Used):
        its status says so. A reservation ends once: one that is not held (refused,
        cancelled or ended already) keeps its status. False when chargeplan never sent
        it."""
        async with self._db.uow() as session:
            row = await session.get(Reservation, (station_id, reservation_id))
            if row is None:
                return False
            if row.status == "Accepted":
                row.status = status
                row.updated_at = self._clock()
        return True

    async def _local_list_sent(self, station_id: str, request: JsonObject,
                               answer: JsonObject) -> None:
        if answer.get("status") == "Accepted":
            await self._store_list_version(station_id, request["listVersion"])

    async def _local_list_version(self, station_id: str, request: JsonObject,
                                  answer: JsonObject) -> None:
        await self._store_list_version(station_id, answer["listVersion"])

    async def _store_list_version(self, station_id: str, version: int) -> None:
        async with self._db.uow() as session:
            row = await session.get(LocalListVersion, station_id)
            if row is None:
                session.add(LocalListVersion(station_id=station_id, list_version=version,
                                             updated_at=self._clock()))
            else:
                row.list_version = version
                row.updated_at = self._clock()

    # --- reading it back -----------------------------------------------------------------
    async def reservations(self, station_id: str) -> list[Reservation]:
        await self._stations.get(station_id)
        async with self._db.uow() as session:
            rows = await session.scalars(select(Reservation).where(
                Reservation.station_id == station_id).order_by(Reservation.reservation_id))
            return list(rows.all())

    async def local_list_version(self, station_id: str) -> LocalListVersion | None:
        await self._stations.get(station_id)
        async with self._db.uow() as session:
            return await session.get(LocalListVersion, station_id)
