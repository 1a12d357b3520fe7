"""Audit rows for OCPP-J frames: one dict per frame, written by the batch writer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
) -> dict[str, Any]:
    return {
        "ts": ts,
        "station_id": station_id,
        "direction": direction,
        "message_type": message_type,
        "unique_id": None if unique_id is None else str(unique_id)[:100],
        "action": action,
        "payload": redact(action, payload),
        "raw": None if raw is None else raw.text,
        "raw_length": None if raw is None else raw.length,
        "raw_sha256": None if raw is None else raw.sha256,
        "error_code": error_code,
        "error_description": error_description,
        "rtt_ms": rtt_ms,
        "desired_profile_id": desired_profile_id,
        "job_run_id": job_run_id,
    }
