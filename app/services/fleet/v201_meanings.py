"""What an operator command's 1.6-shaped body may also say to an OCPP 2.0.1 station.

The commands' bodies are OCPP 1.6 payloads (``commands.py``); the 2.0.1 adapter translates
them. Where 2.0.1 can say more than 1.6, a body for a 2.0.1 station may say it too:

=======================  ==================================================================
action                   2.0.1 meaning
=======================  ==================================================================
RemoteStartTransaction   ``idTokenType``: the IdTokenEnumType of ``idTag`` (Central when
                         absent, as before)
Reset                    ``type`` Immediate or OnIdle (1.6 Hard and Soft are Immediate);
                         ``evseId``: reset that EVSE only (B11, B12)
ChangeAvailability,      ``evseId``: the EVSE, ``connectorId`` then the connector within it
TriggerMessage,          (0: the whole EVSE); without ``evseId`` the 1.6 ``connectorId``
UnlockConnector          names the EVSE, the place a 1.6 connector is
TriggerMessage           ``requestedMessage`` of MessageTriggerEnumType values 1.6 lacks
                         (TransactionEvent, LogStatusNotification,
                         SignChargingStationCertificate, SignV2GCertificate, ...)
InstallCertificate       ``certificateType`` of InstallCertificateUseEnumType values 1.6
                         lacks (CSMSRootCertificate, V2GRootCertificate, MORootCertificate)
GetInstalledCertificate  ``certificateType`` a list of GetCertificateIdUseEnumType values,
Ids                      a 2.0.1 value alone, or left out (every type; M03)
CertificateSigned        ``certificateType``: ChargingStationCertificate or V2GCertificate
                         (CertificateSigningUseEnumType)
ReserveNow               ``idTokenType`` of ``idTag``, ``groupIdTokenType`` of
                         ``parentIdTag`` (the groupIdToken; Central when absent), and
                         ``connectorType`` (ConnectorEnumType) to reserve any EVSE with
                         such a connector
SendLocalList            in each entry of ``localAuthorizationList``, ``idTokenType`` of its
                         ``idTag``, and an ``idTagInfo.status`` of the AuthorizationStatus
                         values only 2.0.1 has (NoCredit, NotAtThisLocation, ...)
any with ``idTag`` or    a token of 21 to 36 characters (a 2.0.1 idToken; a 1.6 idTag is
``parentIdTag``          a CiString20)
=======================  ==================================================================

The rest of the body is checked against the 1.6 schema as before; a 2.0.1 value stands in
as a 1.6 one for that check only. A 1.6 station gets none of them: the request is refused
naming each field. What 1.6 allows and 2.0.1 does not (a firmware or diagnostics
``location`` of over 512 characters) is refused for a 2.0.1 station only
(:func:`limits_201`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.protocol_rules import ID_TOKEN_LENGTH
from app.json_types import JsonObject

# OCPP 2.0.1 IdTokenEnumType.
ID_TOKEN_TYPES = ("Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local",
                  "MacAddress", "NoAuthorization")
# OCPP 2.0.1 AuthorizationStatusEnumType values with no 1.6 AuthorizationStatus
# counterpart.
AUTHORIZATION_STATUSES = ("NoCredit", "NotAllowedTypeEVSE", "NotAtThisLocation",
                          "NotAtThisTime", "Unknown")
# OCPP 2.0.1 ConnectorEnumType.
CONNECTOR_TYPES = ("cCCS1", "cCCS2", "cG105", "cTesla", "cType1", "cType2", "s309-1P-16A",
                   "s309-1P-32A", "s309-3P-16A", "s309-3P-32A", "sBS1361", "sCEE-7-7",
                   "sType2", "sType3", "Other1PhMax16A", "Other1PhOver16A", "Other3Ph", "Pan",
                   "wInductive", "wResonant", "Undetermined", "Unknown")
# OCPP 2.0.1 ResetEnumType.
RESET_TYPES = ("Immediate", "OnIdle")
# OCPP 2.0.1 MessageTriggerEnumType values with no 1.6 requestedMessage (1.6
# DiagnosticsStatusNotification is 2.0.1 LogStatusNotification: both are accepted).
TRIGGERS = ("LogStatusNotification", "PublishFirmwareStatusNotification",
            "SignChargingStationCertificate", "SignCombinedCertificate", "SignV2GCertificate",
            "TransactionEvent")
# OCPP 2.0.1 InstallCertificateUseEnumType, GetCertificateIdUseEnumType and
# CertificateSigningUseEnumType values with no 1.6 CertificateUseEnumType counterpart
# (1.6 CentralSystemRootCertificate is 2.0.1 CSMSRootCertificate: both are accepted).
INSTALL_TYPES = ("CSMSRootCertificate", "V2GRootCertificate", "MORootCertificate")
CERTIFICATE_ID_TYPES = ("V2GRootCertificate", "MORootCertificate", "CSMSRootCertificate",
                        "V2GCertificateChain", "ManufacturerRootCertificate")
SIGNING_TYPES = ("ChargingStationCertificate", "V2GCertificate")
_CERTIFICATE_USE_16 = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")
_EVSE_ACTIONS = ("ChangeAvailability", "TriggerMessage", "UnlockConnector")
# The 1.6 body fields that carry an id token, and a 1.6 idTag's length.
_TOKEN_FIELDS = ("idTag", "parentIdTag")
_ID_TAG_16 = 20
_ONLY_201 = "OCPP 2.0.1 only: the station speaks 1.6"
_NO_TYPE = "a 1.6 idTag has no type"
# A 1.6 UpdateFirmware's or GetDiagnostics' location (an anyURI of any length) is the 2.0.1
# firmware's location or log's remoteLocation: a string of at most 512 characters.
_LOCATION_201 = 512
_LOCATION_ACTIONS = ("UpdateFirmware", "GetDiagnostics")


@dataclass
class Meanings:
    """The 2.0.1 meanings a body uses, and what the 1.6 schema checks of it."""

    checked: JsonObject  # the body with a 1.6 value standing in for each 2.0.1 one
    used: list[tuple[str, str]] = field(default_factory=list)  # (field, why 1.6 lacks it)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field, rule broken)


def meanings(action: str, body: Mapping[str, Any]) -> Meanings:
    """The 2.0.1 meanings of ``body`` for ``action`` (fields spelt as the client wrote
    them), the problems of those given wrongly, and the body the 1.6 schema checks."""
    found = Meanings(dict(body))
    if action == "RemoteStartTransaction":
        _id_token_type(found, "idTokenType")
    elif action == "ReserveNow":
        _id_token_type(found, "idTokenType")
        _id_token_type(found, "groupIdTokenType")
        _one_of(found, "connectorType", "OCPP 1.6 reserves a connector by its id",
                CONNECTOR_TYPES, "ConnectorEnumType")
    elif action == "SendLocalList":
        _local_list(found)
    elif action == "Reset":
        _reset(found)
    if action in _EVSE_ACTIONS:
        _evse(found)
    if action == "TriggerMessage":
        _trigger(found)
    elif action == "InstallCertificate":
        _install_type(found)
    elif action == "GetInstalledCertificateIds":
        _certificate_id_types(found)
    elif action == "CertificateSigned":
        _signing_type(found)
    for name in _TOKEN_FIELDS:
        _long_token(found, name)
    return found


def limits_201(action: str, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (field, rule) pairs by which a 1.6 body that its schema accepts has no 2.0.1
    form (fields spelt as the client wrote them)."""
    location = body.get("location")
    if (action in _LOCATION_ACTIONS and isinstance(location, str)
            and len(location) > _LOCATION_201):
        return [("location", f"must have at most {_LOCATION_201} characters for an OCPP "
                             "2.0.1 station (its firmware location or log remoteLocation)")]
    return []


