"""The schedule a car chose (OCPP 2.0.1 NotifyEVChargingSchedule, ISO 15118) checked
against what chargeplan sent for its EVSE, recorded with its session, and a rejection
renegotiated.

What chargeplan allows is the composite of the station's desired profiles for the EVSE
(the transaction's TxProfile, else the default and station-wide ones, the circuits' and
plans' among them), in the car's unit, from the car's ``timeBase``: the same composite
verification expects (:mod:`app.domain.ev_schedule` has the rules). A schedule that fits
is Accepted; one that does not is Rejected (K15.FR.12, K16.FR.07, K17.FR.12), and the
central system then starts a renegotiation as per K16 (K15.FR.13, K16.FR.08,
K17.FR.13): the transaction's TxProfile is sent again, which a station that accepts
renegotiates with the car (K16.FR.01, K16.FR.02).

When chargeplan holds no TxProfile for the transaction (its limits come from default or
station-wide profiles only), one is made from what those allow (:func:`offered_periods`)
and sent: after a rejection, and when the car's needs are answered Accepted (K15.FR.03,
K17.FR.03: the central system then sends the schedule it can provide). It is bounded by
the composite the station applies already, so it only ever lowers a limit, and it never
asks for less than the car's minimum without pausing it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.models import Transaction, TransactionEvNeed, TransactionEvSchedule
from app.domain.composite import Convention
from app.domain.ev_schedule import (
    OPEN_ENDED_S,
    EvSchedule,
    Excess,
    check_ev_schedule,
    offered_periods,
)
from app.domain.ownership import Owner, OwnerKind
from app.domain.profiles import ChargingRateUnit, ChargingSchedule
from app.events import EventBus, EventType
from app.services.delivery.smart_charging import SmartChargingService
from app.services.errors import NotFound
from app.services.messagebus import DISCARD, Publisher
from app.services.messages import EvScheduleRejected
from app.timefmt import format_timestamp

log = logging.getLogger("chargeplan.smart_charging")

# Renegotiations started for one transaction at most (chargeplan policy): a car that
# keeps choosing above its profile is still answered Rejected, but the TxProfile is not
# sent again and again.
MAX_RENEGOTIATIONS = 3


@dataclass(frozen=True)
class Verdict:
    """The answer to a car's schedule; ``excess`` says why it was Rejected."""

    accepted: bool
    transaction_id: int | None = None
    excess: Excess | None = None
    bounded: bool = False


