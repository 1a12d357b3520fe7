"""One simulated OCPP 1.6J charge point: its state, its connection and what it sends."""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import datetime
from typing import Any

from ocpp.v16 import call
from websockets.asyncio.client import ClientConnection

from app.domain.composite import ActiveTransaction, CompositeSchedule
from app.domain.installation import InstalledProfile
from app.domain.profiles import ChargingProfile, ChargingProfilePurpose, ChargingRateUnit
from app.simulator.car import Car, PluggedCar
from app.simulator.clock import VirtualClock, ocpp_timestamp
from app.simulator.config import SimulatorConfig
from app.simulator.configuration import StationConfiguration
from app.simulator.link import StationLink
from app.simulator.meter import Transaction, periodic_sample
from app.simulator.operations import (
    DIAGNOSTICS_STEPS,
    FIRMWARE_STEPS,
    Operations,
    Reservation,
)
from app.simulator.profile_store import ProfileStore
from app.simulator.protocol import StationProtocol
from app.simulator.smart_charging import ProfileDecision, SmartChargingState

logger = logging.getLogger("chargeplan.simulator")


class SimulatedStation(StationLink):
    """An OCPP 1.6J charge point with ``config.connectors`` connectors that connects to
    ``config.url``.

    It reconnects after every close, like a real charger, until :meth:`run` is cancelled.
    """

    subprotocol = StationProtocol.SUBPROTOCOL

    def __init__(
        self,
        station_id: str,
        index: int,
        config: SimulatorConfig,
        clock: VirtualClock,
        *,
        store: ProfileStore | None = None,
        connect_gate: asyncio.Semaphore | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(station_id, index, config, clock, connect_gate=connect_gate, tls=tls)
        self.configuration = StationConfiguration(config, config.heartbeat_interval or 0.0)
        self._store = store
        self.smart_charging = SmartChargingState(
            station_id,
            config,
            store.load(station_id) if store else (),
            on_change=self._persist,
        )
        self.transactions: dict[int, Transaction] = {}
        self.operations = Operations()

    def open_protocol(self, connection: ClientConnection) -> StationProtocol:
        return StationProtocol(self, connection)

    def set_heartbeat_interval(self, seconds: float) -> None:
        self.configuration.set_value("HeartbeatInterval", seconds)

    def is_charging(self, connector_id: int) -> bool:
        return connector_id in self.transactions

    # --- what tests and callers read -------------------------------------------------

    @property
    def installed_profiles(self) -> tuple[InstalledProfile, ...]:
        return self.smart_charging.installed

    def active_transactions(self) -> list[ActiveTransaction]:
        return [
            ActiveTransaction(tx.transaction_id, tx.connector_id, tx.start)
            for tx in self.transactions.values()
        ]

    def composite(
        self,
        connector_id: int,
        duration: int,
        unit: ChargingRateUnit = ChargingRateUnit.W,
        start: datetime | None = None,
    ) -> CompositeSchedule:
        """The composite schedule from ``start`` (default: the station's now, whole seconds)."""
        at = start if start is not None else self.clock.now().replace(microsecond=0)
        return self.smart_charging.composite(
            connector_id, at, duration, unit, self.active_transactions()
        )

    def composite_answer(
        self, connector_id: int, duration: int, unit: ChargingRateUnit = ChargingRateUnit.W
    ) -> dict[str, Any]:
        """GetCompositeSchedule.conf as this station's convention reports it, from now."""
        at = self.clock.now().replace(microsecond=0)
        return self.smart_charging.composite_answer(
            connector_id, at, duration, unit, self.active_transactions()
        )

    def limit_w(self, connector_id: int, at: datetime | None = None) -> float:
        """What the composite schedule allows ``connector_id`` to draw at ``at``, in W."""
        instant = at if at is not None else self.clock.now()
        return self.smart_charging.limit_w(connector_id, instant, self.active_transactions())

    def limit_a(self, connector_id: int, at: datetime | None = None) -> float:
        """What the composite schedule offers ``connector_id`` per phase at ``at``, in A."""
        instant = at if at is not None else self.clock.now()
        return self.smart_charging.limit_a(connector_id, instant, self.active_transactions())

    async def _after_boot(self) -> None:
        await self.send_all_statuses()
        self.spawn(self._heartbeats())
        self.spawn(self._meter_samples())
        if self.config.auto_charge and 1 not in self.transactions:
            await self.start_transaction(1, self.config.id_tag)

    # --- outbound messages ------------------------------------------------------------

    async def send_boot_notification(self) -> Any:
        return await self.send(
            call.BootNotification(
                charge_point_model="PY-SIM",
                charge_point_vendor="chargeplan",
                charge_point_serial_number=self.station_id,
                firmware_version="1.0.0",
            )
        )

    async def send_status(self, connector_id: int) -> None:
        status = "Available" if connector_id == 0 else self.connectors[connector_id].status
        await self.send(
            call.StatusNotification(
                connector_id=connector_id,
                error_code="NoError",
                status=status,
                timestamp=ocpp_timestamp(self.clock.now()),
            )
        )

    async def send_all_statuses(self) -> None:
        """OCPP 1.6 §4.9: after boot, a StatusNotification for connector 0 and each connector."""
        for connector_id in range(0, self.config.connectors + 1):
            await self.send_status(connector_id)

    async def send_heartbeat(self) -> None:
        await self.send(call.Heartbeat())

    async def send_meter_values(self, connector_id: int) -> None:
        connector = self.connectors[connector_id]
        # Whole milliseconds, so the timestamp reported is the instant the power was decided at.
        now = self.clock.now()
        at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self._refresh_power(connector_id, at)
        transaction = self.transactions.get(connector_id)
        await self.send(
            call.MeterValues(
                connector_id=connector_id,
                transaction_id=transaction.transaction_id if transaction else None,
                meter_value=[
                    periodic_sample(connector, at, self.config.voltage, self.config.phases)
                ],
            )
        )

    async def _heartbeats(self) -> None:
        while True:
            interval = float(self.configuration.value("HeartbeatInterval"))
            if self.config.heartbeat_interval is not None:
                interval = self.config.heartbeat_interval
            await asyncio.sleep(interval if interval > 0 else 60.0)
            await self.send_heartbeat()

    async def _meter_samples(self) -> None:
        while True:
            # OCPP 1.6 §9.1.19 MeterValueSampleInterval; a change applies from the next sample.
            interval = float(self.configuration.value("MeterValueSampleInterval"))
            await asyncio.sleep(interval if interval > 0 else self.config.meter_interval)
            for connector_id in list(self.transactions):
                await self.send_meter_values(connector_id)

    # --- transactions ------------------------------------------------------------------

    async def start_transaction(
        self, connector_id: int, id_tag: str, profile: ChargingProfile | None = None
    ) -> None:
        """Plug an EV in and start charging; ``profile`` is a RemoteStart TxProfile."""
        connector = self.connectors[connector_id]
        connector.ev_plugged = True
        connector.status = "Preparing"
        await self.send_status(connector_id)
        # Whole seconds, so a Relative profile's periods begin on whole seconds (see limit_w).
        now = self.clock.now().replace(microsecond=0)
        # OCPP 1.6 §5.13: a transaction for the reserving idTag uses up the reservation.
        reservation = self.operations.reservation_on(connector_id)
        reservation_id = None
        if reservation is not None and reservation.id_tag == id_tag:
            reservation_id = reservation.reservation_id
            del self.operations.reservations[reservation_id]
        answer = await self.send(
            call.StartTransaction(
                connector_id=connector_id,
                id_tag=id_tag,
                meter_start=connector.meter_wh,
                timestamp=ocpp_timestamp(now),
                reservation_id=reservation_id,
            )
        )
        if answer is None:
            connector.status = "Available"
            connector.ev_plugged = False
            await self.send_status(connector_id)
            return
        transaction = Transaction(
            answer.transaction_id, connector_id, id_tag, now, connector.meter_wh
        )
        self.transactions[connector_id] = transaction
        logger.info(
            "%s: transaction %s started on connector %s",
            self.station_id,
            transaction.transaction_id,
            connector_id,
        )
        if answer.id_tag_info.get("status") != "Accepted":
            # OCPP 1.6 §5.11 / StopTransactionOnInvalidId: end a transaction for a refused idTag.
            await self.stop_transaction(connector_id, "DeAuthorized")
            return
        if profile is not None:
            self.smart_charging.install_for_transaction(
                profile, connector_id, transaction.transaction_id
            )
        self._refresh_power(connector_id)
        connector.status = "Charging"
        await self.send_status(connector_id)

    async def plug_in(self, connector_id: int, car: Car) -> None:
        """A car arrives on ``connector_id`` and starts a transaction with its id as idTag."""
        self.cars[connector_id] = PluggedCar(car, car.soc)
        await self.start_transaction(connector_id, car.id)

    async def unplug(self, connector_id: int) -> None:
        """The car leaves: its transaction ends (EVDisconnected)."""
        await self.stop_transaction(connector_id, "EVDisconnected")
        self.cars.pop(connector_id, None)
        connector = self.connectors[connector_id]
        connector.phase_a = connector.offered_a = None

    async def stop_transaction(self, connector_id: int, reason: str) -> None:
        transaction = self.transactions.get(connector_id)
        if transaction is None:
            return
        connector = self.connectors[connector_id]
        connector.draw(self.clock.now(), 0.0, 0.0)
        if connector_id in self.cars:
            self.cars[connector_id].draw(self.clock.now(), 0.0, self.config.voltage)
            connector.phase_a = (0.0, 0.0, 0.0)
        del self.transactions[connector_id]
        self.smart_charging.end_transaction(connector_id)
        connector.ev_plugged = False
        connector.status = "Available" if connector.operative else "Unavailable"
        logger.info(
            "%s: transaction %s stopped (%s)", self.station_id, transaction.transaction_id, reason
        )
        await self.send(
            call.StopTransaction(
                meter_stop=connector.meter_wh,
                timestamp=ocpp_timestamp(self.clock.now()),
                transaction_id=transaction.transaction_id,
                reason=reason,
                id_tag=transaction.id_tag,
            )
        )
        await self.send_status(connector_id)

    async def reset(self, kind: str) -> None:
        """OCPP 1.6 §5.14: stop transactions, reboot (profiles kept only with a store)."""
        reason = "HardReset" if kind == "Hard" else "SoftReset"
        for connector_id in list(self.transactions):
            await self.stop_transaction(connector_id, reason)
        if self._store is None:
            self.smart_charging.forget_all()
        logger.info("%s: %s reset", self.station_id, kind.lower())
        await self.disconnect()

    # --- reservations, firmware, diagnostics ------------------------------------------

    def reserve(self, reservation: Reservation) -> str:
        """ReserveNow.conf status (OCPP 1.6 §5.13); the same reservationId replaces."""
        connector = self.connectors.get(reservation.connector_id)
        if connector is None:
            return "Rejected"  # connector 0 too: ReserveConnectorZeroSupported is not set
        if reservation.connector_id in self.transactions or connector.ev_plugged:
            return "Occupied"
        if not connector.operative:
            return "Unavailable"
        other = self.operations.reservation_on(reservation.connector_id)
        if other is not None and other.reservation_id != reservation.reservation_id:
            return "Occupied"
        self.operations.reservations[reservation.reservation_id] = reservation
        connector.status = "Reserved"
        return "Accepted"

    async def announce_reservation(self, reservation_id: int) -> None:
        """StatusNotification Reserved, then end the reservation at its expiryDate."""
        reservation = self.operations.reservations.get(reservation_id)
        if reservation is None:
            return
        await self.send_status(reservation.connector_id)
        wait = (reservation.expiry - self.clock.now()).total_seconds()
        await asyncio.sleep(max(0.0, wait))
        if self.operations.reservations.get(reservation_id) is reservation:
            logger.info("%s: reservation %s expired", self.station_id, reservation_id)
            await self.end_reservation(reservation_id)

    async def end_reservation(self, reservation_id: int) -> None:
        reservation = self.operations.reservations.pop(reservation_id, None)
        if reservation is None:
            return
        connector = self.connectors[reservation.connector_id]
        if connector.status == "Reserved":
            connector.status = "Available" if connector.operative else "Unavailable"
            await self.send_status(reservation.connector_id)

    async def send_firmware_status(self, status: str) -> None:
        self.operations.firmware_status = status
        await self.send(call.FirmwareStatusNotification(status=status))

    async def send_diagnostics_status(self, status: str) -> None:
        self.operations.diagnostics_status = status
        await self.send(call.DiagnosticsStatusNotification(status=status))

    async def update_firmware(self) -> None:
        """OCPP 1.6 §5.19: download, install, and say so at each step."""
        for status in FIRMWARE_STEPS:
            await asyncio.sleep(self.config.operation_step_s)
            await self.send_firmware_status(status)

    async def upload_diagnostics(self) -> None:
        """OCPP 1.6 §5.9: upload the file named in GetDiagnostics.conf."""
        for status in DIAGNOSTICS_STEPS:
            await asyncio.sleep(self.config.operation_step_s)
            await self.send_diagnostics_status(status)

    # --- smart charging ----------------------------------------------------------------

    def set_charging_profile(
        self, connector_id: int, payload: dict[str, Any], *, in_remote_start: bool = False
    ) -> tuple[ProfileDecision, ChargingProfile | None]:
        """Check a profile and, outside a RemoteStart, install it (OCPP 1.6 §5.16)."""
        profile = self.smart_charging.parse(payload)
        if profile is None:
            return ProfileDecision.REJECTED, None
        running = {c: tx.transaction_id for c, tx in self.transactions.items()}
        decision = self.smart_charging.check(
            profile, connector_id, running, in_remote_start=in_remote_start
        )
        if decision is not ProfileDecision.ACCEPTED or in_remote_start:
            return decision, profile
        if self.faults.reject_profile():
            logger.info(
                "%s: rejecting profile %s (fault)", self.station_id, profile.charging_profile_id
            )
            return ProfileDecision.REJECTED, profile
        if self.faults.ignore_profile():
            logger.info(
                "%s: acknowledging profile %s without installing it (fault)",
                self.station_id,
                profile.charging_profile_id,
            )
            return ProfileDecision.ACCEPTED, profile
        if not self.smart_charging.install(profile, connector_id):
            return ProfileDecision.REJECTED, profile
        self._refresh_all_power()
        return ProfileDecision.ACCEPTED, profile

    def clear_charging_profiles(
        self,
        *,
        profile_id: int | None,
        connector_id: int | None,
        purpose: ChargingProfilePurpose | None,
        stack_level: int | None,
    ) -> bool:
        removed = self.smart_charging.clear(
            profile_id=profile_id,
            connector_id=connector_id,
            purpose=purpose,
            stack_level=stack_level,
        )
        self._refresh_all_power()
        return removed > 0

    def _persist(self, installed: tuple[InstalledProfile, ...]) -> None:
        if self._store is not None:
            self._store.save(self.station_id, installed)
