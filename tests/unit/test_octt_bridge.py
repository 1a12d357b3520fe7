"""The tzi-OCTT trigger calls as chargeplan's REST requests (``chargeplan octt-bridge``)."""

from __future__ import annotations

import pytest

from app.cli.octt_bridge import Forward, Unsupported, password, translate

SID = "CP201_SP1"


def no_transactions(station_id: str, remote_id: str) -> int | None:
    return None


def known(station_id: str, remote_id: str) -> int | None:
    return {(SID, "tx-1"): 17}.get((station_id, remote_id))


def test_a_201_only_call_goes_to_its_command_as_it_is() -> None:
    body = {"requestId": 3, "chargingProfile": {"chargingProfilePurpose": "TxProfile"}}
    assert translate(SID, "call/GetChargingProfiles", body, no_transactions) == Forward(
        f"/stations/{SID}/commands/GetChargingProfiles", body)


def test_the_named_variable_triggers_are_get_and_set_variables() -> None:
    data = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}]
    assert translate(SID, "get-variables", {"getVariableData": data}, no_transactions) == (
        Forward(f"/stations/{SID}/commands/GetVariables", {"getVariableData": data}))
    assert translate(SID, "set-variables", {"setVariableData": data}, no_transactions).path == (
        f"/stations/{SID}/commands/SetVariables")


def test_reset_keeps_its_201_type_and_evse() -> None:
    assert translate(SID, "call/Reset", {"type": "Immediate"}, no_transactions).body == {
        "type": "Immediate"}
    assert translate(SID, "call/Reset", {"type": "OnIdle", "evseId": 1},
                     no_transactions) == Forward(f"/stations/{SID}/commands/Reset",
                                                 {"type": "OnIdle", "evseId": 1})


def test_trigger_message_keeps_its_201_value_and_the_connector_of_the_evse() -> None:
    assert translate(SID, "trigger-message", {"requestedMessage": "LogStatusNotification",
                                              "evse": {"id": 1}}, no_transactions).body == {
        "requestedMessage": "LogStatusNotification", "evseId": 1}
    assert translate(SID, "call/TriggerMessage", {
        "requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 2}},
        no_transactions).body == {"requestedMessage": "StatusNotification", "evseId": 1,
                                  "connectorId": 2}
    assert translate(SID, "call/TriggerMessage", {"requestedMessage": "TransactionEvent"},
                     no_transactions).body == {"requestedMessage": "TransactionEvent"}


def test_a_remote_start_keeps_the_id_tokens_type() -> None:
    forward = translate(SID, "call/RequestStartTransaction", {
        "idToken": {"idToken": "100000C01", "type": "ISO14443"}, "remoteStartId": 3,
        "evseId": 1}, no_transactions)
    assert forward == Forward(f"/stations/{SID}/commands/RemoteStartTransaction", {
        "idTag": "100000C01", "idTokenType": "ISO14443", "connectorId": 1})


def test_set_items_per_message_sets_the_stations_variables() -> None:
    forward = translate(SID, "set-items-per-message", {"get_variables": 4, "get_report": 2},
                        no_transactions)
    assert forward == Forward(f"/stations/{SID}/commands/SetVariables", {"setVariableData": [
        {"component": {"name": "DeviceDataCtrlr"},
         "variable": {"name": "ItemsPerMessage", "instance": "GetVariables"},
         "attributeValue": "4"},
        {"component": {"name": "DeviceDataCtrlr"},
         "variable": {"name": "ItemsPerMessage", "instance": "GetReport"},
         "attributeValue": "2"}]})
    with pytest.raises(Unsupported, match="names no message"):
        translate(SID, "set-items-per-message", {}, no_transactions)


def test_set_pending_boot_holds_the_station_and_releases_it() -> None:
    assert translate(SID, "set-pending-boot", {"pending": True}, no_transactions) == Forward(
        f"/stations/{SID}/hold", {"reason": "tzi-OCTT set-pending-boot"}, "PUT")
    assert translate(SID, "set-pending-boot", {"pending": False}, no_transactions) == Forward(
        f"/stations/{SID}/hold", None, "DELETE")


def test_a_201_profile_becomes_the_16_profile_of_chargeplans_transaction() -> None:
    profile = {"id": 5, "stackLevel": 1, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": "Relative", "transactionId": "tx-1",
               "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                                     "chargingSchedulePeriod": [
                                         {"startPeriod": 0, "limit": 8.0, "numberPhases": 3}]}]}
    forward = translate(SID, "call/SetChargingProfile", {"evseId": 1, "chargingProfile": profile},
                        known)
    assert forward == Forward(f"/stations/{SID}/commands/SetChargingProfile", {
        "connectorId": 1, "csChargingProfiles": {
            "chargingProfileId": 5, "stackLevel": 1, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative", "transactionId": 17,
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 8.0, "numberPhases": 3}]}}})
    with pytest.raises(Unsupported, match="not known"):
        translate(SID, "call/RequestStopTransaction", {"transactionId": "tx-2"}, known)


