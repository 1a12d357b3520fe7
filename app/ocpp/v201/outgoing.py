"""The services' calls (OCPP 1.6 actions and payloads) as OCPP 2.0.1 CALLs, and the 2.0.1
answers as the 1.6 answers the services read.

Each call the services make has one translation here, or none: a call with no 2.0.1
meaning here (PublishFirmware and the rest of what 1.6 lacks) is refused with
NotSupported before anything is sent. The security extension's certificate calls are
2.0.1's own (A02, A03, M03-M05, ``certificates.py``), and so are its SignedUpdateFirmware
(UpdateFirmware, L01) and GetLog (N01), field for field. 1.6 UpdateFirmware is a 2.0.1
UpdateFirmware without signature (L02, the non-secure update: the schema leaves
signingCertificate and signature out), and 1.6 GetDiagnostics a GetLog of the
DiagnosticsLog; both get the requestId their 2.0.1 form needs from a counter of this
process, as a RemoteStartTransaction gets its remoteStartId (the station names them in its
status notifications and its TransactionEvent). Where the 1.6 answer has no status
(UpdateFirmware, GetDiagnostics), the 2.0.1 status and statusInfo are kept beside it.
Reservations and the local list go as their 2.0.1 forms (H01, D01, D02: the connector as
the EVSE, each idTag as an idToken).
GetConfiguration and ChangeConfiguration reach the device model's variables
(``configuration.py``). The 2.0.1 calls that 1.6 lacks (``NATIVE_ACTIONS``: the device
model's reads and writes, GetChargingProfiles, ...) the services make in 2.0.1 terms; they
go out as they are.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.domain.profiles import ChargingProfile, ChargingProfilePurpose, ProfileFormatError
from app.domain.profiles_v201 import ConversionError, from_v16
from app.json_types import JsonObject
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.v201 import certificates, configuration
from app.ocpp.v201.remote_ids import RemoteIds

# 1.6 Reset, Hard or Soft, resets now and ends the running transactions (a Soft one
# gracefully): 2.0.1 Immediate. OnIdle waits for them to end, which neither 1.6 type does;
# a body for a 2.0.1 station may name it (app/services/fleet/v201_meanings.py).
_RESET = {"Hard": "Immediate", "Soft": "Immediate", "Immediate": "Immediate",
          "OnIdle": "OnIdle"}
# 1.6 TriggerMessage's requestedMessage as 2.0.1 MessageTriggerEnumType, and the values
# only 2.0.1 has, as they are.
_TRIGGER = {"BootNotification": "BootNotification", "Heartbeat": "Heartbeat",
            "MeterValues": "MeterValues", "StatusNotification": "StatusNotification",
            "FirmwareStatusNotification": "FirmwareStatusNotification",
            "DiagnosticsStatusNotification": "LogStatusNotification",
            **{name: name for name in (
                "LogStatusNotification", "PublishFirmwareStatusNotification",
                "SignChargingStationCertificate", "SignCombinedCertificate",
                "SignV2GCertificate", "TransactionEvent")}}
_PURPOSE = {"ChargePointMaxProfile": "ChargingStationMaxProfile",
            "TxDefaultProfile": "TxDefaultProfile", "TxProfile": "TxProfile"}
# 2.0.1 UnlockStatusEnumType as 1.6 UnlockStatus.
_UNLOCK = {"Unlocked": "Unlocked", "UnlockFailed": "UnlockFailed",
           "OngoingAuthorizedTransaction": "UnlockFailed", "UnknownConnector": "NotSupported"}


# Calls with no 1.6 counterpart, which the services make by their 2.0.1 name and payload
# (app/services/fleet/commands_v201.py); they pass through unchanged, both ways.
NATIVE_ACTIONS = ("GetVariables", "SetVariables", "GetBaseReport", "GetReport",
                  "GetChargingProfiles", "GetTransactionStatus", "SetNetworkProfile",
                  "SetDisplayMessage", "GetDisplayMessages", "ClearDisplayMessage",
                  "SetVariableMonitoring", "ClearVariableMonitoring", "SetMonitoringBase",
                  "SetMonitoringLevel", "GetMonitoringReport", "CustomerInformation",
                  "PublishFirmware", "UnpublishFirmware")


@dataclass(frozen=True)
class Translation:
    action: str  # the 2.0.1 action
    call: Callable[[JsonObject], JsonObject]  # 1.6 request -> 2.0.1 request
    answer: Callable[[JsonObject], JsonObject]  # 2.0.1 response -> 1.6 response


def _status(answer: JsonObject) -> JsonObject:
    """The 1.6 answer ``{status}``, with the 2.0.1 statusInfo kept beside it: a reason
    the station gave is not thrown away."""
    out: JsonObject = {"status": answer["status"]}
    if "statusInfo" in answer:
        out["statusInfo"] = answer["statusInfo"]
    return out


def _same(payload: JsonObject) -> JsonObject:
    return dict(payload)


class Outgoing:
    """Translations of the services' calls for 2.0.1 stations."""

    def __init__(self, ids: RemoteIds, clock: Clock) -> None:
        self._ids = ids
        self._clock = clock
        # Started from the clock's seconds, so a restarted process rarely repeats an id a
        # station may still hold (2.0.1 remoteStartId is an integer, nothing more).
        self._remote_start_ids = itertools.count(int(clock().timestamp()) % 1_000_000_000)
        # The requestId of a 1.6 UpdateFirmware or GetDiagnostics, the same way.
        self._request_ids = itertools.count(int(clock().timestamp()) % 1_000_000_000)
        self._table: Mapping[str, Translation] = {
            "SetChargingProfile": Translation("SetChargingProfile", self._set_profile,
                                              _status),
            "ClearChargingProfile": Translation("ClearChargingProfile", _clear_profile,
                                                _status),
            "GetCompositeSchedule": Translation("GetCompositeSchedule", _composite_request,
                                                _composite_answer),
            "Reset": Translation("Reset", _reset, _reset_answer),
            "RemoteStartTransaction": Translation("RequestStartTransaction", self._start,
                                                  lambda a: {"status": a["status"]}),
            "RemoteStopTransaction": Translation("RequestStopTransaction", self._stop,
                                                 _status),
            "TriggerMessage": Translation("TriggerMessage", _trigger, _status),
            "ChangeAvailability": Translation("ChangeAvailability", _availability, _status),
            "UnlockConnector": Translation("UnlockConnector", _unlock,
                                           lambda a: {"status": _UNLOCK[a["status"]]}),
            "ClearCache": Translation("ClearCache", _same, _status),
            "GetConfiguration": Translation("GetVariables", configuration.get_variables,
                                            configuration.configuration),
            "ChangeConfiguration": Translation("SetVariables", configuration.set_variables,
                                               configuration.changed),
            "DataTransfer": Translation("DataTransfer", _same, _same),
            "CertificateSigned": Translation("CertificateSigned", certificates.signed,
                                             _status),
            "InstallCertificate": Translation("InstallCertificate", certificates.install,
                                              _status),
            "GetInstalledCertificateIds": Translation(
                "GetInstalledCertificateIds", certificates.installed_ids,
                certificates.installed_ids_answer),
            "DeleteCertificate": Translation("DeleteCertificate", certificates.delete,
                                             _status),
            "ExtendedTriggerMessage": Translation("TriggerMessage",
                                                  self._extended_trigger, _status),
            "ReserveNow": Translation("ReserveNow", _reserve, _status),
            "CancelReservation": Translation("CancelReservation", _same, _status),
            "SendLocalList": Translation("SendLocalList", _local_list, _status),
            "GetLocalListVersion": Translation(
                "GetLocalListVersion", _same, lambda a: {"listVersion": a["versionNumber"]}),
            # L01 and N01: the security extension's forms are 2.0.1's, field for field.
            "SignedUpdateFirmware": Translation("UpdateFirmware", _same, _status),
            "GetLog": Translation("GetLog", _same, _log_answer),
            # 1.6 UpdateFirmware.conf is empty: the 2.0.1 status beside it says whether
            # anything starts (Rejected; AcceptedCanceled, another update cancelled).
            "UpdateFirmware": Translation("UpdateFirmware", self._update_firmware, _status),
            "GetDiagnostics": Translation("GetLog", self._diagnostics, _diagnostics_answer),
            **{action: Translation(action, _same, _same) for action in NATIVE_ACTIONS},
        }

    def translation(self, action: str) -> Translation:
        found = self._table.get(action)
        if found is None:
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{action} has no OCPP 2.0.1 form here")
        return found

    def _remote_id(self, transaction_id: Any, field: str) -> str:
        remote = self._ids.remote_id(int(transaction_id))
        if remote is None:
            raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                            f"{field}: the station's own id of transaction {transaction_id} "
                            "is not known here yet (it comes with its next TransactionEvent)")
        return remote

    def _set_profile(self, payload: JsonObject) -> JsonObject:
        """K01: the 1.6 profile in its 2.0.1 form, on the EVSE that is the 1.6 connector;
        a TxProfile names the station's transaction id."""
        profile = _parsed(payload["csChargingProfiles"])
        remote = None
        if profile.purpose is ChargingProfilePurpose.TX_PROFILE and (
                profile.transaction_id is not None):
            remote = self._remote_id(profile.transaction_id,
                                     "csChargingProfiles.transactionId")
        return {"evseId": payload["connectorId"],
                "chargingProfile": self._converted(profile, remote)}

    def _converted(self, profile: ChargingProfile, transaction_id: str | None, *,
                   starts_transaction: bool = False) -> JsonObject:
        """A 1.6 profile in its 2.0.1 form (``from_v16``), started (when it says no start)
        at the whole second it is sent, as a station's composite counts."""
        try:
            converted = from_v16(profile, transaction_id=transaction_id,
                                 sent_at=self._clock().replace(microsecond=0),
                                 starts_transaction=starts_transaction)
        except ConversionError as exc:
            raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(exc)) from None
        return converted.to_ocpp()

    def _start(self, payload: JsonObject) -> JsonObject:
        """F01/F02: the 1.6 idTag as an idToken of the type the request names (Central, set
        by the central system, when it names none: OCPP 2.0.1 IdTokenEnumType), the
        connector as the EVSE, a TxProfile in its 2.0.1 form (K05), and a remoteStartId of
        this process."""
        out: JsonObject = {"idToken": _id_token(payload["idTag"], payload.get("idTokenType")),
                           "remoteStartId": next(self._remote_start_ids)}
        if payload.get("connectorId") is not None:
            out["evseId"] = payload["connectorId"]
        if payload.get("chargingProfile") is not None:
            out["chargingProfile"] = self._converted(_parsed(payload["chargingProfile"]), None,
                                                     starts_transaction=True)
        return out

    @staticmethod
    def _extended_trigger(payload: JsonObject) -> JsonObject:
        """The security extension's ExtendedTriggerMessage is 2.0.1 TriggerMessage (F06):
        SignChargePointCertificate is SignChargingStationCertificate."""
        return _trigger({**payload, "requestedMessage": certificates.extended_trigger(
            payload["requestedMessage"])})

    def _update_firmware(self, payload: JsonObject) -> JsonObject:
        """L02: the 1.6 update (no signature) as a 2.0.1 UpdateFirmware of a requestId of
        this process; retrieveDate is the firmware's retrieveDateTime."""
        out: JsonObject = {"requestId": next(self._request_ids), "firmware": {
            "location": payload["location"], "retrieveDateTime": payload["retrieveDate"]}}
        return _retries(payload, out)

    def _diagnostics(self, payload: JsonObject) -> JsonObject:
        """N01: 1.6 GetDiagnostics is a GetLog of the DiagnosticsLog; its location,
        startTime and stopTime are the log's remoteLocation, oldestTimestamp and
        latestTimestamp."""
        log: JsonObject = {"remoteLocation": payload["location"]}
        for ours, theirs in (("startTime", "oldestTimestamp"), ("stopTime", "latestTimestamp")):
            if payload.get(ours) is not None:
                log[theirs] = payload[ours]
        out: JsonObject = {"logType": "DiagnosticsLog", "requestId": next(self._request_ids),
                           "log": log}
        return _retries(payload, out)

    def _stop(self, payload: JsonObject) -> JsonObject:
        return {"transactionId": self._remote_id(payload["transactionId"], "transactionId")}


