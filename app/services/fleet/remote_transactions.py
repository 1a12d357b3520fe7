"""Transactions a station names itself (OCPP 2.0.1 TransactionEvent ``transactionId``: a
string of up to 36 characters, unique per station) on the same rows, meter values, needs
and profiles as OCPP 1.6 ones.

A 2.0.1 session gets an integer ``id`` like any other (allocated by the database, through
:class:`~app.services.fleet.transactions.TransactionService`, so the id tag check, the replay
rule, the events and the re-plan are the same); ``remote_id`` keeps the station's string.
The adapter maps the string to the integer with :meth:`RemoteTransactions.transaction_id`
before it stores meter values or looks up needs, and answers with the string.

After a boot a station reports the transactions still running on it (any TransactionEvent
of theirs): :meth:`RemoteTransactions.reported` records the first report since the boot,
and until then a transaction is not known to run (its TxProfile waits, see
:func:`app.services.delivery.delivery_rules.runs_after_boot`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from app.clock import Clock
from app.db.engine import Database
from app.db.models import Station, Transaction
from app.domain.profiles import format_datetime
from app.services.errors import Invalid, NotFound
from app.services.fleet.transactions import TransactionService

REMOTE_ID_MAX = 36  # OCPP 2.0.1 TransactionType.transactionId: identifierString[36]


@dataclass(frozen=True)
class Started:
    transaction_id: int
    id_token_info: dict[str, Any]
    replayed: bool  # the station had started it before (an offline replay, a repeat)


class RemoteTransactions:
    def __init__(self, db: Database, transactions: TransactionService, *,
                 clock: Clock) -> None:
        self._db = db
        self._transactions = transactions
        self._clock = clock

    async def transaction_id(self, station_id: str, remote_id: str) -> int | None:
        """The integer id of the station's transaction named ``remote_id``, if known."""
        async with self._db.uow() as session:
            return await session.scalar(select(Transaction.id).where(
                Transaction.station_id == station_id, Transaction.remote_id == remote_id))

    async def reported(self, station_id: str, transaction_id: int) -> bool:
        """The station told of the transaction (a TransactionEvent of it); True when this
        is its first report since the station's latest boot. Written once per boot, not
        once per event."""
        booted = (select(Station.last_boot_at).where(Station.id == station_id)
                  .scalar_subquery())
        async with self._db.core() as connection:
            result = await connection.execute(
                update(Transaction)
                .where(Transaction.id == transaction_id, Transaction.station_id == station_id,
                       or_(Transaction.reported_at.is_(None),
                           Transaction.reported_at < booted))
                .values(reported_at=self._clock()))
        return result.rowcount == 1

    async def started(self, station_id: str, remote_id: str, *, evse_id: int, id_token: str,
                      meter_start_wh: int, started_at: datetime,
                      reservation_id: int | None = None) -> Started:
        """TransactionEvent Started (E01-E04): the session on the EVSE, with the
        reservation it ends when the event names one (``reservationId``); the same
        ``remote_id`` again gives the same transaction."""
        if not 0 < len(remote_id) <= REMOTE_ID_MAX:
            raise Invalid("transactionId", f"must be 1 to {REMOTE_ID_MAX} characters")
        known = await self.transaction_id(station_id, remote_id)
        if known is not None:
            return Started(known, {"status": "Accepted"}, True)
        request: dict[str, Any] = {
            "connectorId": evse_id, "idTag": id_token, "meterStart": meter_start_wh,
            "timestamp": format_datetime(started_at)}
        if reservation_id is not None:
            request["reservationId"] = reservation_id
        answer = await self._transactions.start(station_id, request, remote_id=remote_id)
        return Started(int(answer["transactionId"]), dict(answer["idTagInfo"]), False)

    async def ended(self, station_id: str, remote_id: str, *, meter_stop_wh: int,
                    stopped_at: datetime, reason: str | None = None) -> int:
        """TransactionEvent Ended (E06): the transaction stops as a 1.6 StopTransaction
        stops it; its integer id. 404 for a ``remote_id`` the station never started."""
        tx_id = await self.transaction_id(station_id, remote_id)
        if tx_id is None:
            raise NotFound("transaction", f"{station_id}/{remote_id}")
        payload: dict[str, Any] = {"transactionId": tx_id, "meterStop": meter_stop_wh,
                                   "timestamp": format_datetime(stopped_at)}
        if reason is not None:
            payload["reason"] = reason
        await self._transactions.stop(station_id, payload)
        return tx_id
