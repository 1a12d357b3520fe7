"""Transactions and meter values (OCPP 1.6 §4.8, §4.10, §4.7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.models import MeterValue, Transaction
from app.domain.meter_curve import BASE_UNIT, CurvePoint, Sample, meter_curve
from app.domain.station_time import TimeRules
from app.events import EventBus, EventType
from app.json_types import JsonObject
from app.services.errors import Conflict, Invalid, NotFound
from app.services.fleet.audit_log import check_limit, check_window, decode_cursor, encode_cursor
from app.services.fleet.id_tags import IdTagService
from app.services.messagebus import DISCARD, Publisher
from app.services.messages import TransactionStarted, TransactionStopped
from app.timefmt import parse_timestamp

# Queues rows in the audit writer: committed before the audit row of the answer that is
# queued after them, and the answer leaves only once that row is committed.
RowSink = Callable[[Iterable[tuple[Any, ...]]], Awaitable[None]]

# The meter_values columns but id, in table order: the order of meter_rows' tuples.
METER_COLUMNS = ("station_id", "connector_id", "transaction_id", "ts", "ts_flag",
                 "measurand", "phase", "unit", "context", "location", "value", "raw_value")

# stop_reason of a transaction closed because a newer one started on its connector
# without a StopTransaction (the station lost it, or rebooted mid-session).
SUPERSEDED = "Superseded"


def meter_rows(
    station_id: str, connector_id: int, transaction_id: int | None,
    meter_values: list[Mapping[str, Any]], *, received: datetime, rules: TimeRules,
) -> list[tuple[Any, ...]]:
    """One row per sampled value (OCPP 1.6 §7.43 SampledValue; measurand defaults to
    Energy.Active.Import.Register, context to Sample.Periodic), its time flagged when
    it is not to be believed: a tuple in the order of ``METER_COLUMNS``, what the
    batch writer inserts as it is."""
    rows = []
    for meter_value in meter_values:
        ts = parse_timestamp(meter_value["timestamp"])
        flag = rules.flag(ts, received)
        for sample in meter_value["sampledValue"]:
            raw = sample["value"]
            try:
                value: float | None = float(raw)
            except ValueError:
                value = None  # SignedData or a vendor format: kept in raw_value
            rows.append((
                station_id, connector_id, transaction_id, ts, flag,
                sample.get("measurand", "Energy.Active.Import.Register"),
                sample.get("phase"), sample.get("unit"),
                sample.get("context", "Sample.Periodic"), sample.get("location"),
                value, raw,
            ))
    return rows


class TransactionService:
    def __init__(self, db: Database, id_tags: IdTagService, meter_sink: RowSink, *,
                 concurrent_tx: str = "allow", bus: Publisher = DISCARD,
                 time_rules: TimeRules | None = None, clock: Clock = utcnow,
                 events: EventBus | None = None, meter_event_every_s: float = 10.0) -> None:
        self._db = db
        self._time_rules = time_rules or TimeRules()
        self._clock = clock
        self.events = events or EventBus(clock=clock)
        self._meter_every_s = meter_event_every_s
        self._id_tags = id_tags
        self._meter_sink = meter_sink
        self._concurrent_tx = concurrent_tx
        # Told what started and stopped, after it is committed (app/reactions.py).
        self._bus = bus

    async def start(self, station_id: str, payload: Mapping[str, Any],
                    remote_id: str | None = None) -> JsonObject:
        """StartTransaction.conf. The transactionId comes from the database sequence;
        ``remote_id`` is the station's own id of it (a 2.0.1 transaction's string), stored
        with the row, so nothing sees the transaction without it.

        OCPP 1.6 §3.7: a charger that lost the answer sends the same StartTransaction
        again; the same connector, idTag, timestamp and meterStart get the same id.
        """
        info = await self._id_tags.id_tag_info(payload["idTag"])
        started_at = parse_timestamp(payload["timestamp"])
        identity = {
            "station_id": station_id,
            "connector_id": payload["connectorId"],
            "id_tag": payload["idTag"],
            "started_at": started_at,
            "meter_start": payload["meterStart"],
        }
        existing = await self._find(identity)
        if existing is None and info["status"] == "Accepted" and await self._concurrent(identity):
            info = {**info, "status": "ConcurrentTx"}
        closed: list[int] = []
        if existing is None:
            try:
                async with self._db.uow() as session:
                    tx = Transaction(**identity, id_tag_status=info["status"],
                                     remote_id=remote_id,
                                     reservation_id=payload.get("reservationId"),
                                     start_time_flag=self._time_rules.flag(
                                         started_at, self._clock()))
                    session.add(tx)
                    await session.flush()
                    tx_id = tx.id
                    closed = await self._close_older(session, identity, tx_id)
            except IntegrityError:
                # The same replay raced in on another connection: take its id.
                found = await self._find(identity)
                if found is None:
                    raise
                tx_id = found
            else:
                await self._bus.handle(TransactionStarted(
                    station_id, payload["connectorId"], tx_id, payload["idTag"],
                    info["status"], payload["meterStart"], tuple(closed),
                    reservation_id=payload.get("reservationId")))
        else:
            tx_id = existing
        return {"transactionId": tx_id, "idTagInfo": info}

    async def _close_older(self, session: AsyncSession, identity: Mapping[str, Any],
                           new_id: int) -> list[int]:
        """A connector runs one transaction at a time: a StartTransaction on a connector
        whose earlier transaction never stopped closes that one (reason ``Superseded``,
        meter unknown, stopped when the new one started)."""
        older = (await session.scalars(select(Transaction).where(
            Transaction.station_id == identity["station_id"],
            Transaction.connector_id == identity["connector_id"],
            Transaction.stopped_at.is_(None), Transaction.id != new_id,
            Transaction.started_at <= identity["started_at"]))).all()
        for tx in older:
            tx.stopped_at = identity["started_at"]
            tx.stop_reason = SUPERSEDED
        return [tx.id for tx in older]

    async def _concurrent(self, identity: Mapping[str, Any]) -> bool:
        """OCPP 1.6 §7.2 ConcurrentTx, only when the ``concurrent_tx`` setting is "reject":
        by default an earlier transaction that was never stopped does not block the tag."""
        if self._concurrent_tx != "reject":
            return False
        async with self._db.uow() as session:
            found = await session.scalar(select(Transaction.id).where(
                Transaction.id_tag == identity["id_tag"], Transaction.stopped_at.is_(None),
                (Transaction.station_id != identity["station_id"])
                | (Transaction.connector_id != identity["connector_id"])).limit(1))
        return found is not None

    async def _find(self, identity: Mapping[str, Any]) -> int | None:
        async with self._db.uow() as session:
            return await session.scalar(
                select(Transaction.id).where(
                    *(getattr(Transaction, key) == value for key, value in identity.items())
                )
            )

    async def stop(self, station_id: str, payload: Mapping[str, Any]) -> JsonObject:
        """StopTransaction.conf; repeating it for a stopped transaction changes nothing."""
        tx_id = payload["transactionId"]
        stopped_at = parse_timestamp(payload["timestamp"])
        async with self._db.uow() as session:
            tx = await session.get(Transaction, tx_id)
            first_stop = tx is not None and tx.station_id == station_id and tx.stopped_at is None
            if tx is not None and first_stop:
                tx.meter_stop = payload["meterStop"]
                tx.stopped_at = stopped_at
                tx.stop_reason = payload.get("reason", "Local")
                tx.stop_id_tag = payload.get("idTag")
                tx.stop_time_flag = self._time_rules.stop_flag(tx.started_at, stopped_at,
                                                               self._clock())
            connector_id = tx.connector_id if tx is not None else 0
        if first_stop:
            await self._bus.handle(TransactionStopped(
                station_id, connector_id, tx_id, payload["meterStop"],
                payload.get("reason", "Local")))
            await self._meter_sink(meter_rows(station_id, connector_id, tx_id,
                                              payload.get("transactionData") or [],
                                              received=self._clock(), rules=self._time_rules))
        if "idTag" in payload:
            return {"idTagInfo": await self._id_tags.id_tag_info(payload["idTag"])}
        return {}

    async def meter_values(self, station_id: str, payload: Mapping[str, Any]) -> None:
        """Samples are queued ahead of the answer's audit row, so they are committed
        before the station is answered (and does not send them again)."""
        await self._meter_sink(meter_rows(station_id, payload["connectorId"],
                                          payload.get("transactionId"), payload["meterValue"],
                                          received=self._clock(), rules=self._time_rules))
        if self.events.due((station_id, payload["connectorId"]), self._meter_every_s):
            self.events.emit(EventType.METER_SAMPLE, station_id=station_id,
                             connector_id=payload["connectorId"],
                             transaction_id=payload.get("transactionId"),
                             sampled_value=[v for m in payload["meterValue"][-1:]
                                            for v in m["sampledValue"]])

    async def active(self, station_id: str) -> list[Transaction]:
        async with self._db.uow() as session:
            rows = await session.scalars(
                select(Transaction).where(
                    Transaction.station_id == station_id, Transaction.stopped_at.is_(None)
                )
            )
            return list(rows.all())




@dataclass(frozen=True)
class TransactionFilter:
    """Every field is optional; the given ones must all match (AND)."""

    station_id: str | None = None
    connector_id: int | None = None
    # True: still running (no StopTransaction yet); False: stopped.
    active: bool | None = None
    # Half-open window on the start: since <= started_at < until.
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class TransactionPage:
    transactions: Sequence[Transaction]
    # Opaque cursor for the next (older) page; None when this page is the last one.
    next_cursor: str | None


# Points of a meter curve one request returns at most (the newest ones).
MAX_CURVE_POINTS = 10_000


class TransactionQueries:
    """Reading transactions: newest first, keyset-paginated like the audit log (ids are
    allocated in start order, so rows arriving while a user pages repeat nothing)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(self, where: TransactionFilter, *, limit: int = 100,
                   cursor: str | None = None) -> TransactionPage:
        check_limit(limit)
        check_window(where.since, where.until)
        query = select(Transaction)
        if where.station_id is not None:
            query = query.where(Transaction.station_id == where.station_id)
        if where.connector_id is not None:
            query = query.where(Transaction.connector_id == where.connector_id)
        if where.active is not None:
            query = query.where(Transaction.stopped_at.is_(None) if where.active
                                else Transaction.stopped_at.is_not(None))
        if where.since is not None:
            query = query.where(Transaction.started_at >= where.since)
        if where.until is not None:
            query = query.where(Transaction.started_at < where.until)
        if cursor is not None:
            query = query.where(Transaction.id < decode_cursor(cursor))
        # One row more than asked tells whether an older page exists without a COUNT.
        query = query.order_by(Transaction.id.desc()).limit(limit + 1)
        async with self._db.uow() as session:
            rows = list((await session.scalars(query)).all())
        if len(rows) <= limit:
            return TransactionPage(rows, None)
        rows = rows[:limit]
        return TransactionPage(rows, encode_cursor(rows[-1].id))

    async def running(self, station_id: str, transaction_id: int) -> Transaction:
        """The transaction, if it is running on the station; Conflict saying why not."""
        async with self._db.uow() as session:
            row = await session.get(Transaction, transaction_id)
        if row is None or row.station_id != station_id:
            raise Conflict(f"transaction {transaction_id} is not a transaction of "
                           f"{station_id}: GET /stations/{station_id}/transactions?active=true "
                           "lists the running ones")
        if row.stopped_at is not None:
            raise Conflict(f"transaction {transaction_id} on {station_id} stopped at "
                           f"{row.stopped_at.isoformat()}: a TxProfile needs a running "
                           "transaction")
        return row

    async def meter_curve(self, transaction_id: int, *, limit: int = 2000
                          ) -> tuple[Transaction, list[CurvePoint]]:
        """The transaction and its newest ``limit`` curve points from stored meter values.
        Samples whose time the station got wrong (flagged future or too_old) are left out:
        they cannot be placed on a time axis."""
        if not 1 <= limit <= MAX_CURVE_POINTS:
            raise Invalid("limit", f"must be between 1 and {MAX_CURVE_POINTS}")
        async with self._db.uow() as session:
            transaction = await session.get(Transaction, transaction_id)
            if transaction is None:
                raise NotFound("transaction", transaction_id)
            where = (MeterValue.station_id == transaction.station_id,
                     MeterValue.transaction_id == transaction_id,
                     MeterValue.ts_flag.is_(None),
                     MeterValue.measurand.in_(list(BASE_UNIT)))
            # The oldest instant among the newest ``limit`` ones bounds the read.
            oldest = await session.scalar(
                select(MeterValue.ts).where(*where).group_by(MeterValue.ts)
                .order_by(MeterValue.ts.desc()).offset(limit - 1).limit(1))
            query = select(MeterValue.ts, MeterValue.measurand, MeterValue.phase,
                           MeterValue.unit, MeterValue.value).where(*where)
            if oldest is not None:
                query = query.where(MeterValue.ts >= oldest)
            rows = (await session.execute(query)).all()
        samples = (Sample(r.ts, r.measurand, r.phase, r.unit, r.value) for r in rows)
        return transaction, meter_curve(samples, float(transaction.meter_start))