def test_clear_and_availability_address_the_evse_as_a_connector() -> None:
    assert translate(SID, "call/ClearChargingProfile", {"chargingProfileCriteria": {
        "evseId": 0, "chargingProfilePurpose": "ChargingStationMaxProfile"}},
        no_transactions).body == {"connectorId": 0,
                                  "chargingProfilePurpose": "ChargePointMaxProfile"}
    assert translate(SID, "call/ChangeAvailability", {"operationalStatus": "Inoperative"},
                     no_transactions).body == {"connectorId": 0, "type": "Inoperative"}
    assert translate(SID, "call/ChangeAvailability", {
        "operationalStatus": "Inoperative", "evse": {"id": 1, "connectorId": 1}},
        no_transactions).body == {"evseId": 1, "connectorId": 1, "type": "Inoperative"}
    assert translate(SID, "call/ChangeAvailability", {
        "operationalStatus": "Operative", "evse": {"id": 2}},
        no_transactions).body == {"evseId": 2, "connectorId": 0, "type": "Operative"}
    assert translate(SID, "call/UnlockConnector", {"evseId": 1, "connectorId": 2},
                     no_transactions).body == {"evseId": 1, "connectorId": 2}


def test_a_trigger_chargeplan_cannot_send_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="CostUpdated"):
        translate(SID, "call/CostUpdated", {}, no_transactions)
    with pytest.raises(Unsupported, match="set-network-thing"):
        translate(SID, "set-network-thing", {}, no_transactions)


def test_the_security_triggers_are_chargeplans_security_requests() -> None:
    assert translate(SID, "update-basic-auth-password", {}, no_transactions) == Forward(
        f"/stations/{SID}/password", None)
    assert translate(SID, "set-security-profile", {"security_profile": 3},
                     no_transactions) == Forward(f"/stations/{SID}/security_profile",
                                                 {"security_profile": 3}, "PUT")
    assert password({"station_id": SID, "password": "p" * 16}) == Forward(
        f"/stations/{SID}", {"password": "p" * 16}, "PATCH")
    ids = {"certificateType": ["CSMSRootCertificate"]}
    assert translate(SID, "call/GetInstalledCertificateIds", ids, no_transactions) == Forward(
        f"/stations/{SID}/commands/GetInstalledCertificateIds", ids)
    assert translate(SID, "trigger-message", {"requestedMessage": "SignV2GCertificate"},
                     no_transactions).body == {"requestedMessage": "SignV2GCertificate"}


def test_firmware_and_log_calls_are_the_security_extensions_or_the_16_ones() -> None:
    firmware = {"location": "https://example.com/fw.bin",
                "retrieveDateTime": "2030-01-07T08:00:00Z"}
    signed = {"requestId": 1, "firmware": {**firmware, "signingCertificate": "PEM",
                                           "signature": "c2ln"}}
    assert translate(SID, "call/UpdateFirmware", signed, no_transactions) == Forward(
        f"/stations/{SID}/commands/SignedUpdateFirmware", signed)
    assert translate(SID, "call/UpdateFirmware", {"requestId": 2, "retries": 3,
                                                  "firmware": firmware},
                     no_transactions) == Forward(f"/stations/{SID}/commands/UpdateFirmware", {
                         "location": firmware["location"],
                         "retrieveDate": firmware["retrieveDateTime"], "retries": 3})
    with pytest.raises(Unsupported, match="installDateTime"):
        translate(SID, "call/UpdateFirmware", {"requestId": 2, "firmware": {
            **firmware, "installDateTime": "2030-01-07T09:00:00Z"}}, no_transactions)
    log = {"logType": "DiagnosticsLog", "requestId": 1,
           "log": {"remoteLocation": "https://example.com/logs"}}
    assert translate(SID, "call/GetLog", log, no_transactions) == Forward(
        f"/stations/{SID}/commands/GetLog", log)