def _long_token(found: Meanings, name: str) -> None:
    value = found.checked.get(name)
    if not isinstance(value, str) or len(value) <= _ID_TAG_16:
        return
    found.used.append((name, f"over {_ID_TAG_16} characters is {_ONLY_201} (a 1.6 idTag is "
                             f"a CiString20)"))
    if len(value) > ID_TOKEN_LENGTH:
        found.problems.append((name, f"must have at most {ID_TOKEN_LENGTH} characters "
                                     "(OCPP 2.0.1 idToken)"))
    found.checked[name] = value[:_ID_TAG_16]


def _one_of(found: Meanings, name: str, instead: str, allowed: tuple[str, ...],
            enum: str) -> None:
    """A field only 2.0.1 has (``instead``: what 1.6 does without it), taken out of what
    the 1.6 schema checks; a problem unless it is one of ``allowed`` (2.0.1 ``enum``)."""
    if name in found.checked:
        _check_one_of(found, name, found.checked.pop(name), instead, allowed, enum)


def _check_one_of(found: Meanings, name: str, value: Any, instead: str,
                  allowed: tuple[str, ...], enum: str) -> None:
    found.used.append((name, f"{_ONLY_201} ({instead})"))
    if value not in allowed:
        found.problems.append((name, f"must be one of {', '.join(allowed)} (OCPP 2.0.1 "
                                     f"{enum})"))


def _id_token_type(found: Meanings, name: str) -> None:
    _one_of(found, name, _NO_TYPE, ID_TOKEN_TYPES, "IdTokenEnumType")