class EvScheduleService:
    def __init__(self, db: Database, smart_charging: SmartChargingService, *,
                 clock: Clock = utcnow, events: EventBus | None = None,
                 bus: Publisher = DISCARD) -> None:
        self._db = db
        self._smart = smart_charging
        self._clock = clock
        self._events = events or smart_charging.events
        self._bus = bus

    async def notify(self, station_id: str, evse_id: int, time_base: datetime,
                     schedule: ChargingSchedule, raw: dict[str, object]) -> Verdict:
        """Check the schedule the car on the EVSE chose (``raw``: as it came) and record
        it with its session. With no session on the EVSE nothing was sent for one, so
        there is nothing it could exceed: Accepted, not recorded."""
        chosen = EvSchedule(time_base, schedule)
        snapshot = await self._smart.snapshot(station_id, from_desired=True)
        running = {t.connector_id: t.transaction_id for t in snapshot.transactions}
        transaction_id = running.get(evse_id)
        if transaction_id is None:
            log.info("%s: a car's schedule on EVSE %s, where no session runs", station_id,
                     evse_id)
            return Verdict(True)
        allowed = self._smart.answer_of(snapshot, evse_id, time_base, chosen.window_s(),
                                        chosen.unit, Convention.STRICT)
        check = check_ev_schedule(chosen, allowed)
        excess = check.excess
        async with self._db.uow() as session:
            row = TransactionEvSchedule(
                transaction_id=transaction_id, evse_id=evse_id, time_base=time_base,
                schedule=raw, status="accepted" if excess is None else "rejected",
                period=None if excess is None else excess.period,
                exceeds_at=None if excess is None else excess.at,
                exceeds_by=None if excess is None else excess.over,
                reason=None if excess is None else excess.describe(),
                received_at=self._clock())
            session.add(row)
            await session.flush()
            schedule_id = row.id
        self._events.emit(
            EventType.EV_SCHEDULE_ACCEPTED if excess is None else EventType.EV_SCHEDULE_REJECTED,
            station_id=station_id, connector_id=evse_id, transaction_id=transaction_id,
            schedule_id=schedule_id, reason=None if excess is None else excess.describe())
        if excess is not None:
            self._bus.publish(EvScheduleRejected(station_id, transaction_id, schedule_id))
        return Verdict(excess is None, transaction_id, excess, check.bounded)

    async def renegotiate(self, station_id: str, transaction_id: int, schedule_id: int
                          ) -> None:
        """K16 after a rejection: the transaction's TxProfile sent again (at most
        :data:`MAX_RENEGOTIATIONS` times a transaction); what was done is recorded on the
        rejected schedule."""
        async with self._db.uow() as session:
            started = await session.scalar(
                select(func.count()).select_from(TransactionEvSchedule).where(
                    TransactionEvSchedule.transaction_id == transaction_id,
                    TransactionEvSchedule.renegotiation.like("TxProfile%")))
            running = await session.scalar(select(Transaction.stopped_at.is_(None)).where(
                Transaction.id == transaction_id))
        if not running:
            done = "none: the transaction ended"
        elif (started or 0) >= MAX_RENEGOTIATIONS:
            done = f"none: {MAX_RENEGOTIATIONS} renegotiations already started"
        else:
            done = await self.offer(station_id, transaction_id)
        log.info("%s: car's schedule %s rejected; renegotiation: %s", station_id,
                 schedule_id, done)
        async with self._db.uow() as session:
            row = await session.get(TransactionEvSchedule, schedule_id)
            if row is not None:
                row.renegotiation = done[:512]

    async def offer(self, station_id: str, transaction_id: int) -> str:
        """Send the transaction's TxProfile again, or, when chargeplan holds none, one
        made from what its other profiles allow (see the module doc); what was done."""
        outcome = await self._smart.renew_tx_profile(station_id, transaction_id)
        if outcome is not None:
            return f"TxProfile sent again: {outcome.message}"
        async with self._db.uow() as session:
            tx = await session.get(Transaction, transaction_id)
            need = await session.get(TransactionEvNeed, transaction_id)
        if tx is None or tx.stopped_at is not None:
            return "none: the transaction ended"
        now = self._clock().replace(microsecond=0)
        snapshot = await self._smart.snapshot(station_id, from_desired=True)
        allowed = self._smart.answer_of(snapshot, tx.connector_id, now, OPEN_ENDED_S,
                                        ChargingRateUnit.A, Convention.STRICT)
        periods = offered_periods(
            allowed, car_minimum=None if need is None else need.ev_min_current_a,
            ceiling=(need.ev_max_current_a if need is not None and need.ev_max_current_a
                     else self._smart.supply.default_limit_a))
        if not periods:
            return "none: nothing bounds the transaction"
        profile = {
            "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute", "transactionId": transaction_id,
            "chargingSchedule": {"startSchedule": format_timestamp(now),
                                 "chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [p.to_ocpp() for p in periods]}}
        submitted = await self._smart.submit(station_id, tx.connector_id, profile,
                                             owner=Owner(OwnerKind.EV, transaction_id))
        return f"TxProfile made from what is allowed: {submitted.outcome.message}"

    async def of_transaction(self, transaction_id: int) -> list[TransactionEvSchedule]:
        """The car's schedules of a session and their answers, oldest first; NotFound
        for an unknown transaction."""
        async with self._db.uow() as session:
            if await session.get(Transaction, transaction_id) is None:
                raise NotFound("transaction", str(transaction_id))
            return list((await session.scalars(
                select(TransactionEvSchedule)
                .where(TransactionEvSchedule.transaction_id == transaction_id)
                .order_by(TransactionEvSchedule.id))).all())