def _parsed(raw: JsonObject) -> ChargingProfile:
    try:
        return ChargingProfile.from_ocpp(raw)
    except ProfileFormatError as exc:
        raise OcppError(ErrorCode.FORMAT_VIOLATION,
                        "; ".join(str(v) for v in exc.violations)) from None


def _clear_profile(payload: JsonObject) -> JsonObject:
    """K10: by id, or by criteria (the 1.6 connectorId is the EVSE)."""
    out: JsonObject = {}
    if payload.get("id") is not None:
        out["chargingProfileId"] = payload["id"]
    criteria: JsonObject = {}
    if payload.get("connectorId") is not None:
        criteria["evseId"] = payload["connectorId"]
    if payload.get("chargingProfilePurpose") is not None:
        criteria["chargingProfilePurpose"] = _PURPOSE[payload["chargingProfilePurpose"]]
    if payload.get("stackLevel") is not None:
        criteria["stackLevel"] = payload["stackLevel"]
    if criteria:
        out["chargingProfileCriteria"] = criteria
    return out


def _composite_request(payload: JsonObject) -> JsonObject:
    out: JsonObject = {"evseId": payload["connectorId"], "duration": payload["duration"]}
    if payload.get("chargingRateUnit") is not None:
        out["chargingRateUnit"] = payload["chargingRateUnit"]
    return out


