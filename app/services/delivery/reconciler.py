"""The delivery engine: make stations hold exactly their desired profiles, one station or
a fleet. A single-station submit (REST) and the fleet reconcile job both come here: the
same function decides what to push and clear, sends, records each row's outcome and
writes the installed-profile mirror. This module is the mirror's only writer: a user's
filtered clear (:meth:`Reconciler.clear`), a TxProfile a RemoteStartTransaction carried
(:func:`record_installed`) and the TxProfiles of ended transactions (:func:`forget`) are
recorded here too.

A station that can tell what it holds (OCPP 2.0.1 GetChargingProfiles) is asked when a
run reads back (``read_back``): its own list, not the mirror, then decides what is
missing, different or extra, and the mirror keeps only what it still holds. Drift found
so is repaired in the same run and told as drift and repair are.

The desired rows and mirrors of all the stations are read at once; each station's calls
then run in order under its lock, many stations at a time, and the outcomes of the
stations that finished are written together, one transaction per batch. The rules (what
is due, what to push, what is extra, what an answer means) are
:mod:`app.services.delivery.delivery_rules`, the same for one station as for a thousand.

Consistency: a station's lock is held from the moment its rows are read until its
outcome is written, so nothing else in this process changes its desired set or mirror
in between. A desired row that another process replaced while its call was in flight has
a new id (a change is a delete and an insert) and the outcome, written by row id, misses
it: no stale state is recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.clock import Clock
from app.db.batching import chunks
from app.db.engine import Database
from app.db.models import DesiredProfile, InstalledProfileRecord, Station, Transaction
from app.domain.installation import InstalledProfile, install
from app.domain.protocol_rules import OcppVersion, rules_of
from app.domain.states import DeliveryState, DeliveryStatus, VerificationState
from app.events import EventBus, EventType
from app.json_types import JsonObject
from app.services.delivery import delivery_rules as rules
from app.services.delivery import profiles_store as store
from app.services.delivery.profiles_store import as_installed
from app.services.ports import (
    ChargerGateway,
    StationCallError,
    StationOffline,
    StationProfile,
)

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger("chargeplan.smart_charging")

_DESIRED = cast(Table, DesiredProfile.__table__)
_MIRROR = cast(Table, InstalledProfileRecord.__table__)
_STATIONS = cast(Table, Station.__table__)
_TRANSACTIONS = cast(Table, Transaction.__table__)
# A read-back's count of repairs, and the verification state when it decided one.
_READ_BACK_REPAIRS = (
    update(_STATIONS).where(_STATIONS.c.id == bindparam("b_station"))
    .values(read_back_repairs=bindparam("repairs"), verification_state=func.coalesce(
        bindparam("state", type_=_STATIONS.c.verification_state.type),
        _STATIONS.c.verification_state)))


@dataclass(frozen=True)
class Sent:
    """What the SetChargingProfile of one desired row did."""

    charging_profile_id: int
    delivery: rules.Delivery


@dataclass
class DriftStats:
    """Drift found and repaired, by verification and by read-back (for /metrics)."""

    found: int = 0
    repaired: int = 0
    unresolved: int = 0


@dataclass
class ReconcileReport:
    station_id: str
    calls: int = 0
    failures: int = 0
    pushed: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    # desired row id -> what its SetChargingProfile did (rows sent this run only)
    deliveries: dict[int, Sent] = field(default_factory=dict)
    # Calls that asked what the station holds (among ``calls``), and what that found
    # (chargingProfileIds) when it found drift.
    read_backs: int = 0
    drift: JsonObject | None = None
    # The drift was left alone: repaired CHARGEPLAN_DRIFT_MAX_REPAIRS times already.
    unresolved: bool = False


@dataclass
class DesiredState:
    """A desired row as read for delivery (a plain copy: no ORM session behind it)."""

    id: int
    station_id: str
    connector_id: int
    charging_profile_id: int
    purpose: str
    profile: JsonObject
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None


@dataclass
class MirrorState:
    charging_profile_id: int
    connector_id: int
    profile: JsonObject
    desired_profile_id: int | None = None
    installed_at: datetime | None = None


@dataclass
class StationWork:
    """One station's rows, what to push, and what its calls changed."""

    station_id: str
    rows: list[DesiredState]
    mirror: list[MirrorState]
    push: list[DesiredState]
    report: ReconcileReport
    # Clear what no desired row asks for (a user's submit sends only what it submitted).
    clear: bool = True
    # Ask the station what it holds, and trust that over the mirror.
    read_back: bool = False
    # The OCPP version it speaks: a 2.0.1 station replaces a profile in place by its id
    # only (K01.FR.05).
    version: OcppVersion = OcppVersion.V16
    # Read-back repairs since a read-back last found it clean, and its verification
    # state (read for a read-back only).
    repairs: int = 0
    state: VerificationState | None = None
    # The read-back's new count and state (None: unchanged), written with the outcome.
    station_update: dict[str, Any] | None = None
    # connector -> its running transaction (read for stations with TxProfiles only)
    running: Mapping[int, int] = field(default_factory=dict)
    row_updates: list[dict[str, Any]] = field(default_factory=list)
    holds: list[InstalledProfile] | None = None
    fresh: set[int] = field(default_factory=set)
    # chargingProfileId -> the desired row whose delivery installed it (this run or before)
    installed_by: dict[int, int] = field(default_factory=dict)

    def held(self) -> list[InstalledProfile]:
        """What the station holds now, in installation order (parsed on first need)."""
        if self.holds is None:
            self.holds = [as_installed(m.connector_id, m.profile) for m in self.mirror]
        return self.holds


