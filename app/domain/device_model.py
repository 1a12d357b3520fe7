"""A station's device model (OCPP 2.0.1 B06-B08): what it reports of its components and
variables, and the smart-charging capabilities read from them.

- OCPP 2.0.1 ReportDataType (NotifyReport, B07/B08): a component (name, instance, EVSE id
  and connector id), a variable (name, instance), one to four attributes (``type``
  Actual when absent, ``value``, ``mutability`` ReadWrite when absent, ``persistent``,
  ``constant``) and optional characteristics (``unit``, ``dataType``, ``minLimit``,
  ``maxLimit``, ``valuesList``). Each attribute is one :class:`ReportedAttribute`.
- OCPP 2.0.1 GetVariableResultType (B06): only an ``Accepted`` result carries a value;
  the others say nothing about the variable's value and are not kept. A SetVariables
  value (B05) is kept when its result is ``Accepted``.
- The capabilities OCPP 1.6 reads from its configuration keys (§9.4) come from these
  variables (OCPP 2.0.1 Part 2 Appendix, SmartChargingCtrlr and DeviceDataCtrlr), so
  validation, the station view and load management read one structure for both
  versions:

  ========================================  =======================================
  1.6 configuration key                     2.0.1 variable (Actual unless said)
  ========================================  =======================================
  SupportedFeatureProfiles (SmartCharging)  SmartChargingCtrlr.Enabled
  ChargeProfileMaxStackLevel                SmartChargingCtrlr.ProfileStackLevel
  ChargingScheduleAllowedChargingRateUnit   SmartChargingCtrlr.RateUnit (A, W)
  ChargingScheduleMaxPeriods                SmartChargingCtrlr.PeriodsPerSchedule
  MaxChargingProfilesInstalled              SmartChargingCtrlr.Entries[ChargingProfiles]
                                            (its maxLimit, else its MaxSet)
  NumberOfConnectors                        the EVSEs of the EVSE components
  GetConfigurationMaxKeys (not stored)      DeviceDataCtrlr.ItemsPerMessage[GetVariables]
  ========================================  =======================================

Pure: the standard library and app.domain only, frozen dataclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.access import MASK, SECRET_VARIABLES

ATTRIBUTE_TYPES = ("Actual", "Target", "MinSet", "MaxSet")
SMART = "SmartChargingCtrlr"
DEVICE_DATA = "DeviceDataCtrlr"
MONITORING = "MonitoringCtrlr"
# 2.0.1 RateUnit values, spelt as the 1.6 key spells them (what the station view reads).
_RATE_UNITS = {"A": "Current", "W": "Power"}


@dataclass(frozen=True)
class ReportedAttribute:
    """One attribute of one variable of one component, with its characteristics."""

    component: str
    variable: str
    attribute_type: str = "Actual"
    value: str | None = None
    component_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    variable_instance: str | None = None
    mutability: str | None = None
    persistent: bool | None = None
    constant: bool | None = None
    unit: str | None = None
    data_type: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str | None = None

    @property
    def key(self) -> tuple[str, str | None, int | None, int | None, str, str | None, str]:
        """What names the attribute: a newer report of the same key replaces it."""
        return (self.component, self.component_instance, self.evse_id, self.connector_id,
                self.variable, self.variable_instance, self.attribute_type)


def _place(component: Mapping[str, Any]) -> dict[str, Any]:
    evse = component.get("evse") or {}
    return {"component": str(component["name"]), "component_instance": component.get("instance"),
            "evse_id": evse.get("id"), "connector_id": evse.get("connectorId")}


def _value(place: Mapping[str, Any], variable: str, value: Any) -> Any:
    """A secret variable's value is kept as ``MASK``, never in clear."""
    secret = (place["component"], variable) in SECRET_VARIABLES
    return MASK if secret and value is not None else value


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def attributes_of_report(report_data: Sequence[Mapping[str, Any]]) -> list[ReportedAttribute]:
    """Every attribute of a NotifyReport page's ``reportData``."""
    found: list[ReportedAttribute] = []
    for item in report_data:
        place = _place(item["component"])
        variable = item["variable"]
        chars = item.get("variableCharacteristics") or {}
        found.extend(
            ReportedAttribute(
                **place, variable=str(variable["name"]),
                variable_instance=variable.get("instance"),
                # OCPP 2.0.1 VariableAttributeType: type defaults to Actual, mutability
                # to ReadWrite.
                attribute_type=str(attribute.get("type", "Actual")),
                value=_value(place, str(variable["name"]), attribute.get("value")),
                mutability=str(attribute.get("mutability", "ReadWrite")),
                persistent=attribute.get("persistent"), constant=attribute.get("constant"),
                unit=chars.get("unit"), data_type=chars.get("dataType"),
                min_limit=_float(chars.get("minLimit")),
                max_limit=_float(chars.get("maxLimit")),
                values_list=chars.get("valuesList"))
            for attribute in item.get("variableAttribute") or ())
    return found


