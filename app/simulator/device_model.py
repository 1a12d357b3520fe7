"""The small OCPP 2.0.1 device model of a simulated station (Part 2, B and the
Referenced Components and Variables appendix).

What GetVariables and SetVariables address (component, optional EVSE, variable with its
instance, attribute type) and what GetBaseReport reports in NotifyReport pages of at most
``DeviceDataCtrlr.ItemsPerMessage[GetReport]`` variables. Only the ``Actual`` attribute is
modelled. Pure: no I/O; the station reads its settings from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.profiles import ChargingRateUnit
from app.simulator.config import SimulatorConfig
from app.simulator.smart_charging import station_limits

ACTUAL = "Actual"


@dataclass(slots=True)
class Variable:
    component: str
    name: str
    value: str
    data_type: str  # DataEnumType: string, decimal, integer, boolean, MemberList, ...
    writable: bool = False
    instance: str | None = None
    evse: int | None = None
    max_limit: float | None = None
    values_list: str | None = None
    unit: str | None = None

    def accepts(self, value: str) -> bool:
        """Whether ``value`` is of this variable's data type."""
        if self.data_type == "boolean":
            return value.lower() in ("true", "false")
        if self.data_type == "integer":
            return value.lstrip("-").isdigit()
        if self.data_type == "decimal":
            try:
                float(value)
            except ValueError:
                return False
            return True
        return True

    def report(self) -> dict[str, Any]:
        """Its ReportDataType."""
        characteristics: dict[str, Any] = {"dataType": self.data_type,
                                           "supportsMonitoring": False}
        if self.unit is not None:
            characteristics["unit"] = self.unit
        if self.max_limit is not None:
            characteristics["maxLimit"] = self.max_limit
        if self.values_list is not None:
            characteristics["valuesList"] = self.values_list
        return {"component": self.component_json(), "variable": self.variable_json(),
                "variableAttribute": [{"type": ACTUAL, "value": self.value,
                                       "mutability": "ReadWrite" if self.writable
                                       else "ReadOnly"}],
                "variableCharacteristics": characteristics}

    def component_json(self) -> dict[str, Any]:
        component: dict[str, Any] = {"name": self.component}
        if self.evse is not None:
            component["evse"] = {"id": self.evse}
        return component

    def variable_json(self) -> dict[str, Any]:
        variable: dict[str, Any] = {"name": self.name}
        if self.instance is not None:
            variable["instance"] = self.instance
        return variable