class _Grouped(Generic[T, R]):
    """Work on items done together: whoever finds no run in progress runs ``work`` on
    everything queued, again and again until the queue is empty, while the others wait
    for the run that holds theirs (a group commit). ``work`` answers each item, in order."""

    def __init__(self, work: Callable[[list[T]], Awaitable[Sequence[R]]], what: str) -> None:
        self._work = work
        self._what = what
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._running = False

    async def __call__(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if not self._running:
            self._running = True
            try:
                while self._queue:
                    batch, self._queue = self._queue, []
                    try:
                        answers = await self._work([i for i, _ in batch])
                    except Exception as exc:
                        for _, future in batch:
                            future.set_exception(exc)
                        continue
                    for (_, future), answer in zip(batch, answers, strict=True):
                        future.set_result(answer)
            finally:
                self._running = False
                for _, future in self._queue:  # only left behind when cancelled
                    if not future.done():
                        future.set_exception(RuntimeError(f"{self._what} was interrupted"))
                self._queue = []
        return await done


class _Recorder:
    """Writes finished stations' outcomes together (a group commit)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self.record: _Grouped[StationWork, None] = _Grouped(self._write_all, "recording")

    async def _write_all(self, batch: list[StationWork]) -> list[None]:
        await self._write(batch)
        return [None] * len(batch)

    async def _write(self, batch: Sequence[StationWork]) -> None:
        now = self._clock()
        updates = [u for w in batch for u in w.row_updates]
        counts = [w.station_update for w in batch if w.station_update is not None]
        gone: list[dict[str, Any]] = []
        added: list[dict[str, Any]] = []
        for work in batch:
            if work.holds is None:
                continue  # nothing acknowledged: the mirror is unchanged
            final = {item.profile.charging_profile_id for item in work.holds}
            gone.extend({"sid": work.station_id, "pid": m.charging_profile_id}
                        for m in work.mirror
                        if m.charging_profile_id not in final
                        or m.charging_profile_id in work.fresh)
            added.extend({"station_id": work.station_id,
                          "charging_profile_id": item.profile.charging_profile_id,
                          "connector_id": item.connector_id, "profile": item.profile.to_ocpp(),
                          "installed_at": now,
                          "desired_profile_id": work.installed_by.get(
                              item.profile.charging_profile_id)}
                         for item in work.holds
                         if item.profile.charging_profile_id in work.fresh)
        if not (updates or gone or added or counts):
            return
        async with self._db.core() as connection:
            if updates:
                # By row id only: a row replaced meanwhile is not touched (see module doc).
                await connection.execute(
                    update(_DESIRED).where(_DESIRED.c.id == bindparam("row_id")).values(
                        state=bindparam("new_state"), last_answer=bindparam("new_answer"),
                        last_error=bindparam("new_error"),
                        next_attempt_at=bindparam("retry_at"), updated_at=now),
                    updates)
            if gone:
                await connection.execute(
                    delete(_MIRROR).where(_MIRROR.c.station_id == bindparam("sid"),
                                          _MIRROR.c.charging_profile_id == bindparam("pid")),
                    gone)
            if added:
                await connection.execute(insert(_MIRROR), added)
            if counts:
                await connection.execute(_READ_BACK_REPAIRS, counts)


class Reconciler:
    """Pushes what is missing or different, then clears what is extra, for any number of
    stations. Pushing first never leaves a connector unlimited: a Set replaces by id (or
    by connector + stackLevel + purpose, OCPP 1.6 §5.16.3, §5.16.4), and extras are only cleared
    afterwards."""

    def __init__(self, db: Database, gateway: ChargerGateway, *,
                 lock: Callable[[str], asyncio.Lock], retry: rules.Backoff, clock: Clock,
                 rand: Callable[[], float], on_retry: Callable[[], None],
                 events: EventBus | None = None, drift: DriftStats | None = None,
                 max_repairs: int = 3) -> None:
        self._db = db
        self._max_repairs = max_repairs
        self.events = events or EventBus()
        self.drift = drift or DriftStats()
        self._gateway = gateway
        self._lock = lock
        self._retry = retry
        self._clock = clock
        self._rand = rand
        self._on_retry = on_retry

    async def run(self, station_ids: Iterable[str], *, force: bool = False,
                  push_all: bool = False, read_back: bool = False, concurrency: int = 1
                  ) -> dict[str, ReconcileReport]:
        """Reconcile every listed station; ``force``: failed deliveries get a fresh set
        of attempts (the station connected again); ``push_all``: re-send every desired
        profile whatever the mirror says (a drift repair); ``read_back``: ask each
        station that can tell what it holds and go by its answer."""
        ids = sorted(set(station_ids))
        # Stations nobody is working on are locked now and read together; a station
        # busy with another request waits for it in its own task and is read alone.
        free = [sid for sid in ids if not self._lock(sid).locked()]
        busy = sorted(set(ids) - set(free))
        held: set[str] = set()
        for sid in free:
            await self._lock(sid).acquire()  # free: returns without waiting
            held.add(sid)
        recorder = _Recorder(self._db, self._clock)
        limit = asyncio.Semaphore(max(1, concurrency))
        reports: dict[str, ReconcileReport] = {}

        async def locked_station(work: StationWork) -> None:
            try:
                reports[work.station_id] = await self._station(work, recorder, limit)
            finally:
                held.discard(work.station_id)
                self._lock(work.station_id).release()

        async def read(station_ids: list[str]) -> list[StationWork]:
            return await self._load(station_ids, force=force, push_all=push_all,
                                    read_back=read_back)

        # Stations another run held become free one by one: those freed meanwhile are
        # read together, so a fleet another run holds costs a few queries, not one each.
        read_later: _Grouped[str, StationWork] = _Grouped(read, "reading")

        async def waiting_station(station_id: str) -> None:
            async with self._lock(station_id):
                work = await read_later(station_id)
                reports[station_id] = await self._station(work, recorder, limit)


        try:
            loaded = await self._load(free, force=force, push_all=push_all,
                                      read_back=read_back) if free else []
            async with asyncio.TaskGroup() as group:
                for work in loaded:
                    group.create_task(locked_station(work))
                for sid in busy:
                    group.create_task(waiting_station(sid))
        finally:
            for sid in held:  # the read failed before the stations' tasks took over
                self._lock(sid).release()
        return {sid: reports[sid] for sid in ids if sid in reports}

    async def deliver(self, station_id: str, requested: Collection[int]) -> ReconcileReport:
        """Send one station (whose lock the caller holds) the desired rows ``requested``
        (just submitted), even when it already holds them, and nothing else: what a user
        did not ask for waits for the reconcile job. Their outcomes are in the report's
        ``deliveries``."""
        (work,) = await self._load([station_id], force=False, push_all=False,
                                   requested=requested)
        return await self._station(work, _Recorder(self._db, self._clock),
                                   asyncio.Semaphore(1))

    async def clear(self, station_id: str, request: Mapping[str, Any],
                    matching: Callable[[Sequence[InstalledProfile]], set[int]],
                    intent: int | None) -> JsonObject:
        """A user's ClearChargingProfile with its filters (the caller holds the station's
        lock); raises :class:`StationCallError`. Accepted or Unknown, nothing matching is
        left on the station (OCPP 1.6 §5.5), so the mirror drops what ``matching`` picks
        of it."""
        answer = await self._gateway.call(station_id, "ClearChargingProfile", dict(request),
                                          desired_profile_id=intent)
        async with self._db.uow() as session:
            held = store.mirror_as_installed(await store.mirror(session, station_id))
            await forget(session, station_id, matching(held))
        return answer

    async def _load(self, station_ids: Sequence[str], *, force: bool,
                    push_all: bool, requested: Collection[int] | None = None,
                    read_back: bool = False) -> list[StationWork]:
        """Read the stations' desired rows and mirrors, decide what each needs, and commit
        the intent (one more attempt) of every push before any call is made."""
        now = self._clock()
        rows: defaultdict[str, list[DesiredState]] = defaultdict(list)
        mirrors: defaultdict[str, list[MirrorState]] = defaultdict(list)
        booted: dict[str, datetime] = {}
        versions: dict[str, OcppVersion] = {}
        work: list[StationWork] = []
        async with self._db.core() as connection:
            for batch in chunks(station_ids):
                if force:
                    await connection.execute(
                        update(_DESIRED).where(_DESIRED.c.station_id.in_(batch),
                                               _DESIRED.c.state.in_(rules.RETRIED_ON_RECONNECT))
                        .values(attempts=0, next_attempt_at=None))
                for r in (await connection.execute(
                        select(_DESIRED.c.id, _DESIRED.c.station_id, _DESIRED.c.connector_id,
                               _DESIRED.c.charging_profile_id, _DESIRED.c.purpose,
                               _DESIRED.c.profile, _DESIRED.c.state, _DESIRED.c.attempts,
                               _DESIRED.c.next_attempt_at)
                        .where(_DESIRED.c.station_id.in_(batch))
                        .order_by(_DESIRED.c.id))).all():
                    rows[r.station_id].append(DesiredState(
                        r.id, r.station_id, r.connector_id, r.charging_profile_id, r.purpose,
                        r.profile, r.state, r.attempts, r.next_attempt_at))
                for m in (await connection.execute(
                        select(_MIRROR.c.station_id, _MIRROR.c.charging_profile_id,
                               _MIRROR.c.connector_id, _MIRROR.c.profile,
                               _MIRROR.c.desired_profile_id, _MIRROR.c.installed_at)
                        .where(_MIRROR.c.station_id.in_(batch))
                        .order_by(_MIRROR.c.installed_at,
                                  _MIRROR.c.charging_profile_id))).all():
                    mirrors[m.station_id].append(MirrorState(
                        m.charging_profile_id, m.connector_id, m.profile, m.desired_profile_id,
                        m.installed_at))
                for row in await connection.execute(
                        select(_STATIONS.c.id, _STATIONS.c.last_boot_at,
                               _STATIONS.c.ocpp_version)
                        .where(_STATIONS.c.id.in_(batch))):
                    version = OcppVersion(row.ocpp_version)
                    versions[row.id] = version
                    if (row.last_boot_at is not None
                            and not rules_of(version).keeps_profiles_on_boot):
                        booted[row.id] = row.last_boot_at
            looked = {} if not read_back else {
                r.id: (r.read_back_repairs, r.verification_state)
                for batch in chunks(station_ids) for r in await connection.execute(
                    select(_STATIONS.c.id, _STATIONS.c.read_back_repairs,
                           _STATIONS.c.verification_state)
                    .where(_STATIONS.c.id.in_(batch)))}
            running = await _running(connection, [
                sid for sid in station_ids
                if any(r.purpose == rules.TX_PROFILE for r in rows[sid])])
            for sid in station_ids:
                # Held is what the station acknowledged since it last booted: a charger
                # may come back from a reboot without the profiles it held before (OCPP 1.6
                # §4.2 says only that it sends BootNotification when it boots), so those
                # are sent again. Every mirror row still counts for what to clear. A 2.0.1
                # station keeps them (K01.FR.27) and the read-back checks that it did.
                since = booted.get(sid)
                mirrored = {m.charging_profile_id: m for m in mirrors[sid]
                            if since is None or m.installed_at is None
                            or m.installed_at >= since}
                push = cast(list[DesiredState], rules.to_push(
                    rows[sid], mirrored, now, force=force, push_all=push_all,
                    running=running.get(sid, {}), requested=requested))
                work.append(StationWork(sid, rows[sid], mirrors[sid], push,
                                        ReconcileReport(sid), clear=requested is None,
                                        read_back=read_back,
                                        version=versions.get(sid, OcppVersion.V16),
                                        repairs=looked.get(sid, (0, None))[0],
                                        state=looked.get(sid, (0, None))[1],
                                        running=running.get(sid, {}),
                                        installed_by={
                                            m.charging_profile_id: m.desired_profile_id
                                            for m in mirrors[sid]
                                            if m.desired_profile_id is not None}))
            await self._intend(connection, [row for w in work for row in w.push], now)
        return work

    async def _intend(self, connection: AsyncConnection, rows: Sequence[DesiredState],
                      now: datetime) -> None:
        """One more attempt of each row, committed before its call is made."""
        for row in rows:
            row.attempts += 1
            if row.attempts > 1:
                self._on_retry()
        for batch_ids in chunks([row.id for row in rows]):
            await connection.execute(
                update(_DESIRED).where(_DESIRED.c.id.in_(batch_ids))
                .values(attempts=_DESIRED.c.attempts + 1, last_attempt_at=now,
                        next_attempt_at=None))

    async def _station(self, work: StationWork, recorder: _Recorder,
                       limit: asyncio.Semaphore) -> ReconcileReport:
        """The station's calls in order, then its outcome written (its lock is held)."""
        held = None
        if work.read_back:
            async with limit:
                held = await self._held(work)
                if held is not None:
                    await self._repair(work, held)
        if held is None:
            wanted = [r.charging_profile_id for r in work.rows]
            extras = work.clear and rules.extras(wanted, [m.charging_profile_id
                                                          for m in work.mirror])
            if work.push or extras:
                async with limit:
                    if await self._push(work, work.push) and work.clear:
                        await self._clear(work, rules.extras(
                            wanted, [i.profile.charging_profile_id for i in work.held()]))
        if work.row_updates or work.holds is not None or work.station_update is not None:
            await recorder.record(work)
        return work.report

    async def _held(self, work: StationWork) -> list[StationProfile] | None:
        """What the station says it holds; None when it cannot tell (the mirror decides,
        as for OCPP 1.6) or did not tell this time (unknown, never "nothing")."""
        try:
            held = await self._gateway.held_profiles(work.station_id)
        except StationCallError as exc:
            work.report.calls += 1
            work.report.read_backs += 1
            work.report.failures += 1
            log.info("reading back the profiles of %s failed: %s", work.station_id,
                     exc.reason)
            return None
        if held is not None:
            work.report.calls += 1
            work.report.read_backs += 1
        return held

    async def _repair(self, work: StationWork, held: list[StationProfile]) -> None:
        """Go by the station's own list: send what it lacks or holds otherwise (what only
        lowers a limit first, the rest once that was Accepted), then clear what is
        extra; the mirror keeps only what the station still holds. An extra that holds
        the stack level a row is sent to (which a 2.0.1 station refuses the row beside)
        is cleared just before that row, and a row Rejected beside such an extra is sent
        again after it. Drift repaired
        ``max_repairs`` times since a read-back last found the station clean is left
        alone (:func:`rules.drift_decision`): nothing of it is sent or cleared, and the
        mirror keeps what the station acknowledged, so no reconcile sends it either."""
        found = rules.read_back(work.rows, held, work.running)
        decision = rules.drift_decision(found.drift, work.repairs, self._max_repairs,
                                        work.state)
        self._count(work, decision)
        if decision.unresolved:
            self._drift_found(work, found, held, decision)
            left = {*found.missing, *found.different}
            rows = [row for row in work.push if row.id not in left]
            if await self._push(work, rows) and self._accepted(work, rows):
                work.report.unresolved = True
            return
        held_ids = {item.charging_profile_id for item in held}
        work.holds = [i for i in work.held() if i.profile.charging_profile_id in held_ids]
        due = {row.id for row in work.push}
        now = self._clock()
        # A row the station Rejected beside an extra on its stack level is sent again once
        # that extra is cleared: the station's refusal was of the pair, not of the row.
        refused = [row for row in work.rows if work.clear and row.id not in due
                   and row.state == DeliveryState.REJECTED
                   and rules.for_current_transaction(row, work.running)
                   and rules.blocking([row], held, found.extra, now)]
        drifted = [row for row in work.rows
                   if row.id in {*found.missing, *found.different} and row.id not in due]
        drifted += refused
        if drifted:
            async with self._db.core() as connection:
                await self._intend(connection, drifted, self._clock())
        if found.drift:
            self._drift_found(work, found, held, decision)
        lowering, raising = rules.repair_order([*work.push, *drifted], held)
        extra = set(found.extra)
        done = True
        for rows in (lowering, raising):
            # An extra on the slot a row is sent to goes first (K01.FR.06, K01.FR.39).
            blocking = rules.blocking(rows, held, extra, now) if work.clear else []
            extra.difference_update(blocking)
            await self._clear(work, blocking)  # the rows go either way (see _push)
            done = await self._push(work, rows) and self._accepted(work, rows)
            if not done:
                break
        if done and work.clear:
            done = await self._clear(work, [i for i in found.extra if i in extra])
        if found.drift and done:
            self.drift.repaired += 1
            self.events.emit(EventType.VERIFICATION_REPAIRED, station_id=work.station_id,
                             source="read-back", repairs=decision.repairs,
                             **(work.report.drift or {}))

    def _count(self, work: StationWork, decision: rules.DriftDecision) -> None:
        """The station's new count and state, written with its outcome."""
        state: VerificationState | None = None
        if decision.repair:
            state = VerificationState.DRIFT
        elif decision.unresolved:
            state = VerificationState.DRIFT_UNRESOLVED
            if decision.newly:
                self.drift.unresolved += 1
                log.warning("%s: read-back drift unresolved after %d repairs",
                            work.station_id, decision.repairs)
        if state is not None or decision.repairs != work.repairs:
            work.station_update = {"b_station": work.station_id,
                                   "repairs": decision.repairs, "state": state}

    def _drift_found(self, work: StationWork, found: rules.ReadBack,
                     held: Sequence[StationProfile], decision: rules.DriftDecision) -> None:
        rows = {row.id: row for row in work.rows}
        places = {rows[i].connector_id for i in (*found.missing, *found.different)} | {
            item.connector_id for item in held if item.charging_profile_id in found.extra}
        work.report.drift = {
            "missing": [rows[i].charging_profile_id for i in found.missing],
            "different": [rows[i].charging_profile_id for i in found.different],
            "extra": list(found.extra)}
        self.drift.found += 1
        if decision.repair:
            log.info("%s: read-back found drift %s; repairing (repair %d of %d)",
                     work.station_id, work.report.drift, decision.repairs, self._max_repairs)
        self.events.emit(EventType.VERIFICATION_DRIFT, station_id=work.station_id,
                         source="read-back", connectors={c: "drift" for c in sorted(places)},
                         repairs=work.repairs, unresolved=decision.unresolved,
                         **work.report.drift)

    @staticmethod
    def _accepted(work: StationWork, rows: Sequence[DesiredState]) -> bool:
        return all(work.report.deliveries[row.id].delivery.status == DeliveryStatus.SUCCESS
                   for row in rows)

    async def _push(self, work: StationWork, rows: Sequence[DesiredState]) -> bool:
        """Send each of ``rows``; False when the station went offline on the way."""
        sid = work.station_id
        now = self._clock()
        for index, row in enumerate(rows):
            if not self._gateway.is_connected(sid):
                # Counted as attempted when the intent was written: keep it pending.
                for unsent in rows[index:]:
                    offline = StationOffline(sid, "SetChargingProfile")
                    delivery = rules.Delivery(DeliveryStatus.PENDING, DeliveryState.PENDING,
                                              None, offline.reason, failure=offline)
                    work.row_updates.append(_row_update(unsent.id, delivery))
                    work.report.deliveries[unsent.id] = Sent(unsent.charging_profile_id,
                                                             delivery)
                return False
            # A 2.0.1 station replaces a profile in place only by its id: one of
            # chargeplan's that no desired row asks for any more (this row replaced it)
            # on the row's stack level is cleared first, or the row is sent beside it.
            # Cleared or not (a station that cannot clear may still take the row in its
            # place), the row goes: the station's answer decides.
            await self._clear(work, self._replaced_by(work, row, now))
            answer: JsonObject | None = None
            failure: StationCallError | None = None
            emit_delivery(self.events, sid, row.connector_id, row.id, row.profile, None)
            try:
                answer = await self._gateway.call(
                    sid, "SetChargingProfile",
                    {"connectorId": row.connector_id, "csChargingProfiles": row.profile},
                    desired_profile_id=row.id)
            except StationCallError as exc:
                failure = exc
            delivery = rules.after_call(row.connector_id, row.profile, row.attempts, now,
                                        answer, failure, retry=self._retry, rand=self._rand())
            work.report.calls += 1
            work.report.pushed.append(row.charging_profile_id)
            if delivery.status not in (DeliveryStatus.SUCCESS, DeliveryStatus.REJECTED):
                work.report.failures += 1
            work.row_updates.append(_row_update(row.id, delivery))
            work.report.deliveries[row.id] = Sent(row.charging_profile_id, delivery)
            _log_delivery(sid, row.charging_profile_id, delivery)
            emit_delivery(self.events, sid, row.connector_id, row.id, row.profile, delivery)
            if delivery.installed is not None:
                outcome = install(work.held(), delivery.installed)
                work.holds = list(outcome.installed)
                work.fresh.add(row.charging_profile_id)
                work.installed_by[row.charging_profile_id] = row.id
        return self._gateway.is_connected(sid)

    @staticmethod
    def _replaced_by(work: StationWork, row: DesiredState, now: datetime) -> list[int]:
        """What the station holds of chargeplan's (the mirror), on the row's stack level,
        purpose and EVSE (or its transaction's), under another id that no desired row
        asks for: a 1.6 charger replaces it with the row (OCPP 1.6 §5.16.3), a 2.0.1
        station may refuse the row beside it (K01.FR.06, K01.FR.39)."""
        if work.version is not OcppVersion.V201:
            return []
        wanted = {r.charging_profile_id for r in work.rows}
        held = [StationProfile(i.connector_id, i.profile.charging_profile_id, i.profile)
                for i in work.held()]
        return rules.blocking([row], held, {h.charging_profile_id for h in held} - wanted, now)

    async def _clear(self, work: StationWork, profile_ids: Sequence[int]) -> bool:
        """Clear each of ``profile_ids`` by id; False when any clear failed."""
        sid = work.station_id
        cleared = True
        for profile_id in profile_ids:
            work.report.calls += 1
            try:
                # OCPP 1.6 §5.5: Accepted or Unknown, nothing with this id is left on it.
                await self._gateway.call(sid, "ClearChargingProfile", {"id": profile_id},
                                         desired_profile_id=work.installed_by.get(profile_id))
            except StationCallError as exc:
                work.report.failures += 1
                cleared = False
                log.info("clearing profile %s on %s failed: %s", profile_id, sid, exc.reason)
                continue
            work.holds = [i for i in work.held()
                          if i.profile.charging_profile_id != profile_id]
            work.fresh.discard(profile_id)
            work.report.cleared.append(profile_id)
        return cleared


