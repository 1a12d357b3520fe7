"""Audit rows for OCPP-J frames: one dict per frame, written by the batch writer."""

from __future__ import annotations

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
    raw: str | None = None,
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
        "raw": raw,
        "error_code": error_code,
        "error_description": error_description,
        "rtt_ms": rtt_ms,
        "desired_profile_id": desired_profile_id,
        "job_run_id": job_run_id,
    }
