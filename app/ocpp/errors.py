"""OCPP-J 1.6 error codes (OCPP-J 1.6 §4.2.3, Table 7) and the exceptions that carry them.

The 1.6 names differ from 2.x: FormationViolation (not FormatViolation), and the
spec's own spelling OccurenceConstraintViolation. The 2.0.1 spellings are members too:
a version adapter spells the codes of its CALLERRORs (``ProtocolAdapter.error_code``).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_IMPLEMENTED = "NotImplemented"  # requested Action is not known by receiver
    NOT_SUPPORTED = "NotSupported"  # Action is recognized but not supported by the receiver
    INTERNAL_ERROR = "InternalError"
    PROTOCOL_ERROR = "ProtocolError"  # payload for Action is incomplete
    SECURITY_ERROR = "SecurityError"
    FORMATION_VIOLATION = "FormationViolation"  # syntactically incorrect / not the PDU shape
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    GENERIC_ERROR = "GenericError"
    # OCPP-J 2.0.1 spells these two codes so.
    FORMAT_VIOLATION = "FormatViolation"
    OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"


class OcppError(Exception):
    """Raised while handling an inbound CALL: answered with this CALLERROR."""

    def __init__(self, code: ErrorCode, description: str, details: dict[str, object] | None = None):
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details or {}