async def record_installed(session: AsyncSession, station_id: str, item: InstalledProfile,
                           at: datetime, desired_profile_id: int) -> None:
    """A profile the station acknowledged outside a SetChargingProfile (the TxProfile of
    a RemoteStartTransaction): it enters the mirror, and what it replaces there (OCPP 1.6
    §3.13.2, §5.16.4) leaves."""
    outcome = install(store.mirror_as_installed(await store.mirror(session, station_id)),
                      item)
    await forget(session, station_id, {p.profile.charging_profile_id
                                       for p in outcome.replaced}
                 | {item.profile.charging_profile_id})
    session.add(InstalledProfileRecord(
        station_id=station_id, charging_profile_id=item.profile.charging_profile_id,
        connector_id=item.connector_id, profile=item.profile.to_ocpp(), installed_at=at,
        desired_profile_id=desired_profile_id))


async def forget(session: AsyncSession, station_id: str, profile_ids: set[int]) -> None:
    """Profiles the station no longer holds: cleared, replaced, or dropped by the station
    itself (the TxProfile of a transaction that ended)."""
    if profile_ids:
        await session.execute(delete(InstalledProfileRecord).where(
            InstalledProfileRecord.station_id == station_id,
            InstalledProfileRecord.charging_profile_id.in_(profile_ids)))