def _composite_answer(answer: JsonObject) -> JsonObject:
    """K08: the 2.0.1 CompositeScheduleType as the 1.6 answer: connectorId, scheduleStart
    and a chargingSchedule of the same periods (phaseToUse has no 1.6 field)."""
    out = _status(answer)
    schedule = answer.get("schedule")
    if schedule is None:
        return out
    periods = []
    for period in schedule["chargingSchedulePeriod"]:
        item: JsonObject = {"startPeriod": period["startPeriod"], "limit": period["limit"]}
        if "numberPhases" in period:
            item["numberPhases"] = period["numberPhases"]
        periods.append(item)
    out["connectorId"] = schedule["evseId"]
    out["scheduleStart"] = schedule["scheduleStart"]
    out["chargingSchedule"] = {
        "duration": schedule["duration"], "startSchedule": schedule["scheduleStart"],
        "chargingRateUnit": schedule["chargingRateUnit"], "chargingSchedulePeriod": periods}
    return out


def _retries(payload: JsonObject, out: JsonObject) -> JsonObject:
    for name in ("retries", "retryInterval"):
        if payload.get(name) is not None:
            out[name] = payload[name]
    return out


def _log_answer(answer: JsonObject) -> JsonObject:
    """N01: the security extension's GetLog answer is 2.0.1's (the statusInfo beside)."""
    out = _status(answer)
    if "filename" in answer:
        out["filename"] = answer["filename"]
    return out


