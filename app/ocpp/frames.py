"""OCPP-J framing (OCPP-J 1.6 §4): parse one websocket text frame, render frames.

Pure functions: no I/O. Parsing never raises anything but :class:`FrameError`, which
says which CALLERROR (if any) the spec wants sent back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from app.ocpp.errors import ErrorCode

CALL = 2
CALLRESULT = 3
CALLERROR = 4
MESSAGE_TYPE_NAMES = {CALL: "CALL", CALLRESULT: "CALLRESULT", CALLERROR: "CALLERROR"}
# OCPP-J 1.6 §4.1.4: the unique id is a string of at most 36 characters.
MAX_UNIQUE_ID = 36
# Arrays and objects nested in one frame, the frame's own array included. The deepest
# OCPP 1.6 message (MeterValues, StopTransaction.transactionData, SetChargingProfile)
# reaches 6: frame, payload, meterValue list, MeterValue, sampledValue list, SampledValue.
# A few levels of margin for CALLERROR details; anything deeper is no OCPP message, and
# at 255 levels it cannot even be encoded again for the audit trail.
MAX_DEPTH = 10


@dataclass(frozen=True, slots=True)
class Call:
    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    unique_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallError:
    unique_id: str
    code: str
    description: str
    details: dict[str, Any]


Frame = Call | CallResult | CallError


class FrameError(Exception):
    """A frame that cannot be used.

    ``reply`` is False when the spec wants the frame ignored (OCPP-J 1.6 §4.1.3: unknown
    message type) or when no unique id can be read to address a CALLERROR to.
    """

    def __init__(
        self,
        code: ErrorCode,
        description: str,
        unique_id: Any = None,
        *,
        reply: bool = True,
        message_type: str = "INVALID",
        action: str | None = None,
        payload: Any = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.unique_id = unique_id
        self.reply = reply and unique_id is not None
        self.message_type = message_type
        self.action = action
        self.payload = payload


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def parse(text: str) -> Frame:
    """Parse one text frame into a Call, CallResult or CallError."""
    try:
        # orjson refuses NaN/Infinity tokens and invalid UTF-8, as RFC 8259 requires,
        # and limits nesting depth (1024), so a 10,000-deep array cannot exhaust the stack.
        msg = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, f"frame is not valid JSON: {exc}") from None
    if not isinstance(msg, list) or not msg:
        raise FrameError(
            ErrorCode.FORMATION_VIOLATION, "frame is not an OCPP-J array [MessageTypeId, ...]"
        )
    unique_id = _readable_id(msg)
    # Counting brackets is C-fast and bounds the depth from above: most frames stop here.
    if text.count("[") + text.count("{") > MAX_DEPTH and too_deep(msg, MAX_DEPTH):
        kind = msg[0]
        raise FrameError(
            ErrorCode.FORMATION_VIOLATION,
            f"frame nested deeper than {MAX_DEPTH} levels: no OCPP 1.6 message is",
            unique_id, message_type=MESSAGE_TYPE_NAMES.get(kind, "INVALID")
            if type(kind) is int else "INVALID",
            # Only a CALL is answered (OCPP-J 1.6 §4.2.3).
            reply=kind == CALL,
        )
    kind = msg[0]
    if type(kind) is not int:
        raise FrameError(
            ErrorCode.FORMATION_VIOLATION,
            f"MessageTypeId must be the number 2, 3 or 4, got {kind!r}",
            unique_id,
        )
    if kind not in MESSAGE_TYPE_NAMES:
        # OCPP-J 1.6 §4.1.3: a message with an unknown MessageTypeId is ignored.
        raise FrameError(
            ErrorCode.PROTOCOL_ERROR, f"unknown MessageTypeId {kind}: frame ignored", unique_id,
            reply=False,
        )
    name = MESSAGE_TYPE_NAMES[kind]
    expected = {CALL: 4, CALLRESULT: 3, CALLERROR: 5}[kind]
    if len(msg) != expected:
        raise FrameError(
            ErrorCode.FORMATION_VIOLATION,
            f"a {name} has {expected} elements, this frame has {len(msg)}",
            unique_id, message_type=name,
            # A malformed answer is never answered: there is no CALLERROR for a CALLERROR.
            reply=kind == CALL,
        )
    _check_unique_id(msg[1], name, kind)
    if kind == CALL:
        action, payload = msg[2], msg[3]
        if not isinstance(action, str) or not action:
            raise FrameError(ErrorCode.FORMATION_VIOLATION, "Action must be a non-empty string",
                             msg[1], message_type=name)
        if not isinstance(payload, dict):
            raise FrameError(ErrorCode.FORMATION_VIOLATION,
                             f"payload of {action} must be a JSON object",
                             msg[1], message_type=name, action=action, payload=payload)
        return Call(msg[1], action, payload)
    if kind == CALLRESULT:
        if not isinstance(msg[2], dict):
            raise FrameError(ErrorCode.FORMATION_VIOLATION, "CALLRESULT payload must be an object",
                             msg[1], reply=False, message_type=name, payload=msg[2])
        return CallResult(msg[1], msg[2])
    code, description, details = msg[2], msg[3], msg[4]
    if not isinstance(code, str) or not isinstance(description, str) or not isinstance(
        details, dict
    ):
        raise FrameError(ErrorCode.FORMATION_VIOLATION,
                         "CALLERROR needs errorCode (string), description (string), details",
                         msg[1], reply=False, message_type=name)
    return CallError(msg[1], code, description, details)


def too_deep(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels in ``value`` (a list or
    dict). Depth first, stopping at the first path that is too deep: no list of a level's
    containers is built, and the recursion is at most ``limit`` calls deep."""
    if limit <= 0:
        return True
    for child in value.values() if type(value) is dict else value:
        kind = type(child)
        if (kind is list or kind is dict) and too_deep(child, limit - 1):
            return True
    return False


def _readable_id(msg: list[Any]) -> Any:
    """The id a CALLERROR can be addressed to: echoed as sent, even when malformed
    (a numeric or over-long id), so the sender can still match the error to its CALL."""
    if len(msg) >= 2 and isinstance(msg[1], str | int) and not isinstance(msg[1], bool):
        return msg[1]
    return None


def _check_unique_id(value: Any, name: str, kind: int) -> None:
    # Only a CALL is answered; a malformed CALLRESULT/CALLERROR is audited and dropped.
    reply_id = value if kind == CALL and isinstance(value, str | int) else None
    if not isinstance(value, str):
        raise FrameError(ErrorCode.FORMATION_VIOLATION,
                         f"UniqueId must be a string, got {type(value).__name__}",
                         reply_id, message_type=name)
    if not value or len(value) > MAX_UNIQUE_ID:
        raise FrameError(ErrorCode.FORMATION_VIOLATION,
                         f"UniqueId must be 1 to {MAX_UNIQUE_ID} characters, got {len(value)}",
                         reply_id, message_type=name)


def call(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return orjson.dumps([CALL, unique_id, action, payload]).decode()


def call_result(unique_id: str, payload: dict[str, Any]) -> str:
    return orjson.dumps([CALLRESULT, unique_id, payload]).decode()


def call_error(
    unique_id: Any, code: str, description: str, details: dict[str, Any] | None = None
) -> str:
    return orjson.dumps([CALLERROR, unique_id, code, description, details or {}]).decode()
