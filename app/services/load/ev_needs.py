"""What the car itself says it needs (OCPP 2.0.1 NotifyEVChargingNeeds, ISO 15118): stored
per running transaction, the first source of its need (app/domain/needs.py, ``ev``), and
the currents the car takes, which bound its share in the circuit solve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.models import Transaction, TransactionEvNeed
from app.services.errors import Invalid, NotFound
from app.services.load.needs import NeedService, SessionNeed
from app.services.messagebus import DISCARD, Publisher
from app.services.messages import NeedsChanged


@dataclass(frozen=True)
class EvChargingNeeds:
    """What a car said it needs (OCPP 2.0.1 NotifyEVChargingNeeds ChargingNeedsType), in
    chargeplan's units: Wh and A as sent, times aware."""

    energy_transfer: str | None = None  # requestedEnergyTransfer
    departure: datetime | None = None  # departureTime
    energy_amount_wh: float | None = None  # energyAmount (AC, or DC when given)
    ev_min_current_a: float | None = None  # AC evMinCurrent
    ev_max_current_a: float | None = None  # AC or DC evMaxCurrent
    ev_max_voltage_v: float | None = None
    ev_max_power_w: float | None = None  # DC evMaxPower
    soc: float | None = None  # DC stateOfCharge, %
    battery_wh: float | None = None  # DC evEnergyCapacity
    max_schedule_tuples: int | None = None


class EvNeedService:
    def __init__(self, db: Database, needs: NeedService, *, clock: Clock = utcnow,
                 bus: Publisher = DISCARD) -> None:
        self._db = db
        self._needs = needs
        self._clock = clock
        self._bus = bus

    async def notify(self, station_id: str, evse_id: int, needs: EvChargingNeeds
                     ) -> SessionNeed:
        """NotifyEVChargingNeeds: what the car on the EVSE (chargeplan's connector) said it
        needs replaces what it said before. ``energyAmount`` counts from now, so the
        session's whole energy is it plus what was delivered so far. 404 when no
        transaction runs there."""
        if needs.departure is not None and needs.departure.tzinfo is None:
            raise Invalid("departureTime", "must carry a UTC offset (e.g. Z)")
        async with self._db.uow() as session:
            transaction_id = await session.scalar(
                select(Transaction.id).where(Transaction.station_id == station_id,
                                             Transaction.connector_id == evse_id,
                                             Transaction.stopped_at.is_(None))
                .order_by(Transaction.started_at.desc()).limit(1))
        if transaction_id is None:
            raise NotFound("running transaction on EVSE", f"{station_id}/{evse_id}")
        current = await self._needs.get(transaction_id)
        async with self._db.uow() as session:
            row = await session.get(TransactionEvNeed, transaction_id)
            if row is None:
                row = TransactionEvNeed(transaction_id=transaction_id)
                session.add(row)
            row.energy_transfer = needs.energy_transfer
            row.departure = needs.departure
            row.energy_amount_wh = needs.energy_amount_wh
            row.energy_kwh = (None if needs.energy_amount_wh is None else round(
                needs.energy_amount_wh / 1000 + current.need.delivered_kwh, 3))
            row.ev_min_current_a = needs.ev_min_current_a
            row.ev_max_current_a = needs.ev_max_current_a
            row.ev_max_voltage_v = needs.ev_max_voltage_v
            row.ev_max_power_w = needs.ev_max_power_w
            row.soc = needs.soc
            row.battery_kwh = None if needs.battery_wh is None else needs.battery_wh / 1000
            row.max_schedule_tuples = needs.max_schedule_tuples
            row.received_at = self._clock()
        self._bus.publish(NeedsChanged(station_id, transaction_id, by_car=True))
        return await self._needs.get(transaction_id)


async def ev_current_bounds(session: AsyncSession, transaction_ids: Sequence[int]
                            ) -> dict[int, tuple[float | None, float | None]]:
    """Per transaction whose car said so, its (evMinCurrent, evMaxCurrent) in A."""
    if not transaction_ids:
        return {}
    rows = (await session.execute(
        select(TransactionEvNeed.transaction_id, TransactionEvNeed.ev_min_current_a,
               TransactionEvNeed.ev_max_current_a)
        .where(TransactionEvNeed.transaction_id.in_(transaction_ids)))).all()
    return {tx_id: (low, high) for tx_id, low, high in rows
            if low is not None or high is not None}