def _diagnostics_answer(answer: JsonObject) -> JsonObject:
    """1.6 GetDiagnostics.conf: the fileName, when the station names one; the 2.0.1
    status and statusInfo beside it."""
    out = _status(answer)
    if "filename" in answer:
        out["fileName"] = answer["filename"]
    return out


def _reset_answer(answer: JsonObject) -> JsonObject:
    # Scheduled: the station accepted and resets once its transactions end.
    return {"status": "Rejected" if answer["status"] == "Rejected" else "Accepted"}


def _reset(payload: JsonObject) -> JsonObject:
    """B11/B12: the whole station, or the EVSE the request names."""
    out: JsonObject = {"type": _RESET[payload["type"]]}
    if payload.get("evseId") is not None:
        out["evseId"] = payload["evseId"]
    return out


def _evse(payload: JsonObject) -> JsonObject | None:
    """The 2.0.1 EVSEType a request addresses: with ``evseId``, that EVSE and the
    connector within it (``connectorId``, 0 or absent: the whole EVSE); without, the 1.6
    ``connectorId`` as the EVSE (0 or absent: the whole station)."""
    if payload.get("evseId") is not None:
        evse: JsonObject = {"id": payload["evseId"]}
        if payload.get("connectorId"):
            evse["connectorId"] = payload["connectorId"]
        return evse
    if payload.get("connectorId"):
        return {"id": payload["connectorId"]}
    return None


