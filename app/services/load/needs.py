"""What running sessions need (energy by departure): the rows behind each source of
app/domain/needs.py, read for many transactions in a few queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock, utcnow
from app.db.circuit_models import Circuit
from app.db.engine import Database
from app.db.models import (
    IdTag,
    MeterValue,
    Station,
    Transaction,
    TransactionEvNeed,
    TransactionNeed,
)
from app.domain.needs import (
    HISTORY_MAX,
    DailyDefault,
    EvNeed,
    Facts,
    Need,
    NeedError,
    PastSession,
    Requested,
    check_default,
    decide,
    energy_from_soc,
)
from app.json_types import JsonObject
from app.services.errors import Conflict, Invalid, NotFound

REGISTER = "Energy.Active.Import.Register"  # OCPP 1.6 §7.31, the default measurand
# Wh per unit of an energy register sample (OCPP 1.6 §7.45 UnitOfMeasure; Wh by default).
_WH_PER_UNIT = {None: 1.0, "Wh": 1.0, "kWh": 1000.0}


@dataclass(frozen=True)
class NeedRequest:
    """What a client sends: ``energy_kwh``, or ``target_soc`` with ``battery_kwh`` (and
    ``soc`` now); always ``departure`` (aware)."""

    departure: datetime
    energy_kwh: float | None = None
    target_soc: float | None = None
    soc: float | None = None
    battery_kwh: float | None = None


def requested_energy(request: NeedRequest) -> float:
    """The energy asked for, either given or worked out from states of charge; Invalid
    naming the field at fault."""
    if request.departure.tzinfo is None:
        raise Invalid("departure", "must carry a UTC offset (e.g. Z)")
    if request.energy_kwh is not None:
        if request.target_soc is not None or request.battery_kwh is not None:
            raise Invalid("energy_kwh", "give either energy_kwh or target_soc with "
                          "battery_kwh, not both")
        return request.energy_kwh
    if request.target_soc is None:
        raise Invalid("energy_kwh", "give energy_kwh, or target_soc with battery_kwh and soc")
    if request.battery_kwh is None:
        raise Invalid("battery_kwh", "is needed with target_soc")
    try:
        return energy_from_soc(request.target_soc, request.soc, request.battery_kwh)
    except NeedError as error:
        raise Invalid(error.field, error.rule) from None


def daily_default(value: Mapping[str, Any] | None) -> DailyDefault | None:
    if value is None:
        return None
    return DailyDefault(float(value["energy_kwh"]), str(value["departure_local"]),
                        str(value["timezone"]))


def checked_default(default: DailyDefault | None) -> JsonObject | None:
    """An id tag's default needs as stored; Invalid naming ``default_needs.<field>``."""
    if default is None:
        return None
    try:
        check_default(default)
    except NeedError as error:
        raise Invalid(error.field, error.rule) from None
    return {"energy_kwh": default.energy_kwh, "departure_local": default.departure_local,
            "timezone": default.timezone}


@dataclass(frozen=True)
class SessionNeed:
    """One transaction's effective need and the request it holds, if any."""

    transaction: Transaction
    need: Need
    request: TransactionNeed | None


