"""What the tests of OCPP 2.0.1 stations share: frames checked by the ``ocpp`` package's
own 2.0.1 validators (jsonschema, not the server's compiled ones), and 2.0.1 payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp.messages import get_validator

from app.db.models import AuditFrame
from app.simulator import Simulator
from app.simulator.station_v201 import SimulatedStation201

# What a raw station answers to the variables the server reads after its boot.
UNKNOWN_VARIABLE: dict[str, Any] = {"getVariableResult": [{
    "attributeStatus": "UnknownVariable", "component": {"name": "SmartChargingCtrlr"},
    "variable": {"name": "Enabled"}}]}
# What a raw 2.0.1 station answers to what the server asks after its boot: it knows none
# of the variables read, and keeps no device model to report (GetBaseReport).
RAW_201_ANSWERS: dict[str, Any] = {"GetVariables": UNKNOWN_VARIABLE,
                                   "GetBaseReport": {"status": "NotSupported"}}
# A raw 2.0.1 station's BootNotification.
BOOT_201: dict[str, Any] = {
    "chargingStation": {"vendorName": "Acme", "model": "AC-22", "serialNumber": "SN-201",
                        "firmwareVersion": "2.1"},
    "reason": "PowerUp"}
# A page of what a station holds (K09), as read back.
REPORT_201: dict[str, Any] = {
    "requestId": 1, "chargingLimitSource": "CSO", "evseId": 1, "tbc": False,
    "chargingProfile": [{
        "id": 5, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative", "chargingSchedule": [{
            "id": 1, "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}]}]}


def check_201_frames(rows: list[AuditFrame]) -> list[tuple[str, str, str | None]]:
    """Every CALL and CALLRESULT of the exchange, checked against the 2.0.1 schemas (no
    CALLERROR among them); what was seen, as (direction, message type, action)."""
    actions: dict[str | None, str | None] = {}
    seen = []
    for row in rows:
        assert row.message_type != "CALLERROR", (row.action, row.error_description)
        if row.message_type == "CALL":
            actions[row.unique_id] = row.action
            get_validator(2, row.action, "2.0.1").validate(row.payload)
        elif row.message_type == "CALLRESULT" and row.unique_id in actions:
            get_validator(3, actions[row.unique_id], "2.0.1").validate(row.payload)
        seen.append((row.direction, row.message_type, row.action))
    return seen


def station_of(simulator: Simulator) -> SimulatedStation201:
    """The one 2.0.1 station of a simulator."""
    (station,) = simulator.stations.values()
    assert isinstance(station, SimulatedStation201)
    return station


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def energy(at: str, wh: float, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    """A MeterValueType list of one energy register reading, Wh."""
    return [{"timestamp": at, "sampledValue": [
        {"value": wh, "context": context, "measurand": "Energy.Active.Import.Register",
         "unitOfMeasure": {"unit": "Wh"}}]}]
