"""What a simulated station answers to each CALL of the central system (OCPP 1.6 §5)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.typing import Subprotocol

from app.domain.profiles import ChargingProfilePurpose, ChargingRateUnit
from app.simulator.faults import FaultInjector
from app.simulator.operations import Reservation
from app.simulator.smart_charging import ProfileDecision
from app.timefmt import parse_timestamp

if TYPE_CHECKING:
    from app.simulator.station import SimulatedStation

logger = logging.getLogger("chargeplan.simulator")
# chargePointVendor in BootNotification; DataTransfer to it is understood.
VENDOR_ID = "chargeplan"


class _FrameLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The package logs every frame at INFO; for a fleet of stations that belongs at DEBUG."""

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


frame_logger = _FrameLog(logging.getLogger("chargeplan.simulator.frames"), {})

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def _on(action: str) -> Callable[[_Handler], _Handler]:
    return cast(Callable[[_Handler], _Handler], on(action))


def _after(action: str) -> Callable[[_Handler], _Handler]:
    return cast(Callable[[_Handler], _Handler], after(action))


def _as_ocpp_json(data: Any) -> Any:
    """The package's snake_case payload back in OCPP's camelCase, with plain floats.

    The package reads JSON numbers with a fraction as Decimal; the core takes float.
    """
    return _plain_numbers(snake_to_camel_case(data))


