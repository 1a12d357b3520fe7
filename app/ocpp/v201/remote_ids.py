"""The station's string of each 2.0.1 transaction this process has heard of, by the
integer id the services know it by, and the seqNo of each event it has handled.

The services name a transaction by its integer id (a 1.6 transactionId); a 2.0.1 CALL
names it by the station's string (TxProfile ``transactionId``, RequestStopTransaction).
The database keeps both (``transactions.remote_id``), but the adapter builds a CALL
without I/O, so the pairs are kept here as TransactionEvents arrive, and the first
message a station sends to this process brings its running transactions' pairs from the
database (``handlers/__init__.py``): a station that reconnects to a restarted process,
or to another node, can be sent its TxProfile or RequestStopTransaction without waiting
for its next TransactionEvent. The integer ids come from one database sequence, so they
name one transaction whatever the station.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

# Transactions remembered at most (the oldest heard of go first).
CAPACITY = 20_000


@dataclass
class _Known:
    station_id: str
    remote_id: str
    seq_nos: set[int] = field(default_factory=set)
    energy_wh: int | None = None
    evse_id: int | None = None
    # The seqNo of its Ended event: every event up to it has been handled but those
    # still expected (``missing``).
    ended_at_seq: int | None = None
    missing: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class FirstEvent:
    """What the first event of a transaction not authorized yet said: where and when it
    began, and the energy register then (a session starts there once authorized)."""

    evse_id: int | None
    energy_wh: int | None
    at: datetime


class RemoteIds:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._by_id: OrderedDict[int, _Known] = OrderedDict()
        self._by_remote: dict[tuple[str, str], int] = {}
        self._waiting: OrderedDict[tuple[str, str], FirstEvent] = OrderedDict()
        self._warm: set[str] = set()

    def waiting(self, station_id: str, remote_id: str, first: FirstEvent) -> FirstEvent:
        """The first event of a transaction the services do not know yet: ``first`` if
        it is, else the one kept (an EVSE it lacked taken from ``first``)."""
        key = (station_id, remote_id)
        kept = self._waiting.get(key)
        if kept is None:
            kept = first
        elif kept.evse_id is None and first.evse_id is not None:
            kept = FirstEvent(first.evse_id, kept.energy_wh, kept.at)
        self._waiting[key] = kept
        while len(self._waiting) > self._capacity:
            self._waiting.popitem(last=False)
        return kept

    def started(self, station_id: str, remote_id: str) -> None:
        self._waiting.pop((station_id, remote_id), None)

    def cold(self, station_id: str) -> bool:
        """Whether the station's running transactions were not read from the database
        by this process yet."""
        return station_id not in self._warm

    def warm(self, station_id: str, running: Iterable[tuple[int, str]]) -> None:
        """The (integer id, station's string) pairs of the station's running
        transactions, as stored."""
        for transaction_id, remote_id in running:
            if self.transaction_of(station_id, remote_id) is None:
                self.learn(transaction_id, station_id, remote_id)
        self._warm.add(station_id)
        while len(self._warm) > self._capacity:
            self._warm.pop()

    def learn(self, transaction_id: int, station_id: str, remote_id: str) -> None:
        known = self._by_id.get(transaction_id)
        if known is None or (known.station_id, known.remote_id) != (station_id, remote_id):
            if known is not None:
                self._by_remote.pop((known.station_id, known.remote_id), None)
            self._by_id[transaction_id] = _Known(station_id, remote_id)
            self._by_remote[(station_id, remote_id)] = transaction_id
        self._by_id.move_to_end(transaction_id)
        while len(self._by_id) > self._capacity:
            _, gone = self._by_id.popitem(last=False)
            self._by_remote.pop((gone.station_id, gone.remote_id), None)

    def remote_id(self, transaction_id: int) -> str | None:
        known = self._by_id.get(transaction_id)
        return None if known is None else known.remote_id

    def transaction_of(self, station_id: str, remote_id: str) -> int | None:
        """The integer id of the station's transaction ``remote_id``, when known here."""
        return self._by_remote.get((station_id, remote_id))

    def first_time(self, transaction_id: int, seq_no: int) -> bool:
        """Whether the event ``seq_no`` of the transaction is new here: a station that
        lost the answer sends the same event again, and its meter values are stored once."""
        known = self._by_id.get(transaction_id)
        if known is None:
            return True
        if seq_no in known.missing:  # an event queued while the station was offline
            known.missing.discard(seq_no)
            return True
        if seq_no in known.seq_nos or (
                known.ended_at_seq is not None and seq_no <= known.ended_at_seq):
            return False
        known.seq_nos.add(seq_no)
        return True

    def ended(self, transaction_id: int, seq_no: int) -> tuple[int, ...]:
        """Its Ended event (``seq_no``) was handled: the seqNos it kept are no longer
        needed. The seqNos between the first heard here and it that never came, which
        are still taken when they do; none when only the Ended one was heard."""
        known = self._by_id.get(transaction_id)
        if known is None:
            return ()
        heard = known.seq_nos
        missing = (set(range(min(heard), seq_no)) - heard) if len(heard) > 1 else set()
        known.ended_at_seq = max(seq_no, max(heard, default=seq_no))
        known.missing = missing
        known.seq_nos = set()
        return tuple(sorted(missing))

    def place(self, transaction_id: int, evse_id: int | None = None) -> int | None:
        """The EVSE the transaction runs on: ``evse_id`` when an event names it (kept),
        else the one kept."""
        known = self._by_id.get(transaction_id)
        if known is None:
            return evse_id
        if evse_id is not None:
            known.evse_id = evse_id
        return known.evse_id

    def metered(self, transaction_id: int, energy_wh: int) -> None:
        """The transaction's energy register read ``energy_wh`` (its latest event)."""
        known = self._by_id.get(transaction_id)
        if known is not None:
            known.energy_wh = energy_wh

    def last_energy(self, transaction_id: int) -> int | None:
        known = self._by_id.get(transaction_id)
        return None if known is None else known.energy_wh
