"""The official OCPP 2.0.1 JSON schemas (the ``ocpp`` package's, with the 2024 errata),
each compiled once per process when first needed, strict both ways: every type of the
2.0.1 schemas but CustomDataType forbids additional properties, so a frame with a field
the schema does not name is refused, whichever side built it.

Schema failures map to the error codes of an OCPP-J 2.0.1 CALLERROR: the 1.6 codes but
two, spelled ``FormatViolation`` and ``OccurrenceConstraintViolation`` there, and a
missing required field is an occurrence constraint broken (1.6 called it ProtocolError,
"payload incomplete"; 2.0.1 keeps ProtocolError for a frame that is not the PDU's shape).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

import fastjsonschema
import ocpp.v201

from app.ocpp import schema_checks as checks
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.schema_checks import FORMATS, Validator, load_schema

# OCPP 2.0.1 Part 2: messages a charging station sends to the CSMS.
STATION_ACTIONS = (
    "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer",
    "FirmwareStatusNotification", "Get15118EVCertificate", "GetCertificateStatus",
    "Heartbeat", "LogStatusNotification", "MeterValues", "NotifyChargingLimit",
    "NotifyCustomerInformation", "NotifyDisplayMessages", "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport", "NotifyReport",
    "PublishFirmwareStatusNotification", "ReportChargingProfiles", "ReservationStatusUpdate",
    "SecurityEventNotification", "SignCertificate", "StatusNotification", "TransactionEvent",
)
# ...and messages the CSMS sends to a charging station.
CSMS_ACTIONS = (
    "CancelReservation", "CertificateSigned", "ChangeAvailability", "ClearCache",
    "ClearChargingProfile", "ClearDisplayMessage", "ClearVariableMonitoring", "CostUpdated",
    "CustomerInformation", "DataTransfer", "DeleteCertificate", "GetBaseReport",
    "GetChargingProfiles", "GetCompositeSchedule", "GetDisplayMessages",
    "GetInstalledCertificateIds", "GetLocalListVersion", "GetLog", "GetMonitoringReport",
    "GetReport", "GetTransactionStatus", "GetVariables", "InstallCertificate",
    "PublishFirmware", "RequestStartTransaction", "RequestStopTransaction", "ReserveNow",
    "Reset", "SendLocalList", "SetChargingProfile", "SetDisplayMessage", "SetMonitoringBase",
    "SetMonitoringLevel", "SetNetworkProfile", "SetVariableMonitoring", "SetVariables",
    "TriggerMessage", "UnlockConnector", "UnpublishFirmware", "UpdateFirmware",
)

_RULE_CODES = {
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "maxLength": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "required": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "minItems": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "additionalProperties": ErrorCode.FORMAT_VIOLATION,
    "enum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minimum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maximum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "multipleOf": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "format": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
}

_FORMATS = FORMATS
_SCHEMAS = resources.files(ocpp.v201).joinpath("schemas")  # imported, not named: the
# import contracts see who reads the package's schemas


def _load(name: str) -> dict[str, Any] | None:
    return load_schema(_SCHEMAS, name)


@functools.cache
def _compiled() -> tuple[Mapping[str, Validator], Mapping[str, Validator]]:
    """Request and response validators by action, each compiled the first time it is
    needed and kept for the process (every server made in one process shares them: a
    validator holds no state)."""
    actions = {*STATION_ACTIONS, *CSMS_ACTIONS}
    missing = checks.missing_schemas(
        _SCHEMAS, [action + suffix for action in actions for suffix in ("Request", "Response")])
    if missing:
        raise RuntimeError(f"the ocpp package lacks the 2.0.1 schemas {', '.join(missing)}")
    return (MappingProxyType(checks.CompiledOnFirstUse(
                actions, lambda action: _validator(action + "Request"))),
            MappingProxyType(checks.CompiledOnFirstUse(
                actions, lambda action: _validator(action + "Response"))))


def _validator(name: str) -> Validator:
    schema = _load(name)
    assert schema is not None
    return fastjsonschema.compile(schema, formats=_FORMATS)


class SchemaRegistry:
    """Compiled request and response validators for every OCPP 2.0.1 action."""

    def __init__(self) -> None:
        self._requests, self._responses = _compiled()

    def validate_request(self, action: str, payload: dict[str, Any]) -> None:
        self._check(self._requests, action, action + "Request", payload)

    def validate_response(self, action: str, payload: dict[str, Any]) -> None:
        self._check(self._responses, action, action + "Response", payload)

    @staticmethod
    def _check(table: Mapping[str, Validator], action: str, what: str,
               payload: dict[str, Any]) -> None:
        try:
            validator = table[action]
        except KeyError:
            raise OcppError(ErrorCode.NOT_IMPLEMENTED, f"no OCPP 2.0.1 action {action!r}") from None
        try:
            validator(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise schema_error(exc, what) from None


def schema_error(exc: fastjsonschema.JsonSchemaValueException, what: str) -> OcppError:
    return checks.schema_error(exc, what, _RULE_CODES, ErrorCode.FORMAT_VIOLATION)