async def _running(connection: AsyncConnection, station_ids: Sequence[str]
                   ) -> dict[str, dict[int, int]]:
    """The transaction running on each connector of these stations (the latest open one
    that counts as running after the station's boot: :func:`rules.runs_after_boot`),
    read only for stations with TxProfiles to deliver."""
    latest: dict[tuple[str, int], Any] = {}
    for batch in chunks(station_ids):
        for t in (await connection.execute(
                select(_TRANSACTIONS.c.station_id, _TRANSACTIONS.c.connector_id,
                       _TRANSACTIONS.c.id, _TRANSACTIONS.c.reported_at,
                       _STATIONS.c.last_boot_at, _STATIONS.c.ocpp_version)
                .join(_STATIONS, _STATIONS.c.id == _TRANSACTIONS.c.station_id)
                .where(_TRANSACTIONS.c.station_id.in_(batch),
                       _TRANSACTIONS.c.stopped_at.is_(None))
                .order_by(_TRANSACTIONS.c.started_at, _TRANSACTIONS.c.id))).all():
            latest[t.station_id, t.connector_id] = t
    running: defaultdict[str, dict[int, int]] = defaultdict(dict)
    for (station_id, connector_id), t in latest.items():
        if rules.runs_after_boot(
                t.reported_at, t.last_boot_at,
                must_report=rules_of(OcppVersion(t.ocpp_version)).tx_reported_after_boot):
            running[station_id][connector_id] = t.id
    return running