@dataclass(slots=True)
class DeviceModel:
    """The variables of one station, addressed case-insensitively as OCPP says."""

    variables: dict[tuple[str, str | None, int | None, str, str | None], Variable] = field(
        default_factory=dict)

    @classmethod
    def for_station(cls, config: SimulatorConfig, heartbeat_s: float) -> DeviceModel:
        limits = station_limits(config)
        units = sorted(u.value for u in limits.allowed_units or ())
        model = cls()
        model.add(
            Variable("DeviceDataCtrlr", "ItemsPerMessage", str(config.report_items_per_message),
                     "integer", instance="GetReport"),
            Variable("DeviceDataCtrlr", "ItemsPerMessage", str(config.report_items_per_message),
                     "integer", instance="GetVariables"),
            Variable("DeviceDataCtrlr", "ItemsPerMessage", str(config.report_items_per_message),
                     "integer", instance="SetVariables"),
            Variable("MonitoringCtrlr", "ItemsPerMessage", str(config.report_items_per_message),
                     "integer", instance="SetVariableMonitoring"),
            Variable("MonitoringCtrlr", "ItemsPerMessage", str(config.report_items_per_message),
                     "integer", instance="ClearVariableMonitoring"),
            Variable("OCPPCommCtrlr", "HeartbeatInterval", f"{heartbeat_s:g}", "integer",
                     writable=True, unit="s"),
            Variable("SecurityCtrlr", "OrganizationName", config.cpo_name, "string",
                     writable=True),
            Variable("SampledDataCtrlr", "TxUpdatedInterval", f"{config.meter_interval:g}",
                     "integer", writable=True, unit="s"),
            Variable("SmartChargingCtrlr", "Enabled", "true", "boolean", writable=True),
            Variable("SmartChargingCtrlr", "Available", "true", "boolean"),
            Variable("SmartChargingCtrlr", "Entries", "0", "integer", instance="ChargingProfiles",
                     max_limit=config.max_profiles),
            Variable("SmartChargingCtrlr", "PeriodsPerSchedule", str(config.max_periods),
                     "integer"),
            Variable("SmartChargingCtrlr", "ProfileStackLevel", str(config.max_stack_level),
                     "integer"),
            Variable("SmartChargingCtrlr", "RateUnit", ",".join(units), "MemberList",
                     values_list="A,W"),
            Variable("SmartChargingCtrlr", "LimitChangeSignificance", "0.1", "decimal",
                     writable=True),
            Variable("SmartChargingCtrlr", "NotifyChargingLimitWithSchedules", "true", "boolean",
                     writable=True),
            Variable("SmartChargingCtrlr", "ExternalControlSignalsEnabled", "true", "boolean",
                     writable=True),
            Variable("SmartChargingCtrlr", "Phases3to1", "false", "boolean"),
        )
        per_evse_w = config.max_power_w
        for evse in range(1, config.connectors + 1):
            model.add(Variable("EVSE", "Power", "0", "decimal", evse=evse, max_limit=per_evse_w,
                               unit="W"),
                      Variable("EVSE", "SupplyPhases", str(config.phases), "integer", evse=evse))
        return model

    def add(self, *variables: Variable) -> None:
        for variable in variables:
            self.variables[_key(variable.component, variable.evse, variable.name,
                                variable.instance)] = variable

    def find(self, component: Mapping[str, Any], variable: Mapping[str, Any]) -> Variable | None:
        evse = component.get("evse")
        return self.variables.get(_key(
            str(component.get("name", "")), evse.get("id") if isinstance(evse, Mapping) else None,
            str(variable.get("name", "")), variable.get("instance")))

    def knows_component(self, component: Mapping[str, Any]) -> bool:
        name = str(component.get("name", "")).lower()
        return any(key[0] == name for key in self.variables)

    def value(self, component: str, name: str, instance: str | None = None) -> str:
        return self.variables[_key(component, None, name, instance)].value

    def flag(self, component: str, name: str) -> bool:
        return self.value(component, name).lower() == "true"

    def set_value(self, component: str, name: str, value: str,
                  instance: str | None = None) -> None:
        """Set what the station itself changes (a ReadOnly value too)."""
        self.variables[_key(component, None, name, instance)].value = value

    def get(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One GetVariableResultType for a GetVariableDataType."""
        result, found = self._lookup(request)
        if found is not None:
            result.update(attributeStatus="Accepted", attributeValue=found.value)
        return result

    def set(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One SetVariableResultType for a SetVariableDataType; applied when Accepted."""
        result, found = self._lookup(request)
        value = str(request["attributeValue"])
        if found is not None and (not found.writable or not found.accepts(value)):
            result["attributeStatus"] = "Rejected"
        elif found is not None:
            found.value = value
            result["attributeStatus"] = "Accepted"
        return result

    def _lookup(self, request: Mapping[str, Any]) -> tuple[dict[str, Any], Variable | None]:
        """The result echoing what was addressed, and its Actual attribute's variable; the
        status is set already when there is none (OCPP 2.0.1 B06/B05 statuses)."""
        component, variable = request["component"], request["variable"]
        attribute = request.get("attributeType", ACTUAL)
        result: dict[str, Any] = {"component": dict(component), "variable": dict(variable)}
        if "attributeType" in request:
            result["attributeType"] = attribute
        found = self.find(component, variable)
        if found is None:
            result["attributeStatus"] = ("UnknownVariable" if self.knows_component(component)
                                         else "UnknownComponent")
            return result, None
        if attribute != ACTUAL:
            result["attributeStatus"] = "NotSupportedAttributeType"
            return result, None
        return result, found

    def report(self, base: str) -> list[dict[str, Any]]:
        """The ReportDataType of every variable GetBaseReport's ``base`` names:
        FullInventory all, ConfigurationInventory the writable ones."""
        chosen: Iterable[Variable] = self.variables.values()
        if base == "ConfigurationInventory":
            chosen = (v for v in chosen if v.writable)
        return [v.report() for v in chosen]

    def matching(self, asked: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The ReportDataType of every variable a GetReport's componentVariable names (a
        component without a variable: all of its variables), each once, in model order."""
        def named(v: Variable, item: Mapping[str, Any]) -> bool:
            component, variable = item["component"], item.get("variable")
            evse = component.get("evse")
            if (v.component.lower() != str(component["name"]).lower()
                    or (isinstance(evse, Mapping) and evse.get("id") != v.evse)):
                return False
            if variable is None:
                return True
            instance = variable.get("instance")
            return (v.name.lower() == str(variable["name"]).lower()
                    and (instance is None or (v.instance or "").lower() == instance.lower()))

        return [v.report() for v in self.variables.values()
                if any(named(v, item) for item in asked)]

    def pages(self, items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """``items`` cut into NotifyReport pages of ItemsPerMessage[GetReport] at most."""
        size = max(1, int(self.value("DeviceDataCtrlr", "ItemsPerMessage", "GetReport")))
        for start in range(0, len(items), size):
            yield items[start:start + size]


def _key(component: str, evse: int | None, name: str,
         instance: str | None) -> tuple[str, str | None, int | None, str, str | None]:
    return (component.lower(), None, evse, name.lower(),
            instance.lower() if instance else None)


def rate_units(model: DeviceModel) -> list[ChargingRateUnit]:
    """SmartChargingCtrlr.RateUnit as units, in the order listed."""
    listed = model.value("SmartChargingCtrlr", "RateUnit").split(",")
    return [ChargingRateUnit(u.strip()) for u in listed if u.strip() in ("A", "W")]