def attribute_of_result(result: Mapping[str, Any]) -> ReportedAttribute | None:
    """The attribute a GetVariables result reports; None unless it was Accepted."""
    if result.get("attributeStatus") != "Accepted":
        return None
    variable = result["variable"]
    place = _place(result["component"])
    return ReportedAttribute(
        **place, variable=str(variable["name"]),
        variable_instance=variable.get("instance"),
        attribute_type=str(result.get("attributeType", "Actual")),
        value=_value(place, str(variable["name"]), result.get("attributeValue")))



def accepted_settings(data: Sequence[Mapping[str, Any]],
                      results: Sequence[Mapping[str, Any]]) -> list[ReportedAttribute]:
    """The values a SetVariables request set (B05): each SetVariableData whose result
    (the one of the same component, variable and attributeType) is ``Accepted``. A
    RebootRequired value is not in force yet, and is not taken."""
    accepted = {a.key for r in results if (a := attribute_of_result(r)) is not None}
    found = []
    for item in data:
        attribute = attribute_of_result({**item, "attributeStatus": "Accepted"})
        if attribute is not None and attribute.key in accepted:
            found.append(attribute)
    return found

@dataclass(frozen=True)
class DeviceCapabilities:
    """The 1.6 capability fields (app/services/stations.py ``Capabilities``), as the
    station columns store them, and what 2.0.1 adds."""

    supported_feature_profiles: str | None = None
    charge_profile_max_stack_level: int | None = None
    charging_schedule_allowed_charging_rate_unit: str | None = None
    charging_schedule_max_periods: int | None = None
    max_charging_profiles_installed: int | None = None
    number_of_connectors: int | None = None
    # ItemsPerMessage per instance, which names the message: DeviceDataCtrlr's
    # (GetReport, GetVariables, SetVariables) and MonitoringCtrlr's (SetVariableMonitoring,
    # ClearVariableMonitoring).
    items_per_message: Mapping[str, int] | None = None

    def station_columns(self) -> dict[str, Any]:
        return {"supported_feature_profiles": self.supported_feature_profiles,
                "charge_profile_max_stack_level": self.charge_profile_max_stack_level,
                "charging_schedule_allowed_charging_rate_unit":
                    self.charging_schedule_allowed_charging_rate_unit,
                "charging_schedule_max_periods": self.charging_schedule_max_periods,
                "max_charging_profiles_installed": self.max_charging_profiles_installed,
                "number_of_connectors": self.number_of_connectors}


def _int(value: str | float | None) -> int | None:
    try:
        return None if value is None else int(float(value))
    except ValueError:
        return None


def capabilities(attributes: Iterable[ReportedAttribute]) -> DeviceCapabilities:
    """The capabilities the station's variables give (None where it reported none)."""
    station_level: dict[tuple[str, str, str | None, str], ReportedAttribute] = {}
    evses: set[int] = set()
    for a in attributes:
        if a.component == "EVSE" and a.evse_id is not None and a.evse_id > 0:
            evses.add(a.evse_id)
        if a.evse_id is None:
            station_level[(a.component, a.variable, a.variable_instance, a.attribute_type)] = a

    def value(component: str, variable: str, instance: str | None = None,
              attribute: str = "Actual") -> str | None:
        found = station_level.get((component, variable, instance, attribute))
        return None if found is None else found.value

    enabled = value(SMART, "Enabled")
    units = value(SMART, "RateUnit")
    entries = station_level.get((SMART, "Entries", "ChargingProfiles", "Actual"))
    max_entries = entries.max_limit if entries is not None else None
    if max_entries is None:
        max_entries = _int(value(SMART, "Entries", "ChargingProfiles", "MaxSet"))
    items = {instance: parsed for (component, variable, instance, kind), a
             in station_level.items()
             if component in (DEVICE_DATA, MONITORING) and variable == "ItemsPerMessage"
             and kind == "Actual" and instance is not None
             and (parsed := _int(a.value)) is not None}
    return DeviceCapabilities(
        supported_feature_profiles=None if enabled is None
        else "SmartCharging" if enabled.strip().lower() == "true" else "",
        charge_profile_max_stack_level=_int(value(SMART, "ProfileStackLevel")),
        charging_schedule_allowed_charging_rate_unit=None if units is None else ",".join(
            _RATE_UNITS.get(u.strip(), u.strip()) for u in units.split(",") if u.strip()),
        charging_schedule_max_periods=_int(value(SMART, "PeriodsPerSchedule")),
        max_charging_profiles_installed=_int(max_entries),
        number_of_connectors=len(evses) or None,
        items_per_message=items or None,
    )
