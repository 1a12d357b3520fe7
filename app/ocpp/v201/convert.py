"""What a 2.0.1 frame says, in the 1.6 shapes the services take: meter values, id token
information, connector status. Pure functions over JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.json_types import JsonObject

ENERGY = "Energy.Active.Import.Register"

# OCPP 2.0.1 ConnectorStatusEnumType as the 1.6 ChargePointStatus the services keep per
# connector: Occupied (a cable is in) says no more than 1.6 Preparing; what the car does
# comes with TransactionEvent chargingState.
_CONNECTOR_STATUS = {
    "Available": "Available", "Occupied": "Preparing", "Reserved": "Reserved",
    "Unavailable": "Unavailable", "Faulted": "Faulted",
}
# OCPP 2.0.1 ChargingStateEnumType as the 1.6 status of a connector with a transaction.
_CHARGING_STATE = {
    "Charging": "Charging", "SuspendedEV": "SuspendedEV", "SuspendedEVSE": "SuspendedEVSE",
    "EVConnected": "Preparing",
}


def connector_status(status: str) -> str:
    return _CONNECTOR_STATUS[status]


def charging_state_status(state: str | None, event_type: str) -> str | None:
    """The 1.6 status a TransactionEvent says its connector is in, if it says one."""
    if event_type == "Ended":
        return "Finishing" if state in ("EVConnected", None) else None
    return None if state is None else _CHARGING_STATE.get(state)


def _number(value: float, multiplier: int) -> str:
    """The decimal string of ``value`` x 10^multiplier (12 significant digits: a power of
    ten applied in binary must not print as 0.30000000000000004)."""
    scaled = float(value) * 10 ** multiplier
    return str(int(scaled)) if scaled.is_integer() else f"{scaled:.12g}"


def sampled_value(sample: Mapping[str, Any]) -> JsonObject:
    """A 2.0.1 SampledValueType as a 1.6 SampledValue: the value a decimal string
    (with its unitOfMeasure multiplier applied), the unit beside it."""
    unit = sample.get("unitOfMeasure") or {}
    out: JsonObject = {"value": _number(sample["value"], int(unit.get("multiplier", 0)))}
    for key in ("context", "measurand", "phase", "location"):
        if key in sample:
            out[key] = sample[key]
    if "unit" in unit:
        out["unit"] = unit["unit"]
    return out


def meter_values(values: Sequence[Mapping[str, Any]]) -> list[JsonObject]:
    """2.0.1 MeterValueType list as 1.6 MeterValue list."""
    return [{"timestamp": v["timestamp"],
             "sampledValue": [sampled_value(s) for s in v["sampledValue"]]} for v in values]


def energy_wh(values: Sequence[Mapping[str, Any]]) -> int | None:
    """The last Energy.Active.Import.Register reading in Wh (unit Wh or kWh; the default
    measurand and unit are these), or None when the values hold none."""
    found: float | None = None
    for value in values:
        for sample in value["sampledValue"]:
            if sample.get("measurand", ENERGY) != ENERGY or sample.get("phase"):
                continue
            unit = sample.get("unitOfMeasure") or {}
            reading = float(sample["value"]) * 10 ** int(unit.get("multiplier", 0))
            if unit.get("unit", "Wh") == "kWh":
                reading *= 1000
            found = reading
    return None if found is None else round(found)


def id_token_info(id_tag_info: Mapping[str, Any]) -> JsonObject:
    """A 1.6 IdTagInfo as a 2.0.1 IdTokenInfoType (the status values of 1.6 are 2.0.1
    values too)."""
    out: JsonObject = {"status": id_tag_info["status"]}
    if id_tag_info.get("expiryDate"):
        out["cacheExpiryDateTime"] = id_tag_info["expiryDate"]
    if id_tag_info.get("parentIdTag"):
        out["groupIdToken"] = {"idToken": id_tag_info["parentIdTag"], "type": "Central"}
    return out