def _local_list(found: Meanings) -> None:
    entries = found.checked.get("localAuthorizationList")
    if not isinstance(entries, list):
        return  # the 1.6 schema names what is wrong
    checked = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            checked.append(entry)
            continue
        where = f"localAuthorizationList[{i}]"
        entry = dict(entry)
        if "idTokenType" in entry:
            _check_one_of(found, f"{where}.idTokenType", entry.pop("idTokenType"), _NO_TYPE,
                          ID_TOKEN_TYPES, "IdTokenEnumType")
        info = entry.get("idTagInfo")
        if isinstance(info, dict) and info.get("status") in AUTHORIZATION_STATUSES:
            found.used.append((f"{where}.idTagInfo.status",
                               f"{info['status']} is {_ONLY_201}"))
            entry["idTagInfo"] = {**info, "status": "Invalid"}
        value = entry.get("idTag")
        if isinstance(value, str) and len(value) > _ID_TAG_16:
            sub = Meanings({"idTag": value})
            _long_token(sub, "idTag")
            found.used.extend((f"{where}.{n}", why) for n, why in sub.used)
            found.problems.extend((f"{where}.{n}", why) for n, why in sub.problems)
            entry["idTag"] = sub.checked["idTag"]
        checked.append(entry)
    found.checked["localAuthorizationList"] = checked


def _reset(found: Meanings) -> None:
    if found.checked.get("type") in RESET_TYPES:
        found.used.append(("type", f"{found.checked['type']} is {_ONLY_201} (OCPP 1.6 "
                           "Reset is Hard or Soft)"))
        found.checked["type"] = "Hard"
    if "evseId" in found.checked:
        value = found.checked.pop("evseId")
        found.used.append(("evseId", f"{_ONLY_201} (OCPP 1.6 resets the whole charge point)"))
        if not _positive(value):
            found.problems.append(("evseId", "must be an integer >= 1 (an EVSE; leave it out "
                                   "to reset the whole station)"))


def _evse(found: Meanings) -> None:
    if "evseId" not in found.checked:
        return
    value = found.checked.pop("evseId")
    found.used.append(("evseId", f"{_ONLY_201} (OCPP 1.6 has no EVSEs: connectorId names "
                       "the connector)"))
    if not _positive(value):
        found.problems.append(("evseId", "must be an integer >= 1; leave it out to address "
                               "the whole station"))
    connector = found.checked.get("connectorId")
    if connector is not None and not (isinstance(connector, int) and connector >= 0):
        found.problems.append(("connectorId", "with evseId: the connector of the EVSE, an "
                               "integer >= 0 (0: the whole EVSE)"))


def _trigger(found: Meanings) -> None:
    requested = found.checked.get("requestedMessage")
    if requested in TRIGGERS:
        found.used.append(("requestedMessage", f"{requested} is {_ONLY_201}"))
        found.checked["requestedMessage"] = "Heartbeat"


def _install_type(found: Meanings) -> None:
    if found.checked.get("certificateType") in INSTALL_TYPES:
        found.used.append(("certificateType", f"{found.checked['certificateType']} is "
                           f"{_ONLY_201} (OCPP 1.6: {', '.join(_CERTIFICATE_USE_16)})"))
        found.checked["certificateType"] = _CERTIFICATE_USE_16[0]


def _certificate_id_types(found: Meanings) -> None:
    value = found.checked.get("certificateType")
    if value in _CERTIFICATE_USE_16:
        return
    if value is None:
        found.used.append(("certificateType", f"left out (every type) is {_ONLY_201} "
                           "(OCPP 1.6 asks for one type)"))
    elif isinstance(value, str) and value in CERTIFICATE_ID_TYPES:
        found.used.append(("certificateType", f"{value} is {_ONLY_201}"))
    elif isinstance(value, list):
        found.used.append(("certificateType", f"a list is {_ONLY_201} (OCPP 1.6 asks for "
                           "one type)"))
        if not value or any(item not in {*CERTIFICATE_ID_TYPES, *_CERTIFICATE_USE_16}
                            for item in value):
            found.problems.append(("certificateType", "a list of at least one of "
                                   f"{', '.join(CERTIFICATE_ID_TYPES)} (OCPP 2.0.1 "
                                   "GetCertificateIdUseEnumType)"))
    else:
        return  # the 1.6 schema names what is wrong
    found.checked["certificateType"] = _CERTIFICATE_USE_16[0]


def _signing_type(found: Meanings) -> None:
    _one_of(found, "certificateType", "an OCPP 1.6 charge point has one certificate",
            SIGNING_TYPES, "CertificateSigningUseEnumType")


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
