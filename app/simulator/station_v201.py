"""One simulated OCPP 2.0.1 charging station: its EVSEs, device model, transactions, car.

Each EVSE has one connector (connectorId 1). A transaction starts when a car plugs in:
TransactionEvent Started (seqNo 0), then NotifyEVChargingNeeds (the car says what it
needs by when), TransactionEvent Updated every SampledDataCtrlr.TxUpdatedInterval with the
meter values, and Ended when it leaves. The car draws what the composite schedule of its
EVSE offers (the shared car model), so it follows the TxProfile it is given.

Every message is built from the ``ocpp`` package's v201 dataclasses and validated both
ways against the 2.0.1 JSON schemas by the package (no call skips validation).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from ocpp.v201 import call
from websockets.asyncio.client import ClientConnection

from app.domain.composite import EvseTransaction
from app.domain.profiles import ChargingProfileKind, ChargingRateUnit
from app.domain.profiles_v201 import (
    ChargingLimitSource,
    ChargingProfile201,
    ChargingProfilePurpose201,
    ChargingSchedule201,
    ChargingSchedulePeriod201,
    EvseProfile,
)
from app.simulator.car import Car, PluggedCar
from app.simulator.certificates import CertificateStore
from app.simulator.clock import VirtualClock, ocpp_timestamp
from app.simulator.config import SimulatorConfig
from app.simulator.device_model import DeviceModel
from app.simulator.link import StationLink
from app.simulator.meter import Connector, periodic_sample
from app.simulator.operations import (
    FIRMWARE_STEPS,
    LOG_STEPS,
    SIGNED_FIRMWARE_STEPS,
    Operations,
    Progress,
    Reservation,
)
from app.simulator.protocol_v201 import StationProtocol201
from app.simulator.smart_charging_v201 import SmartCharging201

logger = logging.getLogger("chargeplan.simulator")

#: The id of the grid operator's ChargingStationExternalConstraints profile. Central
#: systems number their profiles from 1, and a central system can neither replace nor
#: clear this one (K01.FR.05), so 0 never meets one of theirs.
GRID_PROFILE_ID = 0


@dataclass(slots=True)
class Transaction201:
    """A transaction as the station knows it: its own id and the next seqNo to send."""

    transaction_id: str
    evse_id: int
    id_token: str
    start: datetime
    seq_no: int = 0
    # NotifyEVChargingSchedule sent so far: the car's chosen schedules.
    schedules_sent: int = 0

    def next_seq_no(self) -> int:
        """TransactionEventRequest.seqNo: the sequence number of the transaction's
        messages, so the central system sees whether it has them all (from 0 here)."""
        seq, self.seq_no = self.seq_no, self.seq_no + 1
        return seq


class SimulatedStation201(StationLink):
    """An OCPP 2.0.1 charging station with ``config.connectors`` EVSEs."""

    subprotocol = StationProtocol201.SUBPROTOCOL

    def __init__(
        self,
        station_id: str,
        index: int,
        config: SimulatorConfig,
        clock: VirtualClock,
        *,
        connect_gate: asyncio.Semaphore | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(station_id, index, config, clock, connect_gate=connect_gate, tls=tls)
        self.device_model = DeviceModel.for_station(config, config.heartbeat_interval or 0.0)
        self.smart_charging = SmartCharging201(station_id, config)
        self.transactions: dict[int, Transaction201] = {}
        self.last_charging_needs: dict[int, dict[str, Any]] = {}
        self.certificates = CertificateStore(station_id)
        # The requests it records without carrying them out (Reset, TriggerMessage,
        # ChangeAvailability, UnlockConnector), as (action, camelCase payload).
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.firmware = Progress(final="Installed")
        self.log_upload = Progress(final="Uploaded")
        # Reservations (H01) and the local authorization list (D01, D02) as a 1.6
        # station keeps them, and the messages it displays (O01), by id.
        self.operations = Operations()
        self.display_messages: dict[int, dict[str, Any]] = {}
        # The monitors set on its variables (N04), by id.
        self.monitors: dict[int, dict[str, Any]] = {}

    def set_monitor(self, item: dict[str, Any]) -> dict[str, Any]:
        """One SetMonitoringResultType for a SetMonitoringDataType: a monitor on a variable
        the model has is kept under its id (the request's, which replaces that monitor,
        or a new one)."""
        result: dict[str, Any] = {key: item[key] for key in ("type", "severity", "component",
                                                            "variable")}
        if self.device_model.find(item["component"], item["variable"]) is None:
            result["status"] = ("UnknownVariable"
                                if self.device_model.knows_component(item["component"])
                                else "UnknownComponent")
            return result
        monitor_id = item.get("id")
        if monitor_id is None:
            monitor_id = max(self.monitors, default=0) + 1
        elif monitor_id not in self.monitors:
            result["status"] = "Rejected"
            return result
        self.monitors[monitor_id] = {**item, "id": monitor_id}
        return {**result, "status": "Accepted", "id": monitor_id}

    def clear_monitor(self, monitor_id: int) -> dict[str, Any]:
        """One ClearMonitoringResultType."""
        gone = self.monitors.pop(monitor_id, None)
        return {"status": "Accepted" if gone is not None else "NotFound", "id": monitor_id}

    # --- StationLink ---------------------------------------------------------------------

    def open_protocol(self, connection: ClientConnection) -> StationProtocol201:
        return StationProtocol201(self, connection)

    def set_heartbeat_interval(self, seconds: float) -> None:
        self.device_model.set_value("OCPPCommCtrlr", "HeartbeatInterval", f"{seconds:g}")

    def evses(self) -> range:
        return range(1, self.config.connectors + 1)

    def is_charging(self, connector_id: int) -> bool:
        return connector_id in self.transactions

    def running(self) -> list[EvseTransaction]:
        return [EvseTransaction(tx.transaction_id, tx.evse_id, tx.start)
                for tx in self.transactions.values()]

    def limit_w(self, connector_id: int, at: datetime | None = None) -> float:
        instant = at if at is not None else self.clock.now()
        return self.smart_charging.limit(connector_id, instant, ChargingRateUnit.W,
                                         self.config.max_power_w, self.running())

    def limit_a(self, connector_id: int, at: datetime | None = None) -> float:
        instant = at if at is not None else self.clock.now()
        return self.smart_charging.limit_a(connector_id, instant, self.running())

    async def _after_boot(self) -> None:
        await self.send_all_statuses()
        self.spawn(self._heartbeats())
        self.spawn(self._updates())
        if self.config.grid_limit_a is not None:
            self.spawn(self._grid_limit_later(self.config.grid_limit_a,
                                              self.config.grid_limit_after_s))
        if self.config.auto_charge and 1 not in self.transactions:
            await self.plug_in(1, self.default_car(self.config.id_tag))

    def default_car(self, id_token: str) -> Car:
        """The car ``--auto-charge`` plugs in, drawing up to ``--ev-max-power-w``."""
        amps = self.config.ev_max_power_w / (self.config.voltage * self.config.phases)
        return Car(id_token, max_current_a=amps, phases=3 if self.config.phases == 3 else 1)

    def free_evse(self, evse_id: int | None) -> int | None:
        """The EVSE a remote start may use: ``evse_id`` or the first, if operative, with no
        car and no transaction; None when there is none."""
        free = [n for n, c in self.connectors.items()
                if n not in self.transactions and c.operative and not c.ev_plugged]
        chosen = evse_id if evse_id is not None else (free[0] if free else None)
        return chosen if chosen in free else None

    # --- what it sends ---------------------------------------------------------------------

    def _now(self) -> str:
        return ocpp_timestamp(self.clock.now())

    async def send_boot_notification(self) -> Any:
        return await self.send(call.BootNotification(
            charging_station={"model": "PY-SIM-201", "vendorName": "chargeplan",
                              "serialNumber": self.station_id, "firmwareVersion": "1.0.0"},
            reason="PowerUp"))

    async def send_status(self, evse_id: int) -> None:
        connector = self.connectors[evse_id]
        status = "Occupied" if connector.ev_plugged else (
            "Unavailable" if not connector.operative else
            "Reserved" if self.operations.reservation_on(evse_id) is not None else
            "Available")
        await self.send(call.StatusNotification(timestamp=self._now(), connector_status=status,
                                                evse_id=evse_id, connector_id=1))

    async def send_all_statuses(self) -> None:
        """After boot, a StatusNotification for the connector of each EVSE."""
        for evse_id in self.connectors:
            await self.send_status(evse_id)

    async def send_sign_certificate(self, certificate_type: str | None) -> Any:
        """A02/A03: a new key, and its CSR to be signed (the answer, or None)."""
        organization = self.device_model.value("SecurityCtrlr", "OrganizationName") or ""
        csr = self.certificates.request(certificate_type, organization)
        return await self.send(call.SignCertificate(csr=csr, certificate_type=certificate_type))

    async def send_heartbeat(self) -> None:
        await self.send(call.Heartbeat())

    async def send_firmware_status(self, status: str, request_id: int | None) -> None:
        await self.send(call.FirmwareStatusNotification(status=status, request_id=request_id))

    async def send_log_status(self, status: str, request_id: int | None) -> None:
        await self.send(call.LogStatusNotification(status=status, request_id=request_id))

    async def update_firmware(self, request_id: int, signed: bool) -> None:
        """L01/L02: download, (verify,) install, and say so at each step with the
        requestId of the update (L02.FR.06); a newer update ends this one."""
        for status in SIGNED_FIRMWARE_STEPS if signed else FIRMWARE_STEPS:
            await asyncio.sleep(self.config.operation_step_s)
            if not self.firmware.current(request_id):
                return
            await self.send_firmware_status(status, request_id)
            self.firmware.sent(request_id, status)

    async def upload_log(self, request_id: int) -> None:
        """N01: upload the log named in the GetLog answer, saying so at each step."""
        for status in LOG_STEPS:
            await asyncio.sleep(self.config.operation_step_s)
            if not self.log_upload.current(request_id):
                return
            await self.send_log_status(status, request_id)
            self.log_upload.sent(request_id, status)

    def reserve(self, reservation: Reservation) -> str:
        """H01: ReserveNowResponse status. An EVSE (``connector_id``) it has, operative,
        without a car or another reservation; 0: any EVSE, while one is free. A
        reservation of the same id is replaced."""
        self.operations.reservations.pop(reservation.reservation_id, None)
        evse_id = reservation.connector_id
        if evse_id == 0:
            free = [n for n, c in self.connectors.items() if c.operative
                    and not c.ev_plugged and n not in self.transactions
                    and self.operations.reservation_on(n) is None]
            if not free:
                return "Occupied"
        else:
            connector = self.connectors.get(evse_id)
            if connector is None:
                return "Rejected"
            if not connector.operative:
                return "Unavailable"
            if (connector.ev_plugged or evse_id in self.transactions
                    or self.operations.reservation_on(evse_id) is not None):
                return "Occupied"
        self.operations.reservations[reservation.reservation_id] = reservation
        return "Accepted"

    async def hold_reservation(self, reservation_id: int) -> None:
        """The EVSE shows Reserved until the reservation expires (then a
        ReservationStatusUpdate Expired) or is cancelled."""
        reservation = self.operations.reservations.get(reservation_id)
        if reservation is None:
            return
        if reservation.connector_id:
            await self.send_status(reservation.connector_id)
        wait = (reservation.expiry - self.clock.now()).total_seconds()
        await asyncio.sleep(max(0.0, wait))
        if self.operations.reservations.get(reservation_id) is reservation:
            await self.end_reservation(reservation_id, expired=True)

    async def end_reservation(self, reservation_id: int, *, expired: bool = False) -> None:
        reservation = self.operations.reservations.pop(reservation_id, None)
        if reservation is None:
            return
        if expired:
            await self.send(call.ReservationStatusUpdate(
                reservation_id=reservation_id, reservation_update_status="Expired"))
        if reservation.connector_id:
            await self.send_status(reservation.connector_id)

    async def _heartbeats(self) -> None:
        while True:
            interval = float(self.device_model.value("OCPPCommCtrlr", "HeartbeatInterval"))
            await asyncio.sleep(interval if interval > 0 else 60.0)
            await self.send_heartbeat()

    async def _updates(self) -> None:
        while True:
            interval = float(self.device_model.value("SampledDataCtrlr", "TxUpdatedInterval"))
            await asyncio.sleep(interval if interval > 0 else self.config.meter_interval)
            for evse_id in list(self.transactions):
                await self.send_meter_values(evse_id)

    async def send_meter_values(self, evse_id: int) -> None:
        """A periodic reading of a running transaction: TransactionEvent Updated (2.0.1
        reports transaction meter values there rather than in MeterValues)."""
        if evse_id in self.transactions:
            await self.send_transaction_event(evse_id, "Updated", "MeterValuePeriodic",
                                              context="Sample.Periodic")

    def meter_value(self, evse_id: int, context: str) -> dict[str, Any]:
        """A MeterValueType from the shared meter model: the 1.6 sample in 2.0.1's shape."""
        now = self.clock.now()
        at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self._refresh_power(evse_id, at)
        sample = periodic_sample(self.connectors[evse_id], at, self.config.voltage,
                                 self.config.phases)
        values: list[dict[str, Any]] = []
        for item in cast(list[dict[str, str]], sample["sampledValue"]):
            value: dict[str, Any] = {"value": float(item["value"]), "context": context,
                                     "measurand": item["measurand"],
                                     "location": item["location"],
                                     "unitOfMeasure": {"unit": item["unit"]}}
            if "phase" in item:
                value["phase"] = item["phase"]
            values.append(value)
        return {"timestamp": sample["timestamp"], "sampledValue": values}

    async def send_transaction_event(self, evse_id: int, event_type: str, trigger: str, *,
                                     context: str, stopped_reason: str | None = None,
                                     charging_state: str | None = None,
                                     remote_start_id: int | None = None,
                                     reservation_id: int | None = None) -> Any:
        transaction = self.transactions[evse_id]
        info: dict[str, Any] = {"transactionId": transaction.transaction_id}
        if remote_start_id is not None:
            info["remoteStartId"] = remote_start_id
        if charging_state is not None:
            info["chargingState"] = charging_state
        if stopped_reason is not None:
            info["stoppedReason"] = stopped_reason
        return await self.send(call.TransactionEvent(
            event_type=event_type, timestamp=self._now(), trigger_reason=trigger,
            seq_no=transaction.next_seq_no(), transaction_info=info,
            reservation_id=reservation_id,
            meter_value=[self.meter_value(evse_id, context)],
            evse={"id": evse_id, "connectorId": 1},
            id_token=({"idToken": transaction.id_token, "type": "Central"}
                      if event_type == "Started" else None)))

    # --- cars and transactions --------------------------------------------------------------

    async def plug_in(self, evse_id: int, car: Car, remote_start_id: int | None = None) -> None:
        """A car arrives: Started, then the car's charging needs (ISO 15118). With
        ``remote_start_id`` it was a RequestStartTransaction's (F01): the Started event
        says so and names it. A reservation of the car's id token on the EVSE (or on
        any EVSE) ends with it: the Started event names it (H01)."""
        connector = self.connectors[evse_id]
        connector.ev_plugged = True
        reservation = (self.operations.reservation_on(evse_id)
                       or self.operations.reservation_on(0))
        reservation_id = None
        if reservation is not None and reservation.id_tag == car.id:
            reservation_id = reservation.reservation_id
            del self.operations.reservations[reservation_id]
        self.cars[evse_id] = PluggedCar(car, car.soc)
        await self.send_status(evse_id)
        start = self.clock.now().replace(microsecond=0)
        # The station chooses the transaction id (OCPP 2.0.1 TransactionType: a string).
        transaction = Transaction201(str(uuid.uuid4()), evse_id, car.id, start)
        self.transactions[evse_id] = transaction
        self._refresh_power(evse_id, start)
        await self.send_transaction_event(
            evse_id, "Started", "CablePluggedIn" if remote_start_id is None else "RemoteStart",
            context="Transaction.Begin", charging_state="EVConnected",
            remote_start_id=remote_start_id, reservation_id=reservation_id)
        await self.send_charging_needs(evse_id, car, start, car.soc)
        await self.send_transaction_event(evse_id, "Updated", "ChargingStateChanged",
                                          context="Sample.Periodic", charging_state="Charging")

    async def send_charging_needs(self, evse_id: int, car: Car, plugged_at: datetime,
                                  soc: float) -> Any:
        """NotifyEVChargingNeeds: the energy from ``soc`` (on arrival) to full, by the car's
        departure."""
        dwell = (car.depart_s - car.arrive_s) if car.depart_s is not None \
            else self.config.ev_dwell_s
        energy_wh = round(car.battery_wh * (1.0 - soc))
        needs: dict[str, Any] = {
            "requestedEnergyTransfer": "AC_three_phase" if car.phases == 3
            else "AC_single_phase",
            "departureTime": ocpp_timestamp(plugged_at + timedelta(seconds=dwell)),
            "acChargingParameters": {"energyAmount": energy_wh,
                                     "evMinCurrent": 6, "evMaxCurrent": int(car.max_current_a),
                                     "evMaxVoltage": int(self.config.voltage)}}
        self.last_charging_needs[evse_id] = needs
        return await self.send(call.NotifyEVChargingNeeds(charging_needs=needs, evse_id=evse_id))

    async def send_ev_charging_schedule(self, evse_id: int) -> Any:
        """NotifyEVChargingSchedule: the schedule the car chose after a TxProfile (ISO
        15118 PowerDeliveryReq): its EVSE's composite from now, capped at what the car
        takes, or above it by ``ev_schedule_excess_a`` the first time (for testing)."""
        transaction, car = self.transactions.get(evse_id), self.cars.get(evse_id)
        excess = self.config.ev_schedule_excess_a
        if transaction is None or car is None or excess is None:
            return None
        now = self.clock.now().replace(microsecond=0)
        duration = int(min(self.config.ev_dwell_s, 24 * 3600))
        offer = self.smart_charging.composite(evse_id, now, duration, ChargingRateUnit.A,
                                              self.running())["schedule"]
        over = excess if transaction.schedules_sent == 0 else 0.0
        transaction.schedules_sent += 1
        periods = [{"startPeriod": p["startPeriod"],
                    "limit": (p["limit"] + over) if over else min(p["limit"],
                                                                 car.car.max_current_a)}
                   for p in offer["chargingSchedulePeriod"]]
        return await self.send(call.NotifyEVChargingSchedule(
            time_base=ocpp_timestamp(now), evse_id=evse_id, charging_schedule={
                "id": 1, "chargingRateUnit": "A", "duration": duration,
                "chargingSchedulePeriod": periods}))

    async def unplug(self, evse_id: int) -> None:
        """The car leaves: Ended (EVDisconnected)."""
        await self.stop_transaction(evse_id, "EVDisconnected", "EVDeparted")
        self.cars.pop(evse_id, None)
        connector = self.connectors[evse_id]
        connector.ev_plugged = False
        connector.phase_a = connector.offered_a = None
        await self.send_status(evse_id)

    async def stop_transaction(self, evse_id: int, reason: str, trigger: str) -> None:
        if evse_id not in self.transactions:
            return
        connector: Connector = self.connectors[evse_id]
        now = self.clock.now()
        if evse_id in self.cars:
            self.cars[evse_id].draw(now, 0.0, self.config.voltage)
            connector.phase_a = (0.0, 0.0, 0.0)
        connector.draw(now, 0.0, 0.0)
        await self.send_transaction_event(evse_id, "Ended", trigger, context="Transaction.End",
                                          stopped_reason=reason, charging_state="EVConnected")
        del self.transactions[evse_id]
        self.smart_charging.end_transaction(evse_id)
        self.after_profiles_changed()

    # --- smart charging -----------------------------------------------------------------------

    def after_profiles_changed(self) -> None:
        self.device_model.set_value("SmartChargingCtrlr", "Entries",
                                    str(len(self.smart_charging.held)), "ChargingProfiles")
        self._refresh_all_power()

    def lose_profile(self, profile_id: int) -> bool:
        """A fault seen in the field: the station drops a profile it acknowledged and
        tells nobody (no message; only GetChargingProfiles shows it). False when it held
        none with that id."""
        lost = self.smart_charging.forget(profile_id)
        if lost:
            self.after_profiles_changed()
        return lost

    async def _grid_limit_later(self, amps: float, after_s: float) -> None:
        await asyncio.sleep(after_s)
        await self.apply_grid_limit(amps)

    async def apply_grid_limit(self, amps: float) -> None:
        """The grid operator limits the station: hold a ChargingStationExternalConstraints
        profile on EVSE 0 and tell the central system (NotifyChargingLimit, source SO),
        with the schedule when SmartChargingCtrlr.NotifyChargingLimitWithSchedules is true."""
        schedule = ChargingSchedule201(
            charging_rate_unit=ChargingRateUnit.A,
            periods=(ChargingSchedulePeriod201(0, amps),),
            start_schedule=self.clock.now().replace(microsecond=0), id=1)
        profile = ChargingProfile201(
            GRID_PROFILE_ID, 0, ChargingProfilePurpose201.CHARGING_STATION_EXTERNAL_CONSTRAINTS,
            ChargingProfileKind.ABSOLUTE, (schedule,))
        # A new grid limit replaces the grid's previous one (after a reconnect, too).
        self.smart_charging.lift(ChargingLimitSource.SO)
        reason = self.smart_charging.install(EvseProfile(0, profile, ChargingLimitSource.SO))
        if reason is not None:
            logger.warning("%s: grid limit not held: %s", self.station_id, reason)
            return
        self.after_profiles_changed()
        with_schedule = self.device_model.flag("SmartChargingCtrlr",
                                               "NotifyChargingLimitWithSchedules")
        await self.send(call.NotifyChargingLimit(
            charging_limit={"chargingLimitSource": "SO", "isGridCritical": True},
            charging_schedule=[schedule.to_ocpp()] if with_schedule else None))
