"""What the audit, the REST access log and command answers keep of a secret: ``***``,
for OCPP 1.6's AuthorizationKey and OCPP 2.0.1's BasicAuthPassword and network profile
secrets; every other value as it is."""

from __future__ import annotations

from app.domain.access import mask_secrets
from app.domain.device_model import attribute_of_result, attributes_of_report
from app.ocpp.audit import redact

SECRET = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
HEARTBEAT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


def test_ocpp16_authorization_key_is_masked_set_or_reported() -> None:
    assert redact("ChangeConfiguration", {"key": "AuthorizationKey", "value": "abc"}) == {
        "key": "AuthorizationKey", "value": "***"}
    assert redact("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}) == {
        "key": "HeartbeatInterval", "value": "60"}
    reported = redact("GetConfiguration", {"configurationKey": [
        {"key": "AuthorizationKey", "readonly": False, "value": "abc"},
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"}]})
    assert [k["value"] for k in reported["configurationKey"]] == ["***", "60"]


def test_ocpp201_basic_auth_password_is_masked_in_every_message_that_carries_it() -> None:
    sent = redact("SetVariables", {"setVariableData": [
        {**SECRET, "attributeValue": "s3cret"}, {**HEARTBEAT, "attributeValue": "60"}]})
    assert [d["attributeValue"] for d in sent["setVariableData"]] == ["***", "60"]
    answered = redact("GetVariables", {"getVariableResult": [
        {**SECRET, "attributeStatus": "Accepted", "attributeValue": "s3cret"}]})
    assert answered["getVariableResult"][0]["attributeValue"] == "***"
    page = redact("NotifyReport", {"requestId": 1, "seqNo": 0, "reportData": [
        {**SECRET, "variableAttribute": [{"type": "Actual", "value": "s3cret"}]},
        {**HEARTBEAT, "variableAttribute": [{"type": "Actual", "value": "60"}]}]})
    assert [d["variableAttribute"][0]["value"] for d in page["reportData"]] == ["***", "60"]
    # The names themselves stay: an operator still sees which variable was set.
    assert sent["setVariableData"][0]["variable"] == {"name": "BasicAuthPassword"}


def test_ocpp201_network_profile_secrets_are_masked_and_the_rest_kept() -> None:
    profile = {"configurationSlot": 1, "connectionData": {
        "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "wss://csms/",
        "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wireless0",
        "vpn": {"server": "vpn.example", "user": "cp", "password": "p", "key": "k",
                "type": "IPSec"},
        "apn": {"apn": "internet", "apnPassword": "a", "simPin": 1234,
                "apnAuthentication": "AUTO"}}}
    data = redact("SetNetworkProfile", profile)["connectionData"]
    assert data["vpn"] == {"server": "vpn.example", "user": "cp", "password": "***",
                           "key": "***", "type": "IPSec"}
    assert data["apn"] == {"apn": "internet", "apnPassword": "***", "simPin": "***",
                           "apnAuthentication": "AUTO"}
    assert data["ocppCsmsUrl"] == "wss://csms/" and data["securityProfile"] == 2


def test_other_actions_are_kept_as_they_are() -> None:
    meter = {"evseId": 1, "meterValue": [{"sampledValue": [{"value": 12.5}]}]}
    assert redact("MeterValues", meter) is meter
    # A REST body naming a password field anywhere is masked (the access log's rule).
    assert mask_secrets({"station": {"password": "x"}, "name": "y"}) == {
        "station": {"password": "***"}, "name": "y"}


def test_the_device_model_keeps_a_reported_secret_masked() -> None:
    (attribute,) = attributes_of_report([
        {**SECRET, "variableAttribute": [{"type": "Actual", "value": "s3cret"}]}])
    assert attribute.value == "***"
    result = attribute_of_result({**SECRET, "attributeStatus": "Accepted",
                                  "attributeValue": "s3cret"})
    assert result is not None and result.value == "***"
    other = attribute_of_result({**HEARTBEAT, "attributeStatus": "Accepted",
                                 "attributeValue": "60"})
    assert other is not None and other.value == "60"
