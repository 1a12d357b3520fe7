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

# Secrets a CALL can carry (OCPP security profile 1 AuthorizationKey set through
# ChangeConfiguration): never audited in clear.
_SECRET_KEYS = frozenset({"AuthorizationKey"})


def redact(action: str | None, payload: Any) -> Any:
    if (
        action == "ChangeConfiguration"
        and isinstance(payload, dict)
        and payload.get("key") in _SECRET_KEYS
    ):
        return {**payload, "value": "***"}
    if action == "GetConfiguration" and isinstance(payload, dict) and isinstance(
            payload.get("configurationKey"), list):
        # AuthorizationKey is write-only (whitepaper); a station that reports it anyway
        # is not audited in clear either.
        return {**payload, "configurationKey": [
            {**k, "value": "***"} if isinstance(k, dict) and k.get("key") in _SECRET_KEYS
            else k for k in payload["configurationKey"]]}
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