def _plain_numbers(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _plain_numbers(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain_numbers(value) for value in data]
    if isinstance(data, Decimal):
        return float(data)  # only JSON numbers with a fraction or exponent become Decimal
    return data


def _is_call(raw: str | bytes) -> bool:
    try:
        frame = json.loads(raw)
    except ValueError:
        return False
    return isinstance(frame, list) and bool(frame) and frame[0] == 2


async def route_with_faults(protocol: Any, faults: FaultInjector, raw_msg: str | bytes,
                            route: Callable[[str | bytes], Awaitable[None]]) -> None:
    """Route one frame, leaving a server CALL unanswered or answering it late when the
    station's faults say so (``--drop-rate``, ``--delay-ms``); both OCPP versions use it.
    Frames are only parsed here when such a fault is on."""
    if faults.on_calls and _is_call(raw_msg):
        if faults.drop_call():
            logger.info("%s: leaving a server CALL unanswered (fault)", protocol.id)
            return
        if faults.answer_delay > 0:
            await asyncio.sleep(faults.answer_delay)
    await route(raw_msg)


class StationProtocol(ChargePoint):  # type: ignore[misc]
    """One connection of a :class:`SimulatedStation`: handlers stay small and delegate.

    Outbound CALLs never run inside an ``@on`` handler (the receive loop would wait on
    itself); work that must follow an answer runs from ``@after`` hooks as tasks that the
    station's connection owns.
    """

    SUBPROTOCOL = Subprotocol("ocpp1.6")

    def __init__(self, station: SimulatedStation, connection: Any) -> None:
        super().__init__(
            station.station_id,
            connection,
            response_timeout=station.config.response_timeout,
            logger=frame_logger,
        )
        self._station = station

    async def route_message(self, raw_msg: str | bytes) -> None:
        await route_with_faults(self, self._station.faults, raw_msg, super().route_message)

    # --- configuration ----------------------------------------------------------------

    @_on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        known, unknown = self._station.configuration.get(key)
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @_on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        status = self._station.configuration.change(key, value)
        logger.info("%s: ChangeConfiguration %s=%s: %s", self.id, key, value, status)
        return call_result.ChangeConfiguration(status=status.value)

    # --- smart charging ---------------------------------------------------------------

    @_on(Action.set_charging_profile)
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> Any:
        # The package hands the payload over in snake_case; the core reads OCPP's camelCase.
        decision, _profile = self._station.set_charging_profile(
            connector_id, _as_ocpp_json(cs_charging_profiles)
        )
        return call_result.SetChargingProfile(status=decision.value)

    @_on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        id: int | None = None,  # noqa: A002 - the OCPP field name
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
        **_: Any,
    ) -> Any:
        removed = self._station.clear_charging_profiles(
            profile_id=id,
            connector_id=connector_id,
            purpose=ChargingProfilePurpose(charging_profile_purpose)
            if charging_profile_purpose
            else None,
            stack_level=stack_level,
        )
        # OCPP 1.6 §5.5: Unknown when no profile matched.
        return call_result.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    @_on(Action.get_composite_schedule)
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None, **_: Any
    ) -> Any:
        station = self._station
        if not 0 <= connector_id <= station.config.connectors:
            return call_result.GetCompositeSchedule(status="Rejected")
        # The station's own preference is W when the request names no unit (§6.25).
        unit = ChargingRateUnit(charging_rate_unit) if charging_rate_unit else ChargingRateUnit.W
        answer = station.config.composite_answer
        if answer == "rejected":
            return call_result.GetCompositeSchedule(status="Rejected")
        if answer == "no-schedule":
            # chargingSchedule is optional in GetCompositeSchedule.conf: a simple charger
            # answers Accepted and shows nothing.
            return call_result.GetCompositeSchedule(status="Accepted")
        payload = station.composite_answer(connector_id, duration, unit)
        return call_result.GetCompositeSchedule(**camel_to_snake_case(payload))

    # --- transactions -----------------------------------------------------------------

    @_on(Action.remote_start_transaction)
    def on_remote_start_transaction(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        return call_result.RemoteStartTransaction(
            status="Accepted"
            if self._remote_start_plan(connector_id, charging_profile)
            else "Rejected"
        )

    @_after(Action.remote_start_transaction)
    def after_remote_start_transaction(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        plan = self._remote_start_plan(connector_id, charging_profile)
        if plan is not None:
            chosen, profile = plan
            self._station.spawn(self._station.start_transaction(chosen, id_tag, profile))

    def _remote_start_plan(
        self, connector_id: int | None, charging_profile: dict[str, Any] | None
    ) -> tuple[int, Any] | None:
        """The connector and TxProfile a RemoteStartTransaction.req asks for, or None."""
        station = self._station
        free = [
            n
            for n, connector in station.connectors.items()
            if n not in station.transactions and connector.operative and not connector.ev_plugged
        ]
        chosen = connector_id if connector_id is not None else (free[0] if free else None)
        if chosen is None or chosen not in free:
            return None
        if charging_profile is None:
            return chosen, None
        # OCPP 1.6 §5.11 and errata §3.41: only a TxProfile without transactionId.
        decision, profile = station.set_charging_profile(
            chosen, _as_ocpp_json(charging_profile), in_remote_start=True
        )
        if (
            decision is not ProfileDecision.ACCEPTED
            or profile is None
            or profile.purpose is not ChargingProfilePurpose.TX_PROFILE
        ):
            return None
        return chosen, profile

    @_on(Action.remote_stop_transaction)
    def on_remote_stop_transaction(self, transaction_id: int, **_: Any) -> Any:
        known = self._connector_of(transaction_id) is not None
        return call_result.RemoteStopTransaction(status="Accepted" if known else "Rejected")

    @_after(Action.remote_stop_transaction)
    def after_remote_stop_transaction(self, transaction_id: int, **_: Any) -> None:
        connector_id = self._connector_of(transaction_id)
        if connector_id is not None:
            self._station.spawn(self._station.stop_transaction(connector_id, "Remote"))

    def _connector_of(self, transaction_id: int) -> int | None:
        for connector_id, transaction in self._station.transactions.items():
            if transaction.transaction_id == transaction_id:
                return connector_id
        return None

    # --- device management --------------------------------------------------------------

    @_on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> Any:  # noqa: A002 - the OCPP field name
        return call_result.Reset(status="Accepted")

    @_after(Action.reset)
    def after_reset(self, type: str, **_: Any) -> None:  # noqa: A002
        self._station.spawn(self._station.reset(type))

    @_on(Action.trigger_message)
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        station = self._station
        if connector_id is not None and not 0 <= connector_id <= station.config.connectors:
            return call_result.TriggerMessage(status="Rejected")
        # OCPP 1.6 §7.32 MessageTrigger: every value is supported.
        return call_result.TriggerMessage(status="Accepted")

    @_after(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        station = self._station
        if connector_id is not None and not 0 <= connector_id <= station.config.connectors:
            return
        # OCPP 1.6 §5.17: the triggered message follows the TriggerMessage.conf.
        if requested_message == "BootNotification":
            station.spawn(station.send_boot_notification())
        elif requested_message == "Heartbeat":
            station.spawn(station.send_heartbeat())
        elif requested_message == "StatusNotification":
            if connector_id is None:
                station.spawn(station.send_all_statuses())
            else:
                station.spawn(station.send_status(connector_id))
        elif requested_message == "MeterValues":
            for n in [connector_id] if connector_id else list(station.connectors):
                station.spawn(station.send_meter_values(n))
        elif requested_message == "FirmwareStatusNotification":
            station.spawn(station.send_firmware_status(station.operations.firmware_status))
        elif requested_message == "DiagnosticsStatusNotification":
            station.spawn(
                station.send_diagnostics_status(station.operations.diagnostics_status))

    @_on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any) -> Any:
        exists = connector_id in self._station.connectors
        return call_result.UnlockConnector(status="Unlocked" if exists else "NotSupported")

    @_after(Action.unlock_connector)
    def after_unlock_connector(self, connector_id: int, **_: Any) -> None:
        # OCPP 1.6 §5.18: a running transaction on the connector is stopped first.
        if connector_id in self._station.transactions:
            self._station.spawn(self._station.stop_transaction(connector_id, "UnlockCommand"))

    @_on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:  # noqa: A002
        station = self._station
        if not 0 <= connector_id <= station.config.connectors:
            return call_result.ChangeAvailability(status="Rejected")
        targets = list(station.connectors) if connector_id == 0 else [connector_id]
        busy = False
        for n in targets:
            station.connectors[n].operative = type == "Operative"
            busy = busy or n in station.transactions
        # OCPP 1.6 §5.2: with a transaction running the change waits for its end: Scheduled.
        return call_result.ChangeAvailability(status="Scheduled" if busy else "Accepted")

    @_after(Action.change_availability)
    def after_change_availability(self, connector_id: int, **_: Any) -> None:
        station = self._station
        targets = list(station.connectors) if connector_id == 0 else [connector_id]
        for n in targets:
            connector = station.connectors.get(n)
            if connector is not None and n not in station.transactions:
                connector.status = "Available" if connector.operative else "Unavailable"
                station.spawn(station.send_status(n))

    @_on(Action.data_transfer)
    def on_data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None, **_: Any
    ) -> Any:
        # OCPP 1.6 §5.6: a vendorId it does not know is answered UnknownVendorId; echoing
        # the data back for its own vendor id is the simulator's choice.
        if vendor_id != VENDOR_ID:
            return call_result.DataTransfer(status="UnknownVendorId")
        return call_result.DataTransfer(status="Accepted", data=data)

    @_on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        return call_result.ClearCache(status="Accepted")

    # --- local authorization list (OCPP 1.6 §5.10, §5.15) -------------------------------

    @_on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        return call_result.GetLocalListVersion(
            list_version=self._station.operations.local_list.version)

    @_on(Action.send_local_list)
    def on_send_local_list(
        self, list_version: int, update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None, **_: Any,
    ) -> Any:
        items = _as_ocpp_json(local_authorization_list or [])
        status = self._station.operations.local_list.update(list_version, update_type, items)
        return call_result.SendLocalList(status=status)

    # --- reservations (OCPP 1.6 §5.13, §5.1) ---------------------------------------------

    @_on(Action.reserve_now)
    def on_reserve_now(
        self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int,
        parent_id_tag: str | None = None, **_: Any,
    ) -> Any:
        reservation = Reservation(reservation_id, connector_id, id_tag,
                                  parse_timestamp(expiry_date), parent_id_tag)
        return call_result.ReserveNow(status=self._station.reserve(reservation))

    @_after(Action.reserve_now)
    def after_reserve_now(self, reservation_id: int, **_: Any) -> None:
        self._station.spawn(self._station.announce_reservation(reservation_id))

    @_on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        known = reservation_id in self._station.operations.reservations
        return call_result.CancelReservation(status="Accepted" if known else "Rejected")

    @_after(Action.cancel_reservation)
    def after_cancel_reservation(self, reservation_id: int, **_: Any) -> None:
        self._station.spawn(self._station.end_reservation(reservation_id))

    # --- firmware and diagnostics (OCPP 1.6 §5.19, §5.9) -------------------------------

    @_on(Action.update_firmware)
    def on_update_firmware(self, **_: Any) -> Any:
        return call_result.UpdateFirmware()

    @_after(Action.update_firmware)
    def after_update_firmware(self, **_: Any) -> None:
        self._station.spawn(self._station.update_firmware())

    @_on(Action.get_diagnostics)
    def on_get_diagnostics(self, **_: Any) -> Any:
        return call_result.GetDiagnostics(file_name=f"{self.id}-diagnostics.log")

    @_after(Action.get_diagnostics)
    def after_get_diagnostics(self, **_: Any) -> None:
        self._station.spawn(self._station.upload_diagnostics())