def _trigger(payload: JsonObject) -> JsonObject:
    requested = payload["requestedMessage"]
    if requested not in _TRIGGER:
        raise OcppError(ErrorCode.NOT_SUPPORTED, f"TriggerMessage {requested} has no 2.0.1 form")
    out: JsonObject = {"requestedMessage": _TRIGGER[requested]}
    evse = _evse(payload)
    if evse is not None:
        out["evse"] = evse
    return out


def _availability(payload: JsonObject) -> JsonObject:
    """G03/G04: the whole station, an EVSE, or one connector of an EVSE."""
    out: JsonObject = {"operationalStatus": payload["type"]}
    evse = _evse(payload)
    if evse is not None:
        out["evse"] = evse
    return out


def _unlock(payload: JsonObject) -> JsonObject:
    # F05: a connector of an EVSE; with no evseId, the 1.6 connector is the EVSE and each
    # EVSE of a 1.6-shaped place has connector 1.
    if payload.get("evseId") is not None:
        return {"evseId": payload["evseId"], "connectorId": payload["connectorId"]}
    return {"evseId": payload["connectorId"], "connectorId": 1}


def _id_token(value: str, token_type: str | None) -> JsonObject:
    """A 1.6 idTag as a 2.0.1 IdTokenType: of the type the request names, Central (set by
    the central system) when it names none."""
    return {"idToken": value, "type": token_type or "Central"}


def _reserve(payload: JsonObject) -> JsonObject:
    """H01: the reservation's id, expiry and idToken; the 1.6 connectorId is the EVSE (0:
    any EVSE, the 2.0.1 request without evseId), parentIdTag the groupIdToken."""
    out: JsonObject = {"id": payload["reservationId"],
                       "expiryDateTime": payload["expiryDate"],
                       "idToken": _id_token(payload["idTag"], payload.get("idTokenType"))}
    if payload.get("connectorId"):
        out["evseId"] = payload["connectorId"]
    if payload.get("connectorType") is not None:
        out["connectorType"] = payload["connectorType"]
    if payload.get("parentIdTag") is not None:
        out["groupIdToken"] = _id_token(payload["parentIdTag"],
                                        payload.get("groupIdTokenType"))
    return out


def _local_list(payload: JsonObject) -> JsonObject:
    """D01/D02: the list's version and entries; each idTag as an idToken, its idTagInfo as
    IdTokenInfoType (expiryDate is cacheExpiryDateTime, parentIdTag the groupIdToken)."""
    out: JsonObject = {"versionNumber": payload["listVersion"],
                       "updateType": payload["updateType"]}
    entries = []
    for entry in payload.get("localAuthorizationList") or []:
        item: JsonObject = {"idToken": _id_token(entry["idTag"], entry.get("idTokenType"))}
        info = entry.get("idTagInfo")
        if info is not None:
            converted: JsonObject = {"status": info["status"]}
            if info.get("expiryDate") is not None:
                converted["cacheExpiryDateTime"] = info["expiryDate"]
            if info.get("parentIdTag") is not None:
                converted["groupIdToken"] = _id_token(info["parentIdTag"], None)
            item["idTokenInfo"] = converted
        entries.append(item)
    if entries:
        out["localAuthorizationList"] = entries
    return out
