"""The rules of app/domain/device_model.py: reading ReportDataType and GetVariableResult,
and the 1.6 capabilities the SmartChargingCtrlr variables give."""

from __future__ import annotations

from app.domain.device_model import (
    ReportedAttribute,
    attribute_of_result,
    attributes_of_report,
    capabilities,
)


def smart(variable: str, value: str, instance: str | None = None,
          kind: str = "Actual") -> ReportedAttribute:
    return ReportedAttribute("SmartChargingCtrlr", variable, kind, value,
                             variable_instance=instance)


def test_each_attribute_of_a_report_is_one_record_with_the_spec_defaults() -> None:
    found = attributes_of_report([{
        "component": {"name": "EVSE", "evse": {"id": 2, "connectorId": 1}},
        "variable": {"name": "Power"},
        "variableAttribute": [{"value": "22000"}, {"type": "MaxSet", "value": "11000",
                                                   "mutability": "ReadWrite"}],
        "variableCharacteristics": {"unit": "W", "dataType": "decimal", "maxLimit": 22000,
                                    "supportsMonitoring": True}}])
    assert [(a.evse_id, a.connector_id, a.attribute_type, a.value, a.mutability, a.unit,
             a.data_type, a.max_limit) for a in found] == [
        (2, 1, "Actual", "22000", "ReadWrite", "W", "decimal", 22000.0),
        (2, 1, "MaxSet", "11000", "ReadWrite", "W", "decimal", 22000.0)]


def test_only_an_accepted_get_variables_result_carries_a_value() -> None:
    place = {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Enabled"}}
    assert attribute_of_result({**place, "attributeStatus": "Rejected"}) is None
    taken = attribute_of_result({**place, "attributeStatus": "Accepted",
                                 "attributeValue": "true"})
    assert taken is not None
    assert (taken.component, taken.variable, taken.attribute_type, taken.value) == \
        ("SmartChargingCtrlr", "Enabled", "Actual", "true")


def test_smart_charging_variables_fill_the_16_capability_columns() -> None:
    caps = capabilities([
        smart("Enabled", "true"), smart("ProfileStackLevel", "3"),
        smart("RateUnit", "W"), smart("PeriodsPerSchedule", "10"),
        smart("Entries", "2", "ChargingProfiles", "MaxSet"),
        ReportedAttribute("EVSE", "Available", value="true", evse_id=1),
        ReportedAttribute("DeviceDataCtrlr", "ItemsPerMessage", value="8",
                          variable_instance="SetVariables")])
    assert caps.station_columns() == {
        "supported_feature_profiles": "SmartCharging", "charge_profile_max_stack_level": 3,
        "charging_schedule_allowed_charging_rate_unit": "Power",
        "charging_schedule_max_periods": 10, "max_charging_profiles_installed": 2,
        "number_of_connectors": 1}
    assert caps.items_per_message == {"SetVariables": 8}


def test_a_station_that_reports_nothing_of_smart_charging_leaves_every_field_unknown(
) -> None:
    caps = capabilities([ReportedAttribute("SecurityCtrlr", "SecurityProfile", value="1")])
    assert set(caps.station_columns().values()) == {None}
    assert caps.items_per_message is None


def test_smart_charging_disabled_lists_no_smart_charging() -> None:
    assert capabilities([smart("Enabled", "false")]).supported_feature_profiles == ""
