"""The 1.6 configuration keys the services read and write, as 2.0.1 device model variables.

The services read a station's smart-charging limits with GetConfiguration and change a
key with ChangeConfiguration (OCPP 1.6 §9). A 2.0.1 station keeps them as variables of its
device model: GetConfiguration becomes GetVariables of the variables the table below names
(all of them when no key is asked), and its results the configuration keys again, in the
1.6 spelling of their values; ChangeConfiguration becomes SetVariables of the key's
variable. The table is the one ``app/domain/device_model.py`` derives the same
capabilities from when a station reports its whole device model. A key with no variable
here is an ``unknownKey``; changing one is NotSupported.

The security profile 1 password, the whitepaper's AuthorizationKey, is
SecurityCtrlr.BasicAuthPassword (A01.FR.02); like AuthorizationKey it is write-only, so a
GetConfiguration of every key does not ask for it. SecurityProfile has no writable
variable: a 2.0.1 station changes profile through SetNetworkProfile and
OCPPCommCtrlr.NetworkConfigurationPriority (A05), which operators send as they are.

NumberOfConnectors has no variable (it is the count of the station's EVSE components):
it stays unknown until the station's device model is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.domain.device_model import SMART
from app.json_types import JsonObject
from app.ocpp.errors import ErrorCode, OcppError

# RateUnit's values as ChargingScheduleAllowedChargingRateUnit spells them.
_UNITS = {"A": "Current", "W": "Power"}


def _as_is(value: str) -> str:
    return value


def _feature_profiles(enabled: str) -> str:
    return "SmartCharging" if enabled.strip().lower() == "true" else ""


def _units(value: str) -> str:
    return ",".join(_UNITS.get(u.strip(), u.strip()) for u in value.split(",") if u.strip())


@dataclass(frozen=True)
class KeyVariable:
    component: str
    variable: str
    instance: str | None = None
    attribute: str = "Actual"
    read: Callable[[str], str] = _as_is  # the variable's value as the key's
    writable: bool = False  # ChangeConfiguration sets it
    readable: bool = True  # GetConfiguration of every key asks for it

    def address(self) -> JsonObject:
        variable: JsonObject = {"name": self.variable}
        if self.instance is not None:
            variable["instance"] = self.instance
        found: JsonObject = {"component": {"name": self.component}, "variable": variable}
        if self.attribute != "Actual":
            found["attributeType"] = self.attribute
        return found

    def matches(self, result: Mapping[str, object]) -> bool:
        component = result["component"]
        variable = result["variable"]
        assert isinstance(component, Mapping) and isinstance(variable, Mapping)
        return (component.get("name") == self.component and "evse" not in component
                and variable.get("name") == self.variable
                and variable.get("instance") == self.instance
                and result.get("attributeType", "Actual") == self.attribute)


KEYS: Mapping[str, KeyVariable] = {
    "SupportedFeatureProfiles": KeyVariable(SMART, "Enabled", read=_feature_profiles),
    "ChargeProfileMaxStackLevel": KeyVariable(SMART, "ProfileStackLevel"),
    "ChargingScheduleAllowedChargingRateUnit": KeyVariable(SMART, "RateUnit", read=_units),
    "ChargingScheduleMaxPeriods": KeyVariable(SMART, "PeriodsPerSchedule"),
    "MaxChargingProfilesInstalled": KeyVariable(SMART, "Entries", "ChargingProfiles",
                                                "MaxSet"),
    "HeartbeatInterval": KeyVariable("OCPPCommCtrlr", "HeartbeatInterval", writable=True),
    "AuthorizationKey": KeyVariable("SecurityCtrlr", "BasicAuthPassword", writable=True,
                                    readable=False),
}


def get_variables(payload: JsonObject) -> JsonObject:
    """GetConfiguration (keys, or every one) as GetVariables. Keys with no variable are
    left out of the call; the answer names them unknown (:func:`configuration`)."""
    asked = payload.get("key") or [key for key, entry in KEYS.items() if entry.readable]
    wanted = [KEYS[key].address() for key in asked if key in KEYS and KEYS[key].readable]
    if not wanted:
        # GetVariables needs at least one variable; none of the keys has one.
        raise OcppError(ErrorCode.NOT_SUPPORTED,
                        "none of the keys asked has an OCPP 2.0.1 variable here")
    return {"getVariableData": wanted}


def configuration(answer: JsonObject) -> JsonObject:
    """GetVariables results as GetConfiguration.conf: an Accepted result is its key;
    any other is an unknown key (B06: only an Accepted one carries a value)."""
    keys: list[JsonObject] = []
    unknown: list[str] = []
    for result in answer["getVariableResult"]:
        key = next((k for k, v in KEYS.items() if v.matches(result)), None)
        if key is None:
            continue
        value = result.get("attributeValue")
        if result["attributeStatus"] != "Accepted" or value is None:
            unknown.append(key)
            continue
        entry = KEYS[key]
        keys.append({"key": key, "readonly": not entry.writable, "value": entry.read(value)})
    out: JsonObject = {"configurationKey": keys}
    if unknown:
        out["unknownKey"] = unknown
    return out


def set_variables(payload: JsonObject) -> JsonObject:
    entry = KEYS.get(payload["key"])
    if entry is None or not entry.writable:
        raise OcppError(ErrorCode.NOT_SUPPORTED,
                        f"{payload['key']} has no writable OCPP 2.0.1 variable here")
    return {"setVariableData": [{**entry.address(), "attributeValue": payload["value"]}]}


# SetVariableStatusEnumType as 1.6 ConfigurationStatus.
_CHANGED = {"Accepted": "Accepted", "Rejected": "Rejected", "RebootRequired": "RebootRequired",
            "UnknownComponent": "NotSupported", "UnknownVariable": "NotSupported",
            "NotSupportedAttributeType": "NotSupported"}


def changed(answer: JsonObject) -> JsonObject:
    (result,) = answer["setVariableResult"]
    return {"status": _CHANGED[result["attributeStatus"]]}