class NeedService:
    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def needs_of(self, transaction_ids: Iterable[int]) -> dict[int, Need]:
        """The effective need of each known transaction, in five queries however many."""
        return {tx_id: found.need
                for tx_id, found in (await self._read(list(transaction_ids))).items()}

    async def get(self, transaction_id: int) -> SessionNeed:
        """404 for an unknown transaction, 409 for one that has ended."""
        found = (await self._read([transaction_id])).get(transaction_id)
        if found is None:
            raise NotFound("transaction", transaction_id)
        if found.transaction.stopped_at is not None:
            raise Conflict(f"transaction {transaction_id} ended at "
                           f"{found.transaction.stopped_at.isoformat()}: it needs nothing")
        return found

    async def put(self, transaction_id: int, request: NeedRequest) -> SessionNeed:
        """Stores the request. ``energy_kwh`` is the session's whole energy (delivered so far
        counts towards it); a state of charge is measured now, so the gap it gives is added
        to what was delivered until now: right after, remaining_kwh is that gap."""
        energy = requested_energy(request)
        current = await self.get(transaction_id)
        if request.energy_kwh is None:
            energy += current.need.delivered_kwh
        async with self._db.uow() as session:
            row = await session.get(TransactionNeed, transaction_id)
            if row is None:
                row = TransactionNeed(transaction_id=transaction_id)
                session.add(row)
            row.energy_kwh = energy
            row.departure = request.departure
            row.target_soc = request.target_soc
            row.soc = request.soc
            row.battery_kwh = request.battery_kwh
            row.requested_at = self._clock()
        return await self.get(transaction_id)

    async def delete(self, transaction_id: int) -> SessionNeed:
        """Drops the request; the need falls back to the next source."""
        await self.get(transaction_id)
        async with self._db.uow() as session:
            await session.execute(delete(TransactionNeed).where(
                TransactionNeed.transaction_id == transaction_id))
        return await self.get(transaction_id)

    async def _read(self, ids: Sequence[int]) -> dict[int, SessionNeed]:
        if not ids:
            return {}
        async with self._db.uow() as session:
            rows = (await session.execute(
                select(Transaction, Circuit.id, Circuit.default_dwell_s, TransactionEvNeed)
                .join(Station, Station.id == Transaction.station_id)
                .outerjoin(Circuit, Circuit.id == Station.circuit_id)
                .outerjoin(TransactionEvNeed,
                           TransactionEvNeed.transaction_id == Transaction.id)
                .where(Transaction.id.in_(ids)))).all()
            if not rows:
                return {}
            tags = {row[0].id_tag for row in rows}
            requests = {r.transaction_id: r for r in (await session.scalars(
                select(TransactionNeed).where(TransactionNeed.transaction_id.in_(ids)))).all()}
            defaults: dict[str, JsonObject | None] = dict((await session.execute(
                select(IdTag.id_tag, IdTag.default_needs).where(IdTag.id_tag.in_(tags)))).all())
            history = await _history(session, tags)
            delivered = await _delivered_wh(session, ids)
        now = self._clock()
        found = {}
        for tx, circuit_id, dwell_s, ev in rows:
            facts = Facts(
                started_at=tx.started_at,
                delivered_kwh=(max(0.0, delivered[tx.id] - tx.meter_start) / 1000
                               if tx.id in delivered else 0.0),
                ev=None if ev is None else ev_need(ev),
                request=(None if tx.id not in requests else
                         Requested(requests[tx.id].energy_kwh, requests[tx.id].departure)),
                id_tag=tx.id_tag, id_tag_default=daily_default(defaults.get(tx.id_tag)),
                history=history[tx.id_tag],
                circuit_id=circuit_id, circuit_dwell_s=dwell_s)
            found[tx.id] = SessionNeed(tx, decide(facts, now), requests.get(tx.id))
        return found


async def _history(session: AsyncSession, tags: set[str]) -> dict[str, list[PastSession]]:
    """The newest ended sessions (meter known) of each id tag, a window function apart:
    HISTORY_MAX per tag, however many tags."""
    newest = func.row_number().over(partition_by=Transaction.id_tag,
                                    order_by=Transaction.stopped_at.desc()).label("n")
    ranked = (select(Transaction.id_tag, Transaction.started_at, Transaction.stopped_at,
                     Transaction.meter_start, Transaction.meter_stop, newest)
              .where(Transaction.id_tag.in_(tags), Transaction.stopped_at.is_not(None),
                     Transaction.meter_stop.is_not(None),
                     Transaction.stopped_at > Transaction.started_at)
              .subquery())
    rows = (await session.execute(select(ranked).where(ranked.c.n <= HISTORY_MAX))).all()
    found: dict[str, list[PastSession]] = defaultdict(list)
    for tag, started, stopped, meter_start, meter_stop, _ in rows:
        found[tag].append(PastSession(started, stopped, (meter_stop - meter_start) / 1000))
    return found


async def _delivered_wh(session: AsyncSession, ids: Sequence[int]) -> dict[int, float]:
    """The highest energy register reading of each transaction, in Wh: whole-meter
    samples only (no phase), whose time is believed."""
    rows = (await session.execute(
        select(MeterValue.transaction_id, MeterValue.unit, func.max(MeterValue.value))
        .where(MeterValue.transaction_id.in_(ids), MeterValue.measurand == REGISTER,
               MeterValue.phase.is_(None), MeterValue.value.is_not(None),
               MeterValue.ts_flag.is_(None))
        .group_by(MeterValue.transaction_id, MeterValue.unit))).all()
    found: dict[int, float] = {}
    for tx_id, unit, value in rows:
        if unit in _WH_PER_UNIT and tx_id is not None and value is not None:
            found[tx_id] = max(found.get(tx_id, 0.0), value * _WH_PER_UNIT[unit])
    return found


def ev_need(row: TransactionEvNeed) -> EvNeed:
    """The car's stated needs as the precedence reads them."""
    detail = {name: value for name, value in (
        ("energy_transfer", row.energy_transfer), ("energy_amount_wh", row.energy_amount_wh),
        ("ev_min_current_a", row.ev_min_current_a), ("ev_max_current_a", row.ev_max_current_a),
        ("soc", row.soc), ("battery_kwh", row.battery_kwh)) if value is not None}
    return EvNeed(row.departure, row.energy_kwh, row.ev_min_current_a, row.ev_max_current_a,
                  detail)