def _row_update(row_id: int, delivery: rules.Delivery) -> dict[str, Any]:
    return {"row_id": row_id, "new_state": delivery.state, "new_answer": delivery.answer,
            "new_error": delivery.error, "retry_at": delivery.retry_at}


_DELIVERY_EVENTS = {DeliveryStatus.SUCCESS: EventType.PROFILE_ACCEPTED,
                    DeliveryStatus.REJECTED: EventType.PROFILE_REJECTED,
                    DeliveryStatus.ERROR: EventType.PROFILE_FAILED}


def emit_delivery(events: EventBus, station_id: str, connector_id: int, desired_id: int,
                  profile: Mapping[str, Any], delivery: rules.Delivery | None) -> None:
    """``profile.delivered`` as the call goes out (``delivery`` None), then what the
    station answered; a station gone offline on the way (still pending) says nothing."""
    kind = EventType.PROFILE_DELIVERED if delivery is None else _DELIVERY_EVENTS.get(
        delivery.status)
    if kind is not None:
        events.emit(kind, station_id=station_id, connector_id=connector_id,
                    desired_id=desired_id, profile_id=profile.get("chargingProfileId"),
                    purpose=profile.get("chargingProfilePurpose"),
                    error=delivery.error if delivery else None)


def _log_delivery(station_id: str, profile_id: int, delivery: rules.Delivery) -> None:
    if delivery.status == DeliveryStatus.SUCCESS:
        # One line per station of a fleet is noise; the job run counts them.
        log.debug("Profile %s accepted by %s", profile_id, station_id)
    elif delivery.status == DeliveryStatus.REJECTED:
        log.info("Profile %s rejected by %s: %s", profile_id, station_id, delivery.error)
    else:
        log.info("Profile %s not delivered to %s: %s", profile_id, station_id, delivery.error)
