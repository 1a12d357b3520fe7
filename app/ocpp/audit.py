"""Audit rows for OCPP-J frames: one record per frame, written by the batch writer.

A record is a tuple of the ``audit_log`` columns in table order (``COLUMNS``) with the
payload as JSON text, encoded here, once, on the connection's task: the writer neither
encodes it again nor keeps a dict per frame, and a queued row is a handful of objects the
collector does not track instead of the frame's nested dicts and lists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson

from app.domain.access import mask_secrets

# The audit_log columns but id, in table order (tests check it against the model).
COLUMNS: Final = (
    "ts", "station_id", "direction", "message_type", "unique_id", "action", "payload",
    "raw", "raw_length", "raw_sha256", "error_code", "error_description", "rtt_ms",
    "desired_profile_id", "job_run_id",
)
MESSAGE_TYPE: Final = COLUMNS.index("message_type")
ACTION: Final = COLUMNS.index("action")
PAYLOAD: Final = COLUMNS.index("payload")
Record = tuple[Any, ...]

# The actions whose payloads can carry a secret (OCPP 1.6 security profile 1's
# AuthorizationKey set through ChangeConfiguration, or reported by a station that should
# not; OCPP 2.0.1 SecurityCtrlr.BasicAuthPassword, a network profile's VPN and APN
# secrets): never audited in clear. The others are stored as they are, unwalked.
_MAY_CARRY_SECRETS = frozenset({"ChangeConfiguration", "GetConfiguration", "SetVariables",
                                "GetVariables", "NotifyReport", "SetNetworkProfile"})


def redact(action: str | None, payload: Any) -> Any:
    if action in _MAY_CARRY_SECRETS:
        return mask_secrets(payload)
    return payload


@dataclass(frozen=True, slots=True)
class Raw:
    """What is kept of an unusable frame: its first bytes, its length and its hash, so a
    flood of huge junk costs a few KiB a frame and a copy can still be identified."""

    text: str
    length: int
    sha256: str

    @classmethod
    def of(cls, frame: str | bytes, limit: int) -> Raw:
        data = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame
        # "ignore" drops a character cut in half by the limit (and, for a binary frame,
        # bytes that are not UTF-8); PostgreSQL text cannot hold NUL.
        text = data[:limit].decode("utf-8", "ignore").replace("\x00", "\ufffd")
        return cls(text, len(data), hashlib.sha256(data).hexdigest())


def encode(payload: Any) -> Any:
    """The payload as JSON text; a value orjson cannot encode stays as it is, for the
    writer to store degraded with the reason."""
    if payload is None:
        return None
    try:
        return orjson.dumps(payload).decode()
    except (TypeError, orjson.JSONEncodeError):
        return payload


def row(
    ts: datetime,
    station_id: str,
    direction: str,
    message_type: str,
    *,
    unique_id: Any = None,
    action: str | None = None,
    payload: Any = None,
    raw: Raw | None = None,
    error_code: str | None = None,
    error_description: str | None = None,
    rtt_ms: float | None = None,
    desired_profile_id: int | None = None,
    job_run_id: int | None = None,
) -> Record:
    payload = encode(redact(action, payload))
    if raw is None:
        return (ts, station_id, direction, message_type,
                None if unique_id is None else str(unique_id)[:100], action, payload,
                None, None, None, error_code, error_description, rtt_ms,
                desired_profile_id, job_run_id)
    return (ts, station_id, direction, message_type,
            None if unique_id is None else str(unique_id)[:100], action, payload,
            raw.text, raw.length, raw.sha256, error_code, error_description, rtt_ms,
            desired_profile_id, job_run_id)
