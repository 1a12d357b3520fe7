"""A station's device model (OCPP 2.0.1 B06-B08) over REST, fed through the service the
2.0.1 adapter calls: NotifyReport pages become visible only when the last one comes, a
new base report replaces the old one whole, GetVariables updates what it names, and the
SmartChargingCtrlr variables fill the same capabilities 1.6 reads from its
configuration keys."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.ocpp_client import raw_station


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest) -> Settings:
    # Staged rows, the boolean filters and the bulk replace on both databases.
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_head_url"
    url: str = request.getfixturevalue(fixture)
    return make_settings(url)


def item(component: str, variable: str, value: str, *, evse: int | None = None,
         instance: str | None = None, max_limit: float | None = None,
         data_type: str = "integer") -> dict[str, Any]:
    found: dict[str, Any] = {
        "component": {"name": component, **({"evse": {"id": evse}} if evse else {})},
        "variable": {"name": variable, **({"instance": instance} if instance else {})},
        "variableAttribute": [{"type": "Actual", "value": value, "mutability": "ReadOnly"}],
        "variableCharacteristics": {"dataType": data_type, "supportsMonitoring": False,
                                    **({"maxLimit": max_limit} if max_limit else {})},
    }
    return found


SMART = [item("SmartChargingCtrlr", "Enabled", "true", data_type="boolean"),
         item("SmartChargingCtrlr", "ProfileStackLevel", "8"),
         item("SmartChargingCtrlr", "PeriodsPerSchedule", "24"),
         item("SmartChargingCtrlr", "RateUnit", "A,W", data_type="MemberList"),
         item("SmartChargingCtrlr", "Entries", "0", instance="ChargingProfiles",
              max_limit=12)]
EVSES = [item("EVSE", "AvailabilityState", "Available", evse=1, data_type="OptionList"),
         item("EVSE", "AvailabilityState", "Available", evse=2, data_type="OptionList"),
         item("DeviceDataCtrlr", "ItemsPerMessage", "20", instance="GetVariables")]


async def model(http: httpx.AsyncClient, query: str = "") -> dict[str, Any]:
    answer = await http.get(f"/stations/CP-2/variables{query}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def values(body: dict[str, Any]) -> dict[tuple[str, int | None, str, str | None], str]:
    return {(v["component"], v["evse_id"], v["variable"], v["variable_instance"]): v["value"]
            for v in body["variables"]}


async def capabilities(http: httpx.AsyncClient) -> dict[str, Any]:
    found: dict[str, Any] = (await http.get("/stations/CP-2")).json()["capabilities"]
    return found


async def test_a_base_report_in_pages_replaces_the_device_model_when_complete(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with raw_station(server.station_url("CP-2")) as cp:
        await cp.boot()
    device = server.services.device_model

    first = await device.notify_report("CP-2", 1, 0, True, SMART)
    assert (first.pages, first.complete) == (1, False)
    waiting = await model(http)
    assert waiting["variables"] == []
    assert (waiting["report"]["request_id"], waiting["report"]["receiving_request_id"],
            waiting["report"]["receiving_pages"]) == (None, 1, 1)
    assert (await capabilities(http))["charging_schedule_max_periods"] is None

    assert (await device.notify_report("CP-2", 1, 1, False, EVSES)).complete
    complete = await model(http)
    assert len(complete["variables"]) == 8
    assert (complete["report"]["request_id"], complete["report"]["receiving_request_id"]) == \
        (1, None)
    assert complete["items_per_message"] == {"GetVariables": 20}
    assert await capabilities(http) == {
        "supported_feature_profiles": ["SmartCharging"], "charge_profile_max_stack_level": 8,
        "charging_schedule_allowed_charging_rate_unit": ["Current", "Power"],
        "charging_schedule_max_periods": 24, "max_charging_profiles_installed": 12,
        "number_of_connectors": 2, "smart_charging": True}
    rate = await model(http, "?component=SmartChargingCtrlr&variable=RateUnit")
    assert [(v["value"], v["data_type"], v["mutability"]) for v in rate["variables"]] == [
        ("A,W", "MemberList", "ReadOnly")]

    # Report 2 is arriving: report 1 is what GET shows until its last page; a repeated
    # page is taken once.
    newer = [item("SmartChargingCtrlr", "PeriodsPerSchedule", "48"),
             item("SmartChargingCtrlr", "Enabled", "false", data_type="boolean")]
    await device.notify_report("CP-2", 2, 0, True, newer)
    assert (await device.notify_report("CP-2", 2, 0, True, newer)).duplicate
    assert values(await model(http))[("SmartChargingCtrlr", None, "PeriodsPerSchedule",
                                      None)] == "24"
    await device.notify_report("CP-2", 2, 1, False, [])
    assert values(await model(http)) == {
        ("SmartChargingCtrlr", None, "PeriodsPerSchedule", None): "48",
        ("SmartChargingCtrlr", None, "Enabled", None): "false"}
    after = await capabilities(http)
    assert (after["charging_schedule_max_periods"], after["smart_charging"],
            after["charge_profile_max_stack_level"]) == (48, False, None)

    # GetVariables: an Accepted result replaces its attribute, a rejected one says nothing.
    taken = await device.variables_result("CP-2", [
        {"attributeStatus": "Accepted", "attributeValue": "16",
         "component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "PeriodsPerSchedule"}},
        {"attributeStatus": "UnknownVariable", "component": {"name": "SmartChargingCtrlr"},
         "variable": {"name": "ProfileStackLevel"}}])
    assert taken == 1
    assert (await capabilities(http))["charging_schedule_max_periods"] == 16
    assert len((await model(http))["variables"]) == 2


async def test_an_unknown_station_has_no_device_model(http: httpx.AsyncClient) -> None:
    assert (await http.get("/stations/NOPE/variables")).status_code == 404
    assert (await http.get("/stations/NOPE/external_limits")).status_code == 404
