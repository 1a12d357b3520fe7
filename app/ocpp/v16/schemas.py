"""The official OCPP 1.6 JSON schemas, each compiled once, when first needed.

fastjsonschema turns each schema into Python code: about 9 us per MeterValues against
about 160 us for per-message ``jsonschema`` with a thread hop (the ``ocpp`` package's
default). Schema failures map to the OCPP-J 1.6 error codes (Table 7).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

import fastjsonschema
import ocpp.v16

from app.ocpp import schema_checks as checks
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.schema_checks import FORMATS, Validator, load_schema

# OCPP 1.6 §4: messages a charge point sends to the central system.
CHARGE_POINT_ACTIONS = (
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
    "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
    "StatusNotification", "StopTransaction",
)
# OCPP 1.6 §5: messages the central system sends (Core, FirmwareManagement,
# LocalAuthListManagement, Reservation, RemoteTrigger, SmartCharging).
CENTRAL_SYSTEM_ACTIONS = (
    "CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache",
    "ClearChargingProfile", "DataTransfer", "GetCompositeSchedule", "GetConfiguration",
    "GetDiagnostics", "GetLocalListVersion", "RemoteStartTransaction",
    "RemoteStopTransaction", "ReserveNow", "Reset", "SendLocalList", "SetChargingProfile",
    "TriggerMessage", "UnlockConnector", "UpdateFirmware",
)
# The security extension for 1.6 (OCA whitepaper "Improved security for OCPP 1.6-J"):
# messages a charger sends...
SECURITY_EXTENSION_ACTIONS = (
    "SecurityEventNotification", "SignCertificate", "LogStatusNotification",
    "SignedFirmwareStatusNotification",
)
# ...and messages the central system sends.
SECURITY_CENTRAL_SYSTEM_ACTIONS = (
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage",
    "GetInstalledCertificateIds", "GetLog", "InstallCertificate", "SignedUpdateFirmware",
)

_RULE_CODES = {
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    # CiStringNType is a data type of its own (OCPP 1.6 §7.15-7.19, errata §3.72).
    "maxLength": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "required": ErrorCode.PROTOCOL_ERROR,  # payload incomplete
    "minItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "additionalProperties": ErrorCode.FORMATION_VIOLATION,
    "enum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minimum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maximum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "multipleOf": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "format": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
}

_FORMATS = FORMATS
_SCHEMAS = resources.files(ocpp.v16).joinpath("schemas")  # imported, not named: the
# import contracts see who reads the package's schemas


def _load(name: str) -> dict[str, Any] | None:
    return load_schema(_SCHEMAS, name)


@functools.cache
def _compiled() -> tuple[Mapping[str, Validator], Mapping[str, Validator]]:
    """Request and response validators by action, each compiled the first time it is
    needed and kept for the process: a validator holds no state, so every app made in one
    process (the bench's nodes, the tests' servers) shares them."""
    actions = {*CHARGE_POINT_ACTIONS, *CENTRAL_SYSTEM_ACTIONS,
               *SECURITY_EXTENSION_ACTIONS, *SECURITY_CENTRAL_SYSTEM_ACTIONS}
    missing = checks.missing_schemas(
        _SCHEMAS, [action + suffix for action in actions for suffix in ("", "Response")])
    if missing:
        raise RuntimeError(f"the ocpp package lacks the 1.6 schemas {', '.join(missing)}")
    return (MappingProxyType(checks.CompiledOnFirstUse(actions, _lean_validator)),
            MappingProxyType(checks.CompiledOnFirstUse(
                actions, lambda action: _lean_validator(action + "Response"))))


def _lean_validator(name: str) -> Validator:
    schema = _load(name)
    assert schema is not None
    formats = dict(_FORMATS)
    return fastjsonschema.compile(_lean(schema, formats), formats=formats)


def _lean(schema: Any, formats: dict[str, Callable[[str], bool]]) -> Any:
    """``schema`` with each enum of strings checked by one set lookup (a format of its
    own) instead of fastjsonschema's chain of comparisons, one per allowed value (22 for
    a measurand, six times per MeterValues). It accepts exactly what ``schema`` accepts;
    a refusal is explained by the schema as written (:func:`_strict`)."""
    if isinstance(schema, list):
        return [_lean(item, formats) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _lean(value, formats) for key, value in schema.items()}
    allowed = schema.get("enum")
    if (schema.get("type") == "string" and "format" not in schema and isinstance(allowed, list)
            and allowed and all(type(value) is str for value in allowed)):
        name = f"enum-{len(formats)}"
        formats[name] = frozenset(allowed).__contains__
        del out["enum"]
        out["format"] = name
    return out


@functools.cache
def _strict(name: str) -> Validator:
    """The schema ``name`` compiled as written: what explains a refusal (its rule and
    message), compiled the first time one is needed."""
    schema = _load(name)
    assert schema is not None
    return fastjsonschema.compile(schema, formats=_FORMATS)


class SchemaRegistry:
    """Compiled request and response validators for every OCPP 1.6 action."""

    def __init__(self) -> None:
        self._requests, self._responses = _compiled()

    def request_schema(self, action: str) -> dict[str, Any]:
        schema = _load(action)
        if schema is None:
            raise KeyError(action)
        return schema

    def validate_request(self, action: str, payload: dict[str, Any]) -> None:
        try:
            self._requests[action](payload)
        except fastjsonschema.JsonSchemaValueException:
            self._explain(action, action, payload)

    def validate_response(self, action: str, payload: dict[str, Any]) -> None:
        try:
            self._responses[action](payload)
        except fastjsonschema.JsonSchemaValueException:
            self._explain(action + "Response", action + ".conf", payload)

    @staticmethod
    def _explain(name: str, what: str, payload: dict[str, Any]) -> None:
        """Raise the OcppError for a payload the lean validator refused, as the schema
        written names it (rule, field, message)."""
        try:
            _strict(name)(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise schema_error(exc, what) from None


def schema_error(exc: fastjsonschema.JsonSchemaValueException, what: str) -> OcppError:
    return checks.schema_error(exc, what, _RULE_CODES, ErrorCode.FORMATION_VIOLATION)
