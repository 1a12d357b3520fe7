"""The official OCPP 1.6 JSON schemas, compiled once at start-up.

fastjsonschema turns each schema into Python code: about 9 us per MeterValues against
about 160 us for per-message ``jsonschema`` with a thread hop (the ``ocpp`` package's
default). Schema failures map to the OCPP-J 1.6 error codes (Table 7).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import resources
from types import MappingProxyType
from typing import Any

import fastjsonschema
import ocpp.v16

from app.ocpp.errors import ErrorCode, OcppError

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

Validator = Callable[[Any], Any]


def _iso_datetime(value: str) -> bool:
    """OCPP 1.6 §7 dateTime: ISO 8601. UTC with an offset is RECOMMENDED, not required:
    chargers that send local time without an offset are read as UTC (the ``ocpp``
    package does not check the format at all; RFC 3339's strict form would refuse them)."""
    if len(value) < 16 or value[10] not in "Tt ":
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


_FORMATS: dict[str, Callable[[str], bool]] = {"date-time": _iso_datetime}


def _load(name: str) -> dict[str, Any] | None:
    # Imported, not named: the import contracts see who reads the package's schemas.
    path = resources.files(ocpp.v16).joinpath("schemas", f"{name}.json")
    if not path.is_file():
        return None
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    schema.pop("$schema", None)
    schema.pop("id", None)
    return schema


@functools.cache
def _compiled() -> tuple[Mapping[str, Validator], Mapping[str, Validator]]:
    """Request and response validators by action. Compiled once per process: compiling
    all of them takes about half a second, and a validator holds no state, so every app
    made in one process (the bench's nodes, the tests' servers) shares them."""
    requests: dict[str, Validator] = {}
    responses: dict[str, Validator] = {}
    for action in {*CHARGE_POINT_ACTIONS, *CENTRAL_SYSTEM_ACTIONS,
                   *SECURITY_EXTENSION_ACTIONS, *SECURITY_CENTRAL_SYSTEM_ACTIONS}:
        for suffix, table in (("", requests), ("Response", responses)):
            schema = _load(action + suffix)
            if schema is None:
                raise RuntimeError(f"the ocpp package lacks the 1.6 schema {action}{suffix}")
            table[action] = fastjsonschema.compile(schema, formats=_FORMATS)
    return MappingProxyType(requests), MappingProxyType(responses)


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
        self._validate(self._requests[action], action, payload)

    def validate_response(self, action: str, payload: dict[str, Any]) -> None:
        self._validate(self._responses[action], action + ".conf", payload)

    @staticmethod
    def _validate(validator: Validator, what: str, payload: dict[str, Any]) -> None:
        try:
            validator(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise schema_error(exc, what) from None


def field_path(exc: fastjsonschema.JsonSchemaValueException) -> str:
    name = exc.name or "data"
    return name[5:] if name.startswith("data.") else ("payload" if name == "data" else name)


def schema_error(exc: fastjsonschema.JsonSchemaValueException, what: str) -> OcppError:
    code = _RULE_CODES.get(exc.rule or "", ErrorCode.FORMATION_VIOLATION)
    path = field_path(exc)
    message = exc.message.replace(exc.name or "data", path, 1) if exc.message else "invalid"
    return OcppError(code, f"{what}: {message}", {"field": path, "rule": exc.rule})
