"""Operator commands only OCPP 2.0.1 has: the device model's reads and writes (B05-B08),
GetChargingProfiles (K09), GetTransactionStatus (E14), SetNetworkProfile (B09), the
messages a station shows its drivers (O01-O06: Set, Get and ClearDisplayMessage), the
monitoring of its device model (N02-N06: Set/ClearVariableMonitoring, SetMonitoringBase,
SetMonitoringLevel, GetMonitoringReport), what it keeps of a customer (N09, N10:
CustomerInformation) and a local controller's firmware file (L03, L04: Publish and
UnpublishFirmware).

They are sent by their 2.0.1 name and payload (the 2.0.1 adapter passes them through
as they are); a station that speaks 1.6 is refused before anything is sent
(:class:`WrongProtocol`). What the station reports back is kept where it belongs:
GetVariables values and the values a SetVariables set (those Accepted) in the device
model; the NotifyReport pages a GetBaseReport brings as they arrive (their handler), those
of a GetReport updating only the variables they name; the ReportChargingProfiles pages of a
GetChargingProfiles are returned to the caller.

A GetVariables or SetVariables of more variables than the station's
DeviceDataCtrlr.ItemsPerMessage (of that message, as its device model last said) goes out
in requests of that many at most (B06.FR.05), one after the other; the answer is their
results in the order asked. So do the monitors of a Set or ClearVariableMonitoring, by
MonitoringCtrlr.ItemsPerMessage of that message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from app.domain.access import mask_secrets, names_secret
from app.domain.protocol_rules import OcppVersion
from app.json_types import JsonObject
from app.services.errors import Conflict, Invalid, NotFound
from app.services.fleet.commands import CommandResult, call_error, sent
from app.services.fleet.device_model import DeviceModelService
from app.services.fleet.stations import StationService
from app.services.ports import ChargerGateway, StationCallError
from app.services.security.station_security import StationSecurityService

log = logging.getLogger("chargeplan.commands")

V201_ACTIONS = ("GetVariables", "SetVariables", "GetBaseReport", "GetReport",
                "GetChargingProfiles", "GetTransactionStatus", "SetNetworkProfile",
                "SetDisplayMessage", "GetDisplayMessages", "ClearDisplayMessage",
                "SetVariableMonitoring", "ClearVariableMonitoring", "SetMonitoringBase",
                "SetMonitoringLevel", "GetMonitoringReport", "CustomerInformation",
                "PublishFirmware", "UnpublishFirmware")
# The list each request splits by ItemsPerMessage (DeviceDataCtrlr's, B06.FR.05;
# MonitoringCtrlr's for the monitors), and its answer's list.
_PAGED = {"GetVariables": ("getVariableData", "getVariableResult"),
          "SetVariables": ("setVariableData", "setVariableResult"),
          "SetVariableMonitoring": ("setMonitoringData", "setMonitoringResult"),
          "ClearVariableMonitoring": ("id", "clearMonitoringResult")}
# Where and how a station connects, and what it keeps of a customer (which it may be told
# to clear): admins only, as the 1.6 security settings are.
V201_ADMIN_ACTIONS = frozenset({"SetNetworkProfile", "CustomerInformation"})


class UnknownAction201(NotFound):
    def __init__(self, action: str) -> None:
        super().__init__("action", action)
        self.valid = V201_ACTIONS


class WrongProtocol(Conflict):
    """The station does not speak the OCPP version the action belongs to."""

    def __init__(self, station_id: str, version: str, action: str) -> None:
        super().__init__(f"station {station_id!r} speaks OCPP {version}: {action} is an "
                         "OCPP 2.0.1 action")
        self.station_id = station_id
        self.ocpp_version = version
        self.action = action


class Commands201:
    def __init__(self, gateway: ChargerGateway, *, stations: StationService,
                 device_model: DeviceModelService, report_timeout_s: float,
                 security: StationSecurityService) -> None:
        self._gateway = gateway
        self._stations = stations
        self._security = security
        self._device_model = device_model
        self._report_timeout_s = report_timeout_s
        self._side_effects: dict[
            str, Callable[[str, JsonObject, JsonObject], Awaitable[None]]] = {
            "GetVariables": self._variables_read,
            "SetVariables": self._variables_set,
        }

    async def send(self, station_id: str, action: str, payload: Mapping[str, Any]
                   ) -> CommandResult:
        """Send one 2.0.1 command (its payload checked by the caller against the 2.0.1
        schema; the adapter checks it again before it leaves) and keep what it reports."""
        if action not in V201_ACTIONS:
            raise UnknownAction201(action)
        station = await self._stations.get(station_id)
        if station.ocpp_version != OcppVersion.V201:
            raise WrongProtocol(station_id, station.ocpp_version, action)
        result = await self._send(station_id, action, dict(payload))
        # What the answer shows of a secret (BasicAuthPassword, a VPN's key) is masked,
        # as the audit and the device model keep it.
        result.request = cast(JsonObject, mask_secrets(result.request))
        if result.response is not None:
            result.response = cast(JsonObject, mask_secrets(result.response))
        return result

    async def _send(self, station_id: str, action: str, request: JsonObject
                    ) -> CommandResult:
        if action == "GetChargingProfiles":
            return await self._charging_profiles(station_id, request)
        if action == "GetReport":
            return await self._report(station_id, request)
        if action == "SetVariables" and any(
                names_secret(item) for item in request["setVariableData"]):
            return await self._password_set(station_id, request)
        if action in _PAGED:
            return await self._paged(station_id, action, request)
        result = await self._call(station_id, action, request)
        side_effect = self._side_effects.get(action)
        if side_effect is not None and result.response is not None:
            await side_effect(station_id, request, result.response)
        return result

    async def _password_set(self, station_id: str, request: JsonObject) -> CommandResult:
        """A SetVariables of SecurityCtrlr.BasicAuthPassword is the station's new password
        (A01): it goes the way every new password goes (``send_password``), so the
        station can connect with it once it took it, and with the old one until then."""
        data = request["setVariableData"]
        if len(data) > 1:
            raise Invalid("setVariableData", "a new BasicAuthPassword goes alone in its "
                                             "SetVariables request")
        results: list[CommandResult] = []

        async def set_variables() -> str | None:
            results.append(await self._paged(station_id, "SetVariables", request))
            answer = results[0].response
            return None if answer is None else str(
                answer["setVariableResult"][0].get("attributeStatus"))

        await self._security.send_password(
            station_id, str(data[0].get("attributeValue", "")), set_variables,
            field="setVariableData[0].attributeValue")
        return results[0]

    async def _call(self, station_id: str, action: str, request: JsonObject
                    ) -> CommandResult:
        return await sent(self._gateway, station_id, action, request)

    async def _paged(self, station_id: str, action: str, request: JsonObject
                     ) -> CommandResult:
        """B06.FR.05: at most ItemsPerMessage[action] items a request; each answered part
        is kept before the next goes, and the first that fails is the result."""
        asked, answered = _PAGED[action]
        items = request[asked]
        size = await self._device_model.items_per_message(station_id, action) or len(items)
        results: list[Any] = []
        for start in range(0, len(items), size):
            part = {**request, asked: items[start:start + size]}
            result = await self._call(station_id, action, part)
            if result.response is None:
                result.request = request
                return result
            side_effect = self._side_effects.get(action)
            if side_effect is not None:
                await side_effect(station_id, part, result.response)
            results.extend(result.response[answered])
        return CommandResult("success", station_id, action, request,
                             response={answered: results})

    async def _report(self, station_id: str, request: JsonObject) -> CommandResult:
        """B08: the pages of the requestId update the variables they name (not the whole
        model, as a base report's do); expected before the request leaves."""
        request_id = request["requestId"]
        await self._device_model.expect_partial_report(station_id, request_id)
        result = await self._call(station_id, "GetReport", request)
        if result.response is None or result.response.get("status") != "Accepted":
            await self._device_model.report_not_coming(station_id, request_id)
        return result

    async def _variables_read(self, station_id: str, request: JsonObject,
                              answer: JsonObject) -> None:
        await self._device_model.variables_result(station_id, answer["getVariableResult"])

    async def _variables_set(self, station_id: str, request: JsonObject,
                             answer: JsonObject) -> None:
        await self._device_model.variables_set(station_id, request["setVariableData"],
                                               answer["setVariableResult"])

    async def _charging_profiles(self, station_id: str, request: JsonObject
                                 ) -> CommandResult:
        """K09: the station answers, then reports what it holds in pages of the request's
        requestId, collected where the station is connected and waited for while it is
        Accepted, at most the report timeout."""
        action = "GetChargingProfiles"
        try:
            report = await self._gateway.profile_report(station_id, request,
                                                        timeout=self._report_timeout_s)
        except StationCallError as exc:
            log.info("%s to %s failed: %s", action, station_id, exc.reason)
            return CommandResult("error", station_id, action, request, error=call_error(exc))
        return CommandResult("success", station_id, action, request, response=report.answer,
                             reported=report.profiles(), report_complete=report.complete)

    async def base_report_after_boot(self, station_id: str) -> None:
        """A 2.0.1 station with no complete base report is asked for its FullInventory
        (B07), so its SmartChargingCtrlr capabilities are known; its NotifyReport pages
        fill the device model. A failure is logged: the station works without it."""
        station = await self._stations.get(station_id)
        if station.ocpp_version != OcppVersion.V201:
            return
        request_id = await self._device_model.base_report_due(station_id)
        if request_id is None:
            return
        result = await self._call(station_id, "GetBaseReport", {
            "requestId": request_id, "reportBase": "FullInventory"})
        if result.error is not None:
            log.warning("%s: asking for the base report failed: %s", station_id,
                        result.error.reason)
        elif result.response is not None and result.response.get("status") != "Accepted":
            log.info("%s answered GetBaseReport with %s", station_id,
                     result.response.get("status"))
