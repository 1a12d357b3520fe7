"""What a simulated OCPP 2.0.1 station answers to each request of the central system.

Handlers stay small: payload in, the station or its device model decides, the ``ocpp``
package's v201 call_result out. Messages that follow an answer (NotifyReport pages,
ReportChargingProfiles) are sent from ``@after`` hooks as tasks of the connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotSupportedError, OccurrenceConstraintViolationError
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.typing import Subprotocol

from app.domain.profiles import ChargingRateUnit
from app.domain.profiles_v201 import ChargingLimitSource, ChargingProfilePurpose201, EvseProfile
from app.simulator.device_model import rate_units
from app.simulator.operations import Reservation
from app.simulator.protocol import (
    _after,
    _as_ocpp_json,
    _on,
    frame_logger,
    logger,
    route_with_faults,
)
from app.timefmt import parse_timestamp

if TYPE_CHECKING:
    from app.simulator.station_v201 import SimulatedStation201

# statusInfo.additionalInfo holds at most 512 characters (StatusInfoType).
_INFO_MAX = 512
# TriggerMessage values that ask for a SignCertificateRequest, and its certificateType
# (SignCombinedCertificate: none, one certificate for both uses).
_SIGN_TRIGGERS: dict[str, str | None] = {
    "SignChargingStationCertificate": "ChargingStationCertificate",
    "SignV2GCertificate": "V2GCertificate", "SignCombinedCertificate": None}


class StationProtocol201(ChargePoint):  # type: ignore[misc]
    """One connection of a :class:`SimulatedStation201`."""

    SUBPROTOCOL = Subprotocol("ocpp2.0.1")

    def __init__(self, station: SimulatedStation201, connection: Any) -> None:
        super().__init__(station.station_id, connection,
                         response_timeout=station.config.response_timeout, logger=frame_logger)
        self._station = station

    async def route_message(self, raw_msg: str | bytes) -> None:
        await route_with_faults(self, self._station.faults, raw_msg, super().route_message)

    # --- device model (B06, B07, B05) --------------------------------------------------

    @_on(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        model = self._station.device_model
        return call_result.GetVariables(
            get_variable_result=[model.get(_as_ocpp_json(item)) for item in get_variable_data])

    @_on(Action.set_variables)
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        model = self._station.device_model
        return call_result.SetVariables(
            set_variable_result=[model.set(_as_ocpp_json(item)) for item in set_variable_data])

    @_on(Action.get_base_report)
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> Any:
        if report_base == "SummaryInventory":
            return call_result.GetBaseReport(status="NotSupported")
        return call_result.GetBaseReport(status="Accepted")

    @_after(Action.get_base_report)
    def after_get_base_report(self, request_id: int, report_base: str, **_: Any) -> None:
        if report_base != "SummaryInventory":
            self._station.spawn(self._notify_report(request_id, report_base))

    @_on(Action.get_report)
    def on_get_report(self, request_id: int, component_variable: list[dict[str, Any]]
                      | None = None, **_: Any) -> Any:
        found = self._station.device_model.matching(
            [_as_ocpp_json(item) for item in component_variable or []])
        return call_result.GetReport(status="Accepted" if found else "EmptyResultSet")

    @_after(Action.get_report)
    def after_get_report(self, request_id: int, component_variable: list[dict[str, Any]]
                         | None = None, **_: Any) -> None:
        # B08: the component criteria are not applied; what is asked for is reported.
        found = self._station.device_model.matching(
            [_as_ocpp_json(item) for item in component_variable or []])
        if found:
            self._station.spawn(self._send_report(request_id, found))

    async def _notify_report(self, request_id: int, report_base: str) -> None:
        model = self._station.device_model
        await self._send_report(request_id, model.report(report_base))

    async def _send_report(self, request_id: int, items: list[dict[str, Any]]) -> None:
        pages = list(self._station.device_model.pages(items))
        for seq_no, page in enumerate(pages):
            # OCPP 2.0.1 B07/B08: the report comes in NotifyReport pages, tbc until the last.
            await self._station.send(call.NotifyReport(
                request_id=request_id, generated_at=self._station._now(), seq_no=seq_no,
                report_data=page, tbc=seq_no < len(pages) - 1))

    # --- provisioning and availability (B11, B12, F06, G03, G04, F05) ----------------------

    @_on(Action.reset)
    def on_reset(self, type: str, evse_id: int | None = None, **_: Any) -> Any:  # noqa: A002
        # Recorded, not carried out: the simulated station keeps running.
        self._station.received.append(("Reset", {"type": type, "evseId": evse_id}))
        if evse_id is not None and evse_id not in self._station.evses():
            return call_result.Reset(status="Rejected")
        busy = type == "OnIdle" and bool(self._station.running())
        return call_result.Reset(status="Scheduled" if busy else "Accepted")

    @_on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None,
                           **_: Any) -> Any:
        self._station.received.append(("TriggerMessage", {
            "requestedMessage": requested_message, "evse": _as_ocpp_json(evse)}))
        known = requested_message in ("BootNotification", "Heartbeat", "StatusNotification",
                                      "MeterValues", "TransactionEvent", *_SIGN_TRIGGERS,
                                      "FirmwareStatusNotification", "LogStatusNotification")
        return call_result.TriggerMessage(status="Accepted" if known else "NotImplemented")

    @_after(Action.trigger_message)
    def after_trigger_message(self, requested_message: str, **_: Any) -> None:
        # F06.FR.09 (A02, A03): the asked-for SignCertificateRequest follows the answer.
        station = self._station
        if requested_message in _SIGN_TRIGGERS:
            station.spawn(station.send_sign_certificate(_SIGN_TRIGGERS[requested_message]))
        elif requested_message == "FirmwareStatusNotification":
            station.spawn(station.send_firmware_status(*station.firmware.triggered()))
        elif requested_message == "LogStatusNotification":
            station.spawn(station.send_log_status(*station.log_upload.triggered()))

    # --- firmware and logs (L01, L02, N01) -----------------------------------------------------

    @_on(Action.update_firmware)
    def on_update_firmware(self, request_id: int, firmware: dict[str, Any], **_: Any) -> Any:
        # The signature is not checked: a simulated download has nothing to verify.
        self._station.received.append(("UpdateFirmware", {"requestId": request_id,
                                                          "firmware": _as_ocpp_json(firmware)}))
        return call_result.UpdateFirmware(status=self._station.firmware.start(request_id))

    @_after(Action.update_firmware)
    def after_update_firmware(self, request_id: int, firmware: dict[str, Any],
                              **_: Any) -> None:
        self._station.spawn(self._station.update_firmware(request_id,
                                                          signed="signature" in firmware))

    @_on(Action.get_log)
    def on_get_log(self, log_type: str, request_id: int, log: dict[str, Any],
                   **_: Any) -> Any:
        self._station.received.append(("GetLog", {"logType": log_type, "requestId": request_id,
                                                  "log": _as_ocpp_json(log)}))
        return call_result.GetLog(status=self._station.log_upload.start(request_id),
                                  filename=f"{self.id}-{log_type}.log")

    @_after(Action.get_log)
    def after_get_log(self, request_id: int, **_: Any) -> None:
        self._station.spawn(self._station.upload_log(request_id))

    # --- certificates (A02, A03, M03, M04, M05) ----------------------------------------------

    @_on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str,
                              certificate_type: str | None = None, **_: Any) -> Any:
        kept = self._station.certificates.signed(certificate_chain, certificate_type)
        self._station.received.append(("CertificateSigned", {
            "certificateType": certificate_type, "accepted": kept}))
        return call_result.CertificateSigned(status="Accepted" if kept else "Rejected")

    @_on(Action.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str,
                               **_: Any) -> Any:
        installed = self._station.certificates.install(certificate_type, certificate)
        return call_result.InstallCertificate(status="Accepted" if installed else "Rejected")

    @_on(Action.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(self, certificate_type: list[str] | None = None,
                                         **_: Any) -> Any:
        found = self._station.certificates.installed(certificate_type)
        if not found:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(
            status="Accepted", certificate_hash_data_chain=found)

    @_on(Action.delete_certificate)
    def on_delete_certificate(self, certificate_hash_data: dict[str, Any], **_: Any) -> Any:
        status = self._station.certificates.delete(_as_ocpp_json(certificate_hash_data))
        return call_result.DeleteCertificate(status=status)

    @_on(Action.change_availability)
    def on_change_availability(self, operational_status: str,
                               evse: dict[str, Any] | None = None, **_: Any) -> Any:
        self._station.received.append(("ChangeAvailability", {
            "operationalStatus": operational_status, "evse": _as_ocpp_json(evse)}))
        return call_result.ChangeAvailability(status="Accepted")

    @_on(Action.unlock_connector)
    def on_unlock_connector(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        self._station.received.append(("UnlockConnector", {"evseId": evse_id,
                                                          "connectorId": connector_id}))
        if evse_id not in self._station.evses() or connector_id != 1:
            return call_result.UnlockConnector(status="UnknownConnector")
        return call_result.UnlockConnector(status="Unlocked")

    # --- smart charging (K01, K08, K09, K10) ------------------------------------------------

    @_on(Action.set_charging_profile)
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any],
                                **_: Any) -> Any:
        station = self._station
        if not station.device_model.flag("SmartChargingCtrlr", "Enabled"):
            # A station whose smart charging is off does not support the message.
            raise NotSupportedError("SmartChargingCtrlr.Enabled is false")
        parsed = station.smart_charging.parse(_as_ocpp_json(charging_profile))
        if isinstance(parsed, list):
            return _rejected("InvalidValue", parsed)
        running = {tx.evse_id: tx.transaction_id for tx in station.transactions.values()}
        violations = station.smart_charging.check(parsed, evse_id, running)
        if violations:
            return _rejected("InvalidValue", violations)
        if station.faults.reject_profile():
            return call_result.SetChargingProfile(status="Rejected")
        if station.faults.ignore_profile():
            return call_result.SetChargingProfile(status="Accepted")
        full = station.smart_charging.install(EvseProfile(evse_id, parsed))
        if full is not None:
            return call_result.SetChargingProfile(
                status="Rejected", status_info={"reasonCode": "NoCapacity",
                                                "additionalInfo": full[:_INFO_MAX]})
        station.after_profiles_changed()
        return call_result.SetChargingProfile(status="Accepted")

    @_after(Action.set_charging_profile)
    def after_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any],
                                   **_: Any) -> None:
        """A TxProfile the station holds is offered to the car, which answers with the
        schedule it chose (K15, ISO 15118)."""
        station = self._station
        profile_id = charging_profile["id"]
        if any(h.evse_id == evse_id and h.profile.charging_profile_id == profile_id
               and h.profile.purpose is ChargingProfilePurpose201.TX_PROFILE
               for h in station.smart_charging.held):
            station.spawn(station.send_ev_charging_schedule(evse_id))

    @_on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, charging_profile_id: int | None = None,
                                  charging_profile_criteria: dict[str, Any] | None = None,
                                  **_: Any) -> Any:
        criteria = charging_profile_criteria or {}
        purpose = criteria.get("charging_profile_purpose")
        removed = self._station.smart_charging.clear(
            profile_id=charging_profile_id, evse_id=criteria.get("evse_id"),
            purpose=ChargingProfilePurpose201(purpose) if purpose else None,
            stack_level=criteria.get("stack_level"))
        self._station.after_profiles_changed()
        # OCPP 2.0.1 K10: Unknown when nothing matched.
        return call_result.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    # --- reservations (H01, H02) ---------------------------------------------------------

    @_on(Action.reserve_now)
    def on_reserve_now(self, id: int, expiry_date_time: str,  # noqa: A002 (the field)
                       id_token: dict[str, Any], evse_id: int | None = None,
                       group_id_token: dict[str, Any] | None = None, **_: Any) -> Any:
        group = None if group_id_token is None else group_id_token["id_token"]
        reservation = Reservation(id, evse_id or 0, id_token["id_token"],
                                  parse_timestamp(expiry_date_time), group)
        return call_result.ReserveNow(status=self._station.reserve(reservation))

    @_after(Action.reserve_now)
    def after_reserve_now(self, id: int, **_: Any) -> None:  # noqa: A002 (the field)
        self._station.spawn(self._station.hold_reservation(id))

    @_on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        known = reservation_id in self._station.operations.reservations
        return call_result.CancelReservation(status="Accepted" if known else "Rejected")

    @_after(Action.cancel_reservation)
    def after_cancel_reservation(self, reservation_id: int, **_: Any) -> None:
        self._station.spawn(self._station.end_reservation(reservation_id))

    # --- local authorization list (D01, D02) ------------------------------------------

    @_on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        return call_result.GetLocalListVersion(
            version_number=self._station.operations.local_list.version)

    @_on(Action.send_local_list)
    def on_send_local_list(self, version_number: int, update_type: str,
                           local_authorization_list: list[dict[str, Any]] | None = None,
                           **_: Any) -> Any:
        # Kept as a 1.6 list is: by token, its IdTokenInfo (none: removed, Differential).
        items = [{"idTag": entry["idToken"]["idToken"], **(
            {"idTagInfo": entry["idTokenInfo"]} if "idTokenInfo" in entry else {})}
            for entry in _as_ocpp_json(local_authorization_list or [])]
        status = self._station.operations.local_list.update(version_number, update_type,
                                                            items)
        return call_result.SendLocalList(
            status="VersionMismatch" if status == "VersionMismatch" else "Accepted")

    # --- display messages (O01-O06) ------------------------------------------------------

    @_on(Action.set_display_message)
    def on_set_display_message(self, message: dict[str, Any], **_: Any) -> Any:
        shown = _as_ocpp_json(message)
        self._station.display_messages[shown["id"]] = shown
        return call_result.SetDisplayMessage(status="Accepted")

    @_on(Action.get_display_messages)
    def on_get_display_messages(self, request_id: int, id: list[int] | None = None,  # noqa: A002
                                **_: Any) -> Any:
        found = self._messages(id)
        return call_result.GetDisplayMessages(status="Accepted" if found else "Unknown")

    @_after(Action.get_display_messages)
    def after_get_display_messages(self, request_id: int, id: list[int] | None = None,  # noqa: A002
                                   **_: Any) -> None:
        found = self._messages(id)
        if found:
            self._station.spawn(self._station.send(call.NotifyDisplayMessages(
                request_id=request_id, message_info=found)))

    def _messages(self, ids: list[int] | None) -> list[dict[str, Any]]:
        shown = self._station.display_messages
        return [m for i, m in sorted(shown.items()) if ids is None or i in ids]

    @_on(Action.clear_display_message)
    def on_clear_display_message(self, id: int, **_: Any) -> Any:  # noqa: A002 (the field)
        gone = self._station.display_messages.pop(id, None)
        return call_result.ClearDisplayMessage(status="Accepted" if gone else "Unknown")

    # --- monitoring (N04, N05) ----------------------------------------------------------

    @_on(Action.set_variable_monitoring)
    def on_set_variable_monitoring(self, set_monitoring_data: list[dict[str, Any]],
                                   **_: Any) -> Any:
        self._within_items("SetVariableMonitoring", set_monitoring_data)
        station = self._station
        return call_result.SetVariableMonitoring(set_monitoring_result=[
            station.set_monitor(_as_ocpp_json(item)) for item in set_monitoring_data])

    @_on(Action.clear_variable_monitoring)
    def on_clear_variable_monitoring(self, id: list[int], **_: Any) -> Any:  # noqa: A002
        self._within_items("ClearVariableMonitoring", id)
        return call_result.ClearVariableMonitoring(
            clear_monitoring_result=[self._station.clear_monitor(i) for i in id])

    def _within_items(self, message: str, items: list[Any]) -> None:
        """More items than MonitoringCtrlr.ItemsPerMessage[message] in one request: the
        station refuses the request as a whole."""
        most = int(self._station.device_model.value("MonitoringCtrlr", "ItemsPerMessage",
                                                     message))
        if len(items) > most:
            raise OccurrenceConstraintViolationError(
                description=f"{len(items)} items, ItemsPerMessage[{message}] is {most}")

    @_on(Action.get_charging_profiles)
    def on_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any],
                                 evse_id: int | None = None, **_: Any) -> Any:
        groups = self._station.smart_charging.report_groups(**_criteria(charging_profile,
                                                                        evse_id))
        return call_result.GetChargingProfiles(status="Accepted" if groups else "NoProfiles")

    @_after(Action.get_charging_profiles)
    def after_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any],
                                    evse_id: int | None = None, **_: Any) -> None:
        groups = self._station.smart_charging.report_groups(**_criteria(charging_profile,
                                                                        evse_id))
        if groups:
            self._station.spawn(self._report_profiles(request_id, groups))

    async def _report_profiles(self, request_id: int,
                               groups: list[tuple[int, ChargingLimitSource,
                                                  list[EvseProfile]]]) -> None:
        for index, (evse, source, items) in enumerate(groups):
            # OCPP 2.0.1 K09: one ReportChargingProfiles per EVSE and source, tbc until last.
            await self._station.send(call.ReportChargingProfiles(
                request_id=request_id, charging_limit_source=source.value, evse_id=evse,
                charging_profile=[item.profile.to_ocpp() for item in items],
                tbc=index < len(groups) - 1))

    @_on(Action.get_composite_schedule)
    def on_get_composite_schedule(self, duration: int, evse_id: int,
                                  charging_rate_unit: str | None = None, **_: Any) -> Any:
        station = self._station
        if not 0 <= evse_id <= station.config.connectors:
            return call_result.GetCompositeSchedule(
                status="Rejected", status_info={"reasonCode": "UnknownEVSE"})
        units = rate_units(station.device_model)
        unit = ChargingRateUnit(charging_rate_unit) if charging_rate_unit else (
            units[0] if units else ChargingRateUnit.W)
        if unit not in units:
            return call_result.GetCompositeSchedule(
                status="Rejected", status_info={"reasonCode": "UnsupportedRateUnit"})
        now = station.clock.now().replace(microsecond=0)
        payload = station.smart_charging.composite(evse_id, now, duration, unit,
                                                   station.running())
        return call_result.GetCompositeSchedule(status="Accepted", schedule=payload["schedule"])

    # --- transactions --------------------------------------------------------------------------

    @_on(Action.request_start_transaction)
    def on_request_start_transaction(self, id_token: dict[str, Any], remote_start_id: int,
                                     evse_id: int | None = None, **_: Any) -> Any:
        free = self._station.free_evse(evse_id)
        return call_result.RequestStartTransaction(
            status="Accepted" if free is not None else "Rejected")

    @_after(Action.request_start_transaction)
    def after_request_start_transaction(self, id_token: dict[str, Any], remote_start_id: int,
                                        evse_id: int | None = None, **_: Any) -> None:
        # F01: a car is plugged in on the free EVSE and its transaction names the id.
        station = self._station
        free = station.free_evse(evse_id)
        if free is not None:
            station.spawn(station.plug_in(free, station.default_car(id_token["id_token"]),
                                          remote_start_id=remote_start_id))

    @_on(Action.request_stop_transaction)
    def on_request_stop_transaction(self, transaction_id: str, **_: Any) -> Any:
        known = self._evse_of(transaction_id) is not None
        return call_result.RequestStopTransaction(status="Accepted" if known else "Rejected")

    @_after(Action.request_stop_transaction)
    def after_request_stop_transaction(self, transaction_id: str, **_: Any) -> None:
        evse_id = self._evse_of(transaction_id)
        if evse_id is not None:
            self._station.spawn(self._station.stop_transaction(evse_id, "Remote",
                                                               "RemoteStop"))

    @_on(Action.get_transaction_status)
    def on_get_transaction_status(self, transaction_id: str | None = None, **_: Any) -> Any:
        # E14: nothing is queued (the simulator sends at once); ongoingIndicator only
        # when asked about one transaction.
        if transaction_id is None:
            return call_result.GetTransactionStatus(messages_in_queue=False)
        return call_result.GetTransactionStatus(
            messages_in_queue=False,
            ongoing_indicator=self._evse_of(transaction_id) is not None)

    def _evse_of(self, transaction_id: str) -> int | None:
        for evse_id, transaction in self._station.transactions.items():
            if transaction.transaction_id == transaction_id:
                return evse_id
        return None


def _criteria(criterion: dict[str, Any], evse_id: int | None) -> dict[str, Any]:
    """ChargingProfileCriterionType (snake_case, as the package hands it over) as the
    arguments of :func:`app.domain.profiles_v201.select_profiles`."""
    purpose = criterion.get("charging_profile_purpose")
    return {
        "evse_id": evse_id,
        "profile_ids": criterion.get("charging_profile_id") or (),
        "purpose": ChargingProfilePurpose201(purpose) if purpose else None,
        "stack_level": criterion.get("stack_level"),
        "sources": [ChargingLimitSource(s) for s in criterion.get("charging_limit_source") or ()],
    }


def _rejected(reason: str, violations: list[Any]) -> Any:
    """Rejected, with every broken rule in statusInfo (reasonCode at most 20 characters)."""
    info = "; ".join(str(v) for v in violations)
    logger.info("SetChargingProfile refused: %s", info)
    return call_result.SetChargingProfile(
        status="Rejected", status_info={"reasonCode": reason, "additionalInfo": info[:_INFO_MAX]})
