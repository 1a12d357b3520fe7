"""OCPP-J 1.6 frames a load-generating station sends, and its answers to server CALLs.

Payloads are plain dicts encoded with orjson: the client side must cost as little CPU as
possible so that the server, not the load generator, is what the figures measure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import orjson

# OCPP-J 1.6 §4.1.3: message type ids.
CALL: Final = 2
CALLRESULT: Final = 3
CALLERROR: Final = 4

BOOT_NOTIFICATION: Final = {
    "chargePointVendor": "ChargeplanBench",
    "chargePointModel": "LoadStation",
    "firmwareVersion": "1.0.0",
}
HEARTBEAT: Final[dict[str, Any]] = {}

# Answers of a bench station to the server's own CALLs; any other action gets `{}`.
SERVER_CALL_ANSWERS: Final[dict[str, dict[str, Any]]] = {
    # OCPP 1.6 §5.8: GetConfiguration.conf; empty lists pass the server's schema check.
    "GetConfiguration": {"configurationKey": [], "unknownKey": []},
    # OCPP 1.6 §5.16 and §5.5: the station takes (and drops) every profile it is sent.
    "SetChargingProfile": {"status": "Accepted"},
    "ClearChargingProfile": {"status": "Accepted"},
    # OCPP 1.6 §5.7: a station that cannot report its composite schedule says Rejected;
    # the server then marks it unverifiable instead of retrying the verification.
    "GetCompositeSchedule": {"status": "Rejected"},
}


def status_notification(connector_id: int, now: datetime) -> dict[str, Any]:
    """StatusNotification for an idle connector (OCPP 1.6 §4.9)."""
    return {
        "connectorId": connector_id,
        "errorCode": "NoError",
        "status": "Available",
        "timestamp": _iso(now),
    }


def meter_values(connector_id: int, now: datetime, energy_wh: float) -> dict[str, Any]:
    """A MeterValues request as a 3-phase AC charger sends it during a transaction.

    OCPP 1.6 §7.33 (MeterValue) and §7.43 (SampledValue): one sample time carrying the
    measurands a smart-charging server reads: power, current, offered current and the energy
    register.
    """
    return {
        "connectorId": connector_id,
        "meterValue": [
            {
                "timestamp": _iso(now),
                "sampledValue": [
                    _sample("11040.0", "Power.Active.Import", "W"),
                    _sample("16.0", "Current.Import", "A", phase="L1"),
                    _sample("16.0", "Current.Import", "A", phase="L2"),
                    _sample("16.0", "Current.Import", "A", phase="L3"),
                    _sample("16.0", "Current.Offered", "A"),
                    _sample(f"{energy_wh:.1f}", "Energy.Active.Import.Register", "Wh"),
                ],
            }
        ],
    }


def encode_call(unique_id: str, action: str, payload: dict[str, Any]) -> bytes:
    """An OCPP-J CALL frame (OCPP-J 1.6 §4.2.1)."""
    return orjson.dumps([CALL, unique_id, action, payload])


def answer_to_server_call(unique_id: str, action: str) -> bytes:
    """A CALLRESULT for a CALL the server initiated (see SERVER_CALL_ANSWERS)."""
    return orjson.dumps([CALLRESULT, unique_id, SERVER_CALL_ANSWERS.get(action, {})])


def _sample(value: str, measurand: str, unit: str, phase: str | None = None) -> dict[str, str]:
    sample = {
        "value": value,
        "context": "Sample.Periodic",
        "format": "Raw",
        "measurand": measurand,
        "location": "Outlet",
        "unit": unit,
    }
    if phase is not None:
        sample["phase"] = phase
    return sample


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
