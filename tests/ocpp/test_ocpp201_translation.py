"""The 2.0.1 adapter's translations, exactly: each call of the services (OCPP 1.6 action and
payload) becomes one 2.0.1 CALL that the ``ocpp`` package's own 2.0.1 validator accepts,
and each 2.0.1 answer becomes the 1.6 answer the services read."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from unittest.mock import ANY

import pytest
from ocpp.messages import get_validator

from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.v201 import Ocpp201, convert
from app.ocpp.v201.remote_ids import RemoteIds


@pytest.fixture
def adapter() -> Ocpp201:
    found = Ocpp201()
    found.remote_ids.learn(41, "CP-1", "3f2a-tx")
    return found


def valid_16(message_type: int, action: str, payload: dict[str, Any]) -> None:
    """Checked by the ``ocpp`` package's 1.6 schema as the package itself checks: numbers
    as Decimal (its validators are cached by action alone, and the ones with multipleOf
    0.1 are loaded with Decimal by the package's own validation)."""
    get_validator(message_type, action, "1.6", parse_float=Decimal).validate(
        json.loads(json.dumps(payload), parse_float=Decimal))


def sent(adapter: Ocpp201, action: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    call = adapter.outgoing(action, payload)
    get_validator(2, call.action, "2.0.1").validate(call.payload)
    return call.action, call.payload


MAX_PROFILE = {"chargingProfileId": 7, "stackLevel": 0,
               "chargingProfilePurpose": "ChargePointMaxProfile",
               "chargingProfileKind": "Absolute",
               "chargingSchedule": {"chargingRateUnit": "W",
                                    "startSchedule": "2030-01-07T08:00:00Z",
                                    "chargingSchedulePeriod": [
                                        {"startPeriod": 0, "limit": 11000.0},
                                        {"startPeriod": 3600, "limit": 7400, "numberPhases": 3}]}}


@pytest.mark.parametrize(("action", "payload", "expected"), [
    ("SetChargingProfile", {"connectorId": 0, "csChargingProfiles": MAX_PROFILE},
     ("SetChargingProfile", {"evseId": 0, "chargingProfile": {
         "id": 7, "stackLevel": 0, "chargingProfilePurpose": "ChargingStationMaxProfile",
         "chargingProfileKind": "Absolute", "chargingSchedule": [{
             "id": 1, "startSchedule": "2030-01-07T08:00:00Z", "chargingRateUnit": "W",
             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000},
                                        {"startPeriod": 3600, "limit": 7400,
                                         "numberPhases": 3}]}]}})),
    ("SetChargingProfile", {"connectorId": 2, "csChargingProfiles": {
        "chargingProfileId": 9, "stackLevel": 2, "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative", "transactionId": 41, "chargingSchedule": {
            "chargingRateUnit": "A", "duration": 600,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}}},
     ("SetChargingProfile", {"evseId": 2, "chargingProfile": {
         "id": 9, "stackLevel": 2, "chargingProfilePurpose": "TxProfile",
         "chargingProfileKind": "Relative", "transactionId": "3f2a-tx", "chargingSchedule": [{
             "id": 1, "duration": 600, "chargingRateUnit": "A",
             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}]}})),
    ("ClearChargingProfile", {"id": 9}, ("ClearChargingProfile", {"chargingProfileId": 9})),
    ("ClearChargingProfile", {"connectorId": 0, "chargingProfilePurpose": "ChargePointMaxProfile",
                              "stackLevel": 1},
     ("ClearChargingProfile", {"chargingProfileCriteria": {
         "evseId": 0, "chargingProfilePurpose": "ChargingStationMaxProfile", "stackLevel": 1}})),
    ("GetCompositeSchedule", {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
     ("GetCompositeSchedule", {"evseId": 1, "duration": 3600, "chargingRateUnit": "W"})),
    ("Reset", {"type": "Soft"}, ("Reset", {"type": "Immediate"})),
    # B11/B12: what a 2.0.1 station may be asked (app/services/fleet/v201_meanings.py).
    ("Reset", {"type": "OnIdle"}, ("Reset", {"type": "OnIdle"})),
    ("Reset", {"type": "Immediate", "evseId": 2}, ("Reset", {"type": "Immediate", "evseId": 2})),
    ("TriggerMessage", {"requestedMessage": "TransactionEvent", "evseId": 1},
     ("TriggerMessage", {"requestedMessage": "TransactionEvent", "evse": {"id": 1}})),
    ("TriggerMessage", {"requestedMessage": "StatusNotification", "evseId": 1, "connectorId": 2},
     ("TriggerMessage", {"requestedMessage": "StatusNotification",
                         "evse": {"id": 1, "connectorId": 2}})),
    ("ChangeAvailability", {"evseId": 1, "connectorId": 2, "type": "Inoperative"},
     ("ChangeAvailability", {"operationalStatus": "Inoperative",
                             "evse": {"id": 1, "connectorId": 2}})),
    ("ChangeAvailability", {"evseId": 1, "connectorId": 0, "type": "Operative"},
     ("ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 1}})),
    ("UnlockConnector", {"evseId": 1, "connectorId": 2},
     ("UnlockConnector", {"evseId": 1, "connectorId": 2})),
    ("RemoteStartTransaction", {"idTag": "04A2", "idTokenType": "ISO14443"},
     ("RequestStartTransaction", {"idToken": {"idToken": "04A2", "type": "ISO14443"},
                                  "remoteStartId": ANY})),
    ("RemoteStopTransaction", {"transactionId": 41},
     ("RequestStopTransaction", {"transactionId": "3f2a-tx"})),
    ("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 2},
     ("TriggerMessage", {"requestedMessage": "StatusNotification", "evse": {"id": 2}})),
    ("TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"},
     ("TriggerMessage", {"requestedMessage": "LogStatusNotification"})),
    ("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"},
     ("ChangeAvailability", {"operationalStatus": "Inoperative"})),
    ("UnlockConnector", {"connectorId": 2},
     ("UnlockConnector", {"evseId": 2, "connectorId": 1})),
    ("ClearCache", {}, ("ClearCache", {})),
    ("DataTransfer", {"vendorId": "acme", "messageId": "m", "data": "x"},
     ("DataTransfer", {"vendorId": "acme", "messageId": "m", "data": "x"})),
])
def test_a_call_of_the_services_is_one_201_call(
    adapter: Ocpp201, action: str, payload: dict[str, Any], expected: tuple[str, Any]
) -> None:
    assert sent(adapter, action, payload) == expected


@pytest.mark.parametrize(("action", "answer", "expected"), [
    ("SetChargingProfile", {"status": "Accepted"}, {"status": "Accepted"}),
    # The station's reason stays with the answer (the delivery keeps it).
    ("SetChargingProfile", {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidValue"}},
     {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidValue"}}),
    ("ClearChargingProfile", {"status": "Unknown"}, {"status": "Unknown"}),
    ("GetCompositeSchedule", {"status": "Rejected"}, {"status": "Rejected"}),
    ("GetCompositeSchedule", {"status": "Accepted", "schedule": {
        "evseId": 1, "duration": 3600, "scheduleStart": "2030-01-07T08:00:00Z",
        "chargingRateUnit": "A", "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
            {"startPeriod": 1800, "limit": 10.0, "phaseToUse": 2, "numberPhases": 1}]}},
     {"status": "Accepted", "connectorId": 1, "scheduleStart": "2030-01-07T08:00:00Z",
      "chargingSchedule": {"duration": 3600, "startSchedule": "2030-01-07T08:00:00Z",
                           "chargingRateUnit": "A", "chargingSchedulePeriod": [
                               {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
                               {"startPeriod": 1800, "limit": 10.0, "numberPhases": 1}]}}),
    ("Reset", {"status": "Scheduled"}, {"status": "Accepted"}),
    ("RemoteStopTransaction", {"status": "Rejected"}, {"status": "Rejected"}),
    ("TriggerMessage", {"status": "NotImplemented"}, {"status": "NotImplemented"}),
    ("ChangeAvailability", {"status": "Scheduled"}, {"status": "Scheduled"}),
    ("UnlockConnector", {"status": "UnknownConnector"}, {"status": "NotSupported"}),
    ("UnlockConnector", {"status": "OngoingAuthorizedTransaction"}, {"status": "UnlockFailed"}),
    ("DataTransfer", {"status": "UnknownVendorId"}, {"status": "UnknownVendorId"}),
])
def test_a_201_answer_is_the_16_answer_the_services_read(
    adapter: Ocpp201, action: str, answer: dict[str, Any], expected: dict[str, Any]
) -> None:
    translated = adapter.answer(action, answer)
    assert translated == expected
    shown = {k: v for k, v in translated.items() if k != "statusInfo"}
    valid_16(3, action, shown)


def test_an_absolute_profile_without_start_gets_the_second_it_is_sent(
    adapter: Ocpp201,
) -> None:
    profile = {**MAX_PROFILE, "chargingSchedule": {
        "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}]}}
    _, payload = sent(adapter, "SetChargingProfile",
                      {"connectorId": 0, "csChargingProfiles": profile})
    start = payload["chargingProfile"]["chargingSchedule"][0]["startSchedule"]
    assert start.endswith("Z") and "." not in start  # UTC, whole seconds


@pytest.mark.parametrize(("action", "payload", "code", "says"), [
    # No 2.0.1 form here (a call no service makes): refused before anything is sent.
    ("GetDiagnosticsNow", {"location": "ftp://logs.example.com/"}, ErrorCode.NOT_SUPPORTED,
     "no OCPP 2.0.1 form"),
    # A transaction whose station string was never heard here cannot be named.
    ("RemoteStopTransaction", {"transactionId": 99},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "transaction 99"),
    ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {
        **MAX_PROFILE, "chargingProfilePurpose": "TxProfile", "transactionId": 99}},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "transaction 99"),
    # A TxProfile needs its transaction in 2.0.1 (K01.FR.03).
    ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {
        **MAX_PROFILE, "chargingProfilePurpose": "TxProfile"}},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "K01.FR.03"),
    # The translated CALL is checked against its 2.0.1 schema: A or W.
    ("GetCompositeSchedule", {"connectorId": 1, "duration": 60, "chargingRateUnit": "kW"},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "chargingRateUnit"),
])
def test_a_call_with_no_201_form_is_refused_before_it_is_sent(
    adapter: Ocpp201, action: str, payload: dict[str, Any], code: ErrorCode, says: str
) -> None:
    with pytest.raises(OcppError) as refused:
        adapter.outgoing(action, payload)
    assert refused.value.code == code
    assert says in refused.value.description


@pytest.mark.parametrize(("action", "answer", "code"), [
    ("SetChargingProfile", {"status": "Maybe"}, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ("SetChargingProfile", {}, ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ("ClearChargingProfile", {"status": "Accepted", "extra": 1}, ErrorCode.FORMAT_VIOLATION),
    # The 1.6 spelling of the file name is not 2.0.1's.
    ("GetDiagnostics", {"status": "Accepted", "fileName": "x.log"}, ErrorCode.FORMAT_VIOLATION),
    ("GetLog", {"filename": "x.log"}, ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    # A firmware notification's status is not an answer's.
    ("UpdateFirmware", {"status": "InvalidSignature"}, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ("SignedUpdateFirmware", {"status": "Accepted", "statusInfo": {}},
     ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
])
def test_an_answer_breaking_its_201_schema_is_refused(
    adapter: Ocpp201, action: str, answer: dict[str, Any], code: ErrorCode
) -> None:
    with pytest.raises(OcppError) as refused:
        adapter.answer(action, answer)
    assert refused.value.code == code


def test_get_configuration_reads_the_variables_of_the_keys(adapter: Ocpp201) -> None:
    action, payload = sent(adapter, "GetConfiguration", {
        "key": ["ChargeProfileMaxStackLevel", "MaxChargingProfilesInstalled", "NoSuchKey"]})
    assert (action, payload) == ("GetVariables", {"getVariableData": [
        {"component": {"name": "SmartChargingCtrlr"},
         "variable": {"name": "ProfileStackLevel"}},
        {"component": {"name": "SmartChargingCtrlr"},
         "variable": {"name": "Entries", "instance": "ChargingProfiles"},
         "attributeType": "MaxSet"}]})
    everything = sent(adapter, "GetConfiguration", {})[1]["getVariableData"]
    assert len(everything) == 6

    answer = {"getVariableResult": [
        {"attributeStatus": "Accepted", "attributeValue": "true",
         "component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Enabled"}},
        {"attributeStatus": "Accepted", "attributeValue": "A,W",
         "component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "RateUnit"}},
        {"attributeStatus": "NotSupportedAttributeType", "attributeType": "MaxSet",
         "component": {"name": "SmartChargingCtrlr"},
         "variable": {"name": "Entries", "instance": "ChargingProfiles"}},
        {"attributeStatus": "Accepted", "attributeValue": "300",
         "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}
    read = adapter.answer("GetConfiguration", answer)
    assert read == {"configurationKey": [
        {"key": "SupportedFeatureProfiles", "readonly": True, "value": "SmartCharging"},
        {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True,
         "value": "Current,Power"},
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
        "unknownKey": ["MaxChargingProfilesInstalled"]}
    valid_16(3, "GetConfiguration", read)


def test_change_configuration_sets_the_keys_variable(adapter: Ocpp201) -> None:
    assert sent(adapter, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}) == (
        "SetVariables", {"setVariableData": [{
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "60"}]})
    assert adapter.answer("ChangeConfiguration", {"setVariableResult": [{
        "attributeStatus": "UnknownVariable", "component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": "HeartbeatInterval"}}]}) == {"status": "NotSupported"}
    for key in ("SecurityProfile", "ChargeProfileMaxStackLevel"):
        with pytest.raises(OcppError) as refused:
            adapter.outgoing("ChangeConfiguration", {"key": key, "value": "1"})
        assert refused.value.code == ErrorCode.NOT_SUPPORTED


def test_201_meter_values_become_16_sampled_values() -> None:
    values = [{"timestamp": "2030-01-07T08:00:00Z", "sampledValue": [
        {"value": 12.345, "measurand": "Energy.Active.Import.Register",
         "unitOfMeasure": {"unit": "kWh", "multiplier": 0}, "context": "Transaction.Begin"},
        {"value": 3, "measurand": "Current.Import", "phase": "L1",
         "unitOfMeasure": {"unit": "A", "multiplier": -1}, "location": "Outlet"}]}]
    assert convert.meter_values(values) == [{"timestamp": "2030-01-07T08:00:00Z",
                                             "sampledValue": [
        {"value": "12.345", "context": "Transaction.Begin",
         "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
        {"value": "0.3", "measurand": "Current.Import", "phase": "L1", "location": "Outlet",
         "unit": "A"}]}]
    assert convert.energy_wh(values) == 12345  # kWh read as Wh; per-phase values left out
    assert convert.energy_wh([{"timestamp": "2030-01-07T08:00:00Z", "sampledValue": [
        {"value": 7, "measurand": "Power.Active.Import"}]}]) is None


def test_a_transactions_events_are_new_once_and_none_after_its_end() -> None:
    ids = RemoteIds()
    ids.learn(5, "CP-1", "tx")
    assert [ids.first_time(5, n) for n in (0, 1, 1, 0, 2)] == [True, True, False, False, True]
    ids.ended(5, 3)
    assert [ids.first_time(5, n) for n in (2, 3)] == [False, False]
    # The same integer id in a new database, for another station's transaction.
    ids.learn(5, "CP-2", "other")
    assert (ids.remote_id(5), ids.first_time(5, 0)) == ("other", True)


def test_a_remote_start_is_a_request_start_with_an_id_of_its_own(adapter: Ocpp201) -> None:
    action, first = sent(adapter, "RemoteStartTransaction", {"idTag": "DRIVER-1",
                                                            "connectorId": 2})
    assert action == "RequestStartTransaction"
    assert (first["idToken"], first["evseId"]) == ({"idToken": "DRIVER-1", "type": "Central"}, 2)
    _, second = sent(adapter, "RemoteStartTransaction", {"idTag": "DRIVER-2"})
    assert "evseId" not in second
    assert second["remoteStartId"] == first["remoteStartId"] + 1
    # K05: a TxProfile given with the start goes in its 2.0.1 form.
    _, with_profile = sent(adapter, "RemoteStartTransaction", {
        "idTag": "DRIVER-3", "connectorId": 1, "chargingProfile": {
            "chargingProfileId": 9, "stackLevel": 1, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative", "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}}})
    profile = with_profile["chargingProfile"]
    assert (profile["id"], profile["chargingProfilePurpose"]) == (9, "TxProfile")
    assert profile["chargingSchedule"][0]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 10.0}]
    assert adapter.answer("RemoteStartTransaction", {
        "status": "Accepted", "transactionId": "tx-9"}) == {"status": "Accepted"}


# --- A, M: the security extension's certificate calls (app/ocpp/v201/certificates.py) ---

HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "aa" * 32, "issuerKeyHash": "bb" * 32,
        "serialNumber": "1f"}


@pytest.mark.parametrize(("action", "payload", "expected"), [
    # A02.FR.14: the type the station's SignCertificate named is echoed; none: combined.
    ("CertificateSigned", {"certificateChain": "PEM", "certificateType": "V2GCertificate"},
     ("CertificateSigned", {"certificateChain": "PEM", "certificateType": "V2GCertificate"})),
    ("CertificateSigned", {"certificateChain": "PEM"},
     ("CertificateSigned", {"certificateChain": "PEM"})),
    ("InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                            "certificate": "PEM"},
     ("InstallCertificate", {"certificateType": "CSMSRootCertificate", "certificate": "PEM"})),
    ("InstallCertificate", {"certificateType": "MORootCertificate", "certificate": "PEM"},
     ("InstallCertificate", {"certificateType": "MORootCertificate", "certificate": "PEM"})),
    ("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"},
     ("GetInstalledCertificateIds", {"certificateType": ["CSMSRootCertificate"]})),
    ("GetInstalledCertificateIds", {"certificateType": ["V2GCertificateChain",
                                                        "ManufacturerRootCertificate"]},
     ("GetInstalledCertificateIds", {"certificateType": ["V2GCertificateChain",
                                                         "ManufacturerRootCertificate"]})),
    ("GetInstalledCertificateIds", {}, ("GetInstalledCertificateIds", {})),
    ("DeleteCertificate", {"certificateHashData": HASH},
     ("DeleteCertificate", {"certificateHashData": HASH})),
    ("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"},
     ("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"})),
    ("ExtendedTriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1},
     ("TriggerMessage", {"requestedMessage": "StatusNotification", "evse": {"id": 1}})),
    ("TriggerMessage", {"requestedMessage": "SignV2GCertificate"},
     ("TriggerMessage", {"requestedMessage": "SignV2GCertificate"})),
    # A01.FR.02: the security profile 1 password is SecurityCtrlr.BasicAuthPassword.
    ("ChangeConfiguration", {"key": "AuthorizationKey", "value": "ab" * 20},
     ("SetVariables", {"setVariableData": [{
         "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"},
         "attributeValue": "ab" * 20}]})),
])
def test_a_certificate_call_of_the_services_is_its_201_call(
    adapter: Ocpp201, action: str, payload: dict[str, Any], expected: tuple[str, Any]
) -> None:
    assert sent(adapter, action, payload) == expected


@pytest.mark.parametrize(("action", "answer", "expected"), [
    ("CertificateSigned", {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidCert"}},
     {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidCert"}}),
    ("InstallCertificate", {"status": "Failed"}, {"status": "Failed"}),
    ("DeleteCertificate", {"status": "NotFound"}, {"status": "NotFound"}),
    ("ExtendedTriggerMessage", {"status": "Accepted"}, {"status": "Accepted"}),
    ("GetInstalledCertificateIds", {"status": "NotFound"}, {"status": "NotFound"}),
    ("GetInstalledCertificateIds", {"status": "Accepted", "certificateHashDataChain": [
        {"certificateType": "V2GCertificateChain", "certificateHashData": HASH,
         "childCertificateHashData": [{**HASH, "serialNumber": "2"}]}]},
     {"status": "Accepted", "certificateHashData": [HASH], "certificateHashDataChain": [
         {"certificateType": "V2GCertificateChain", "certificateHashData": HASH,
          "childCertificateHashData": [{**HASH, "serialNumber": "2"}]}]}),
])
def test_a_certificate_answer_is_the_16_answer_with_the_201_detail_beside_it(
    adapter: Ocpp201, action: str, answer: dict[str, Any], expected: dict[str, Any]
) -> None:
    translated = adapter.answer(action, answer)
    assert translated == expected
    valid_16(3, action, {k: v for k, v in translated.items()
                         if k not in ("statusInfo", "certificateHashDataChain")})


def test_the_password_is_written_never_read(adapter: Ocpp201) -> None:
    _, every_key = sent(adapter, "GetConfiguration", {})
    assert "BasicAuthPassword" not in json.dumps(every_key)
    with pytest.raises(OcppError) as refused:
        adapter.outgoing("GetConfiguration", {"key": ["AuthorizationKey"]})
    assert refused.value.code == ErrorCode.NOT_SUPPORTED


# --- L, N: firmware updates and log uploads ----------------------------------------------

SIGNED = {"requestId": 12, "retries": 3, "retryInterval": 60, "firmware": {
    "location": "https://fw.example.com/v2.bin", "retrieveDateTime": "2030-01-07T08:00:00Z",
    "installDateTime": "2030-01-07T09:00:00Z", "signingCertificate": "-----BEGIN CERT-----",
    "signature": "c2lnbmF0dXJl"}}
SECURITY_LOG = {"logType": "SecurityLog", "requestId": 13, "retries": 1, "retryInterval": 30,
                "log": {"remoteLocation": "ftp://logs.example.com/",
                        "oldestTimestamp": "2030-01-06T00:00:00Z",
                        "latestTimestamp": "2030-01-07T00:00:00Z"}}


@pytest.mark.parametrize(("action", "payload", "expected"), [
    # L01: the security extension's SignedUpdateFirmware is 2.0.1 UpdateFirmware.
    ("SignedUpdateFirmware", SIGNED, ("UpdateFirmware", SIGNED)),
    # N01: its GetLog is 2.0.1's.
    ("GetLog", SECURITY_LOG, ("GetLog", SECURITY_LOG)),
    # L02: 1.6 UpdateFirmware is the update without signature, of a requestId of ours.
    ("UpdateFirmware", {"location": "https://fw.example.com/v1.bin",
                        "retrieveDate": "2030-01-07T08:00:00Z", "retries": 2,
                        "retryInterval": 120},
     ("UpdateFirmware", {"requestId": ANY, "retries": 2, "retryInterval": 120, "firmware": {
         "location": "https://fw.example.com/v1.bin",
         "retrieveDateTime": "2030-01-07T08:00:00Z"}})),
    ("GetDiagnostics", {"location": "ftp://logs.example.com/", "retries": 1,
                        "startTime": "2030-01-06T00:00:00Z", "stopTime": "2030-01-07T00:00:00Z"},
     ("GetLog", {"logType": "DiagnosticsLog", "requestId": ANY, "retries": 1, "log": {
         "remoteLocation": "ftp://logs.example.com/", "oldestTimestamp": "2030-01-06T00:00:00Z",
         "latestTimestamp": "2030-01-07T00:00:00Z"}})),
    ("GetDiagnostics", {"location": "ftp://logs.example.com/"},
     ("GetLog", {"logType": "DiagnosticsLog", "requestId": ANY,
                 "log": {"remoteLocation": "ftp://logs.example.com/"}})),
])
def test_a_firmware_or_log_call_is_its_201_call(
    adapter: Ocpp201, action: str, payload: dict[str, Any], expected: tuple[str, Any]
) -> None:
    valid_16(2, action, payload)
    assert sent(adapter, action, payload) == expected


def test_an_unsigned_update_and_a_diagnostics_upload_get_request_ids_of_their_own(
    adapter: Ocpp201,
) -> None:
    _, first = sent(adapter, "UpdateFirmware", {"location": "https://fw.example.com/a.bin",
                                                "retrieveDate": "2030-01-07T08:00:00Z"})
    _, second = sent(adapter, "GetDiagnostics", {"location": "ftp://logs.example.com/"})
    _, third = sent(adapter, "UpdateFirmware", {"location": "https://fw.example.com/b.bin",
                                                "retrieveDate": "2030-01-07T08:00:00Z"})
    assert second["requestId"] == first["requestId"] + 1
    assert third["requestId"] == second["requestId"] + 1
    assert "signature" not in first["firmware"]


@pytest.mark.parametrize(("action", "answer", "expected", "beside"), [
    ("SignedUpdateFirmware", {"status": "InvalidCertificate",
                              "statusInfo": {"reasonCode": "NotTrusted"}},
     {"status": "InvalidCertificate", "statusInfo": {"reasonCode": "NotTrusted"}},
     ("statusInfo",)),
    ("SignedUpdateFirmware", {"status": "AcceptedCanceled"}, {"status": "AcceptedCanceled"},
     ()),
    ("GetLog", {"status": "Accepted", "filename": "cp-1-security.log"},
     {"status": "Accepted", "filename": "cp-1-security.log"}, ()),
    ("GetLog", {"status": "Rejected", "statusInfo": {"reasonCode": "Busy"}},
     {"status": "Rejected", "statusInfo": {"reasonCode": "Busy"}}, ("statusInfo",)),
    # 1.6 UpdateFirmware.conf and GetDiagnostics.conf have no status: it is kept beside.
    ("UpdateFirmware", {"status": "Rejected", "statusInfo": {"reasonCode": "Busy"}},
     {"status": "Rejected", "statusInfo": {"reasonCode": "Busy"}}, ("status", "statusInfo")),
    ("UpdateFirmware", {"status": "Accepted"}, {"status": "Accepted"}, ("status",)),
    ("GetDiagnostics", {"status": "Accepted", "filename": "cp-1-diagnostics.log"},
     {"status": "Accepted", "fileName": "cp-1-diagnostics.log"}, ("status",)),
    ("GetDiagnostics", {"status": "Rejected"}, {"status": "Rejected"}, ("status",)),
])
def test_a_firmware_or_log_answer_is_the_16_answer_with_the_201_detail_beside_it(
    adapter: Ocpp201, action: str, answer: dict[str, Any], expected: dict[str, Any],
    beside: tuple[str, ...],
) -> None:
    translated = adapter.answer(action, answer)
    assert translated == expected
    valid_16(3, action, {k: v for k, v in translated.items() if k not in beside})




@pytest.mark.parametrize(("action", "payload", "says"), [
    # 1.6 takes a location of any length; the 2.0.1 forms hold 512 characters.
    ("UpdateFirmware", {"location": "https://fw.example.com/" + "a" * 500,
                        "retrieveDate": "2030-01-07T08:00:00Z"}, "firmware.location"),
    ("GetDiagnostics", {"location": "ftp://logs.example.com/" + "a" * 500},
     "log.remoteLocation"),
])
def test_a_firmware_or_log_call_breaking_its_201_schema_is_refused(
    adapter: Ocpp201, action: str, payload: dict[str, Any], says: str
) -> None:
    valid_16(2, action, payload)
    with pytest.raises(OcppError) as refused:
        adapter.outgoing(action, payload)
    assert refused.value.code == ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert says in refused.value.description
