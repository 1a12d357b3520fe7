"""Smart charging on persisted desired state: submit, deliver, clear, reconcile, compare.

Every change is first committed as desired state, then sent, and the station's answer
is committed in a new unit of work: a crash in between leaves a ``pending`` row, never a
lost one, and no database session is held while waiting on a charger. Work for one
station is serialised (in the order received); different stations run in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union

from app.clock import Clock, utcnow
from app.db.batching import chunks
from app.db.engine import Database
from app.db.models import DesiredProfile, InstalledProfileRecord
from app.db.models import Transaction as TransactionRow
from app.domain.composite import (
    ActiveTransaction,
    CompositeAnswer,
    Convention,
    SupplyConfig,
    composite_answer,
    composite_schedule,
)
from app.domain.installation import InstalledProfile, clear, install
from app.domain.ownership import MANUAL, Owner, OwnerKind
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ProfileFormatError,
)
from app.domain.profiles_v201 import ChargingProfile201, ConversionError, from_v16, kept_form
from app.domain.protocol_rules import OcppVersion
from app.domain.schedule_comparison import explains
from app.domain.states import DeliveryState, DeliveryStatus
from app.domain.validation import profile_warnings
from app.domain.violations import Violation
from app.events import EventBus, EventType
from app.json_types import JsonObject
from app.services.delivery import profiles_store as store
from app.services.delivery.managed_profiles import (
    PROFILE_FIELD_V201,
    InvalidProfile,
    ManagedProfiles,
    check_clashes,
    check_frame,
    check_limits,
    check_station,
    in_v201_request,
    keep_id,
    managed_previous,
    parse,
    replaced_rows,
)
from app.services.delivery.ports import NoOwners, Owners
from app.services.delivery.reconciler import DriftStats, Reconciler, ReconcileReport, forget
from app.services.delivery.station_view import StationView, station_views
from app.services.errors import Invalid, NotFound
from app.services.messagebus import DISCARD, Publisher
from app.services.messages import DesiredChanged
from app.services.ports import (
    ChargerGateway,
    StationCallError,
    StationOffline,
    call_error_from_json,
    call_error_to_json,
)
from app.timefmt import parse_timestamp

__all__ = ["InvalidProfile", "ReconcileReport", "SmartChargingService", "StationView"]

log = logging.getLogger("chargeplan.smart_charging")

# Transaction ids are 32-bit integers (the column, and an OCPP 1.6 transactionId).
_MAX_TRANSACTION_ID = 2**31 - 1


@dataclass
class Outcome:
    """What happened to one request (success, rejected, error, pending), with the typed
    failure when there is no answer."""

    status: DeliveryStatus
    message: str
    error: str | None = None
    answer: JsonObject | None = None
    # Why there is no answer, typed (offline, timeout, CALLERROR, invalid answer).
    failure: StationCallError | None = None


@dataclass
class Submitted:
    outcome: Outcome
    desired_id: int
    profile_id: int
    connector_id: int
    profile: JsonObject
    warnings: list[str] = field(default_factory=list)


@dataclass
class Cleared:
    outcome: Outcome
    filters: JsonObject
    removed: list[DesiredProfile]


@dataclass
class CompositeReport:
    outcome: Outcome
    schedule: JsonObject | None
    expected: JsonObject
    matches: bool | None


@dataclass(frozen=True)
class Snapshot:
    view: StationView
    installed: tuple[InstalledProfile, ...]
    transactions: tuple[ActiveTransaction, ...]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for failed deliveries."""

    base_s: float = 10.0
    cap_s: float = 600.0
    max_attempts: int = 6

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds before attempt ``attempt + 1``; ``rand`` in [0, 1) spreads a fleet's
        retries so stations that failed together do not retry together."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** max(attempt - 1, 0))
        return ceiling / 2 + ceiling / 2 * rand


class SmartChargingService:
    def __init__(self, db: Database, gateway: ChargerGateway, *, supply: SupplyConfig,
                 retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
                 clock: Clock = utcnow, rand: Callable[[], float] = random.random,
                 events: EventBus | None = None,
                 max_frame_bytes: int | None = None, bus: Publisher = DISCARD,
                 owners: Owners | None = None, max_repairs: int = 3) -> None:
        self._db = db
        self.events = events or EventBus(clock=clock)
        self._gateway = gateway
        self._supply = supply
        self._retry = retry
        self._clock = clock
        self._rand = rand
        self.retries = 0
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Stations another node holds (several nodes on one PostgreSQL).
        self._owners: Owners = owners or NoOwners()
        # Told which stations' desired sets changed by anyone but a circuit (a circuit's
        # sessions are capped by what other owners ask: app/reactions.py).
        self._bus = bus
        # Desired profiles owned by plans and tariffs, stored on many stations at once.
        self._max_frame_bytes = max_frame_bytes
        self.managed = ManagedProfiles(db, lock=self.lock, clock=clock,
                                       max_frame_bytes=max_frame_bytes,
                                       on_changed=self._managed_changed)
        # Drift found and repaired, by read-back here and by verification.
        self.drift = DriftStats()
        self._reconciler = Reconciler(db, gateway, lock=self.lock, retry=retry, clock=clock,
                                      rand=rand, on_retry=self._count_retry,
                                      events=self.events, drift=self.drift,
                                      max_repairs=max_repairs)

    @property
    def supply(self) -> SupplyConfig:
        return self._supply

    def _managed_changed(self, station_ids: Sequence[str], owner: Owner) -> None:
        if owner.kind is not OwnerKind.CIRCUIT:
            self._desired_changed(station_ids)

    def _desired_changed(self, station_ids: Sequence[str]) -> None:
        self._bus.publish(DesiredChanged(tuple(station_ids)))

    def _count_retry(self) -> None:
        self.retries += 1

    def lock(self, station_id: str) -> asyncio.Lock:
        return self._locks[station_id]

    # --- what the station accepts ------------------------------------------------------
    async def station_view(self, station_id: str) -> StationView:
        async with self._db.uow() as session:
            view = (await station_views(session, [station_id])).get(station_id)
        if view is None:
            raise NotFound("station", station_id)
        return view

    async def check_profile(self, station_id: str, connector_id: int,
                            profile_json: Mapping[str, Any]) -> tuple[ChargingProfile, StationView]:
        """Parse and validate, by the rules of the station's OCPP version, before anything
        is stored or sent; raises Invalid/NotFound."""
        view = await self.station_view(station_id)
        check_station(view, connector_id)
        profile = parse(profile_json)
        check_limits(profile, connector_id, view.limits, view.rules, at=self._clock())
        check_frame(profile, connector_id, self._max_frame_bytes)
        return profile, view

    # --- submit and deliver ------------------------------------------------------------
    async def submit(self, station_id: str, connector_id: int, profile_json: Mapping[str, Any],
                     *, owner: Owner = MANUAL) -> Submitted:
        profile, view = await self.check_profile(station_id, connector_id, profile_json)
        await self._check_transaction(station_id, connector_id, profile)
        async with self.lock(station_id):
            desired_id, profile = await self._store(
                station_id, connector_id, profile, "chargingProfileId" not in profile_json,
                view, owner)
            self.events.emit(EventType.PROFILE_STORED, station_id=station_id,
                             connector_id=connector_id, desired_id=desired_id,
                             profile_id=profile.charging_profile_id, owner=str(owner.kind))
            log.info("API: Sending charging profile to %s, connector %s", station_id,
                     connector_id)
            if self._gateway.is_connected(station_id):
                outcome = await self._deliver(station_id, desired_id)
            else:
                outcome = await self._deliver_elsewhere(station_id, desired_id)
        if owner.kind is not OwnerKind.CIRCUIT:
            self._desired_changed([station_id])
        warnings = [*view.warnings, *(str(w) for w in profile_warnings(profile))]
        return Submitted(outcome, desired_id, profile.charging_profile_id, connector_id,
                         profile.to_ocpp(), warnings)

    async def submit_v201(self, station_id: str, evse_id: int,
                          profile_json: Mapping[str, Any]) -> Submitted:
        """A profile a user sent in its OCPP 2.0.1 form (ChargingProfileType, on
        ``evse_id``), for a station of either version: kept in its 1.6 form
        (:func:`kept_form`, its transactionId resolved to the transaction chargeplan knows
        on the station) and submitted as one, so it is stored, delivered and verified the
        same way. Every refusal names the field as the request spells it
        (``charging_profile.chargingSchedule[0]...``, ``evse_id``)."""
        view = await self.station_view(station_id)
        try:
            profile = ChargingProfile201.from_ocpp(profile_json)
        except ProfileFormatError as exc:
            raise InvalidProfile([v.prefixed(PROFILE_FIELD_V201)
                                  for v in exc.violations]) from None
        known: dict[str, int] = {}
        if profile.transaction_id is not None:
            found = await self._transaction_named(station_id, view, profile.transaction_id)
            if found is not None:
                known[profile.transaction_id] = found
        try:
            kept = kept_form(profile, profile_json, known.get)
        except ConversionError as exc:
            raise InvalidProfile([v.prefixed(PROFILE_FIELD_V201)
                                  for v in exc.violations]) from None
        try:
            return await self.submit(station_id, evse_id, kept.to_ocpp())
        except InvalidProfile as exc:
            raise InvalidProfile([Violation(in_v201_request(v.path), v.rule, v.reference)
                                  for v in exc.violations]) from None
        except Invalid as exc:
            raise Invalid.all([(in_v201_request(field), rule)
                               for field, rule in exc.problems]) from None

    async def _transaction_named(self, station_id: str, view: StationView,
                                 name: str) -> int | None:
        """The integer id of the transaction of the station that a 2.0.1 profile names:
        a 2.0.1 station's own string (``remote_id``), a 1.6 station's integer id written
        in decimal; None when chargeplan knows none by that name."""
        async with self._db.uow() as session:
            if view.rules.version is OcppVersion.V201:
                found: int | None = await session.scalar(select(TransactionRow.id).where(
                    TransactionRow.station_id == station_id,
                    TransactionRow.remote_id == name))
                return found
            if not (name.isascii() and name.isdecimal()) or int(name) > _MAX_TRANSACTION_ID:
                return None
            tx = await session.get(TransactionRow, int(name))
        return tx.id if tx is not None and tx.station_id == station_id else None

    async def _check_transaction(self, station_id: str, connector_id: int,
                                 profile: ChargingProfile) -> None:
        """A TxProfile is only ever sent for the transaction running on its connector
        (the delivery engine's rule): one for a transaction chargeplan does not know on
        this station, or that has ended (stopped, superseded, or on another connector),
        would be stored and never sent, so it is refused now."""
        if profile.purpose is not ChargingProfilePurpose.TX_PROFILE or (
                profile.transaction_id is None):
            return
        async with self._db.uow() as session:
            tx = await session.get(TransactionRow, profile.transaction_id)
        if tx is None or tx.station_id != station_id:
            raise Invalid("profile.transactionId",
                          f"transaction {profile.transaction_id} is not a transaction of this "
                          "station: a TxProfile serves its running transaction only")
        if tx.connector_id != connector_id or tx.stopped_at is not None:
            raise Invalid("profile.transactionId",
                          f"transaction {tx.id} is not running on connector {connector_id} "
                          "of this station: a TxProfile serves its running transaction only")

    async def _store(self, station_id: str, connector_id: int, profile: ChargingProfile,
                     allocate: bool, view: StationView, owner: Owner
                     ) -> tuple[int, ChargingProfile]:
        now = self._clock()
        async with self._db.uow() as session:
            rows = await store.desired(session, station_id)
            previous = managed_previous(rows, owner, connector_id, str(profile.purpose))
            kept, unchanged = keep_id(previous, connector_id, profile)
            if kept is not None:
                # Keep the chargingProfileId: the station replaces the profile by id.
                profile = kept
                if unchanged and previous is not None:
                    return previous.id, profile
            # An id to be allocated is none of the rows' (-1 stands in for it).
            check_clashes(rows, profile if kept is not None or not allocate
                          else profile.with_id(-1), connector_id, previous, view.rules, owner,
                          at=now)
            if kept is None and allocate:
                taken = {r.charging_profile_id for r in rows} | {
                    r.charging_profile_id for r in await store.mirror(session, station_id)}
                profile = profile.with_id(
                    await store.allocate_profile_id(session, station_id, taken))
            new = InstalledProfile(connector_id, profile)
            for row in replaced_rows(rows, new, previous, view.limits.max_profiles,
                                     view.rules):
                await session.delete(row)
            await session.flush()
            row = DesiredProfile(
                station_id=station_id, connector_id=connector_id,
                charging_profile_id=profile.charging_profile_id, purpose=str(profile.purpose),
                stack_level=profile.stack_level, transaction_id=profile.transaction_id,
                profile=profile.to_ocpp(), owner_kind=owner.kind, owner_id=owner.id,
                state=DeliveryState.PENDING, attempts=0, created_at=now, updated_at=now)
            session.add(row)
            await session.flush()
            return row.id, profile

    # --- desired state owned by plans, tariffs and circuits --------------------------------
    async def put_managed(self, station_id: str, connector_id: int,
                          profile_json: Mapping[str, Any], *, owner: Owner) -> None:
        """Materialise an owner's profile on one station (see :class:`ManagedProfiles`;
        ``managed.put`` does many at once). Raises Invalid or NotFound when the station
        cannot take it."""
        result = await self.managed.put([station_id], connector_id, profile_json,
                                        owner=owner)
        if station_id in result.failures:
            raise result.failures[station_id]

    async def remove_managed(self, station_id: str, *, owner: Owner,
                             connector_id: int | None = None) -> None:
        await self.managed.remove([station_id], owner=owner, connector_id=connector_id)

    async def _deliver_elsewhere(self, station_id: str, desired_id: int) -> Outcome:
        """The node holding the station delivers the profile under its own lock for the
        station, so the call and the record of its answer never interleave with that
        node's reconcile; pending when no node holds the station."""
        try:
            result = await self._owners.carry_out("deliver", station_id,
                                                 {"desired_id": desired_id})
        except StationCallError as exc:
            return Outcome(DeliveryStatus.ERROR, f"SetChargingProfile failed: {exc.reason}",
                           exc.reason, failure=exc)
        if result is None:
            return Outcome(DeliveryStatus.PENDING,
                           f"station {station_id} is offline: the profile is "
                           "stored and will be delivered when it reconnects",
                           failure=StationOffline(station_id, "SetChargingProfile"))
        failure = result.get("failure")
        return Outcome(DeliveryStatus(result["status"]), result["message"], result.get("error"),
                       result.get("answer"), None if failure is None else call_error_from_json(
                           station_id, "SetChargingProfile", failure))

    async def deliver_here(self, station_id: str, desired_id: int) -> JsonObject:
        """Deliver a stored profile for another node (see :meth:`_deliver_elsewhere`)."""
        async with self.lock(station_id):
            if self._gateway.is_connected(station_id):
                outcome = await self._deliver(station_id, desired_id)
            else:
                outcome = Outcome(DeliveryStatus.PENDING, f"station {station_id} went offline: the "
                                  "profile is stored and will be delivered when it reconnects",
                                  failure=StationOffline(station_id, "SetChargingProfile"))
        return {"status": outcome.status, "message": outcome.message, "error": outcome.error,
                "answer": outcome.answer, "failure": None if outcome.failure is None
                else call_error_to_json(outcome.failure)}

    async def _deliver(self, station_id: str, desired_id: int) -> Outcome:
        """Reconcile the station through the delivery engine, sending the submitted row
        whatever it holds, and report that row's answer (the caller holds the lock)."""
        report = await self._reconciler.deliver(station_id, [desired_id])
        sent = report.deliveries.get(desired_id)
        if sent is None:
            return await self._not_sent(station_id, desired_id)
        delivery, profile_id = sent.delivery, sent.charging_profile_id
        if delivery.status == DeliveryStatus.PENDING:
            return Outcome(DeliveryStatus.PENDING,
                           f"station {station_id} went offline: the profile is "
                           "stored and will be delivered when it reconnects", delivery.error,
                           failure=delivery.failure)
        if delivery.status == DeliveryStatus.ERROR:
            return Outcome(DeliveryStatus.ERROR, f"SetChargingProfile failed: {delivery.error}",
                           delivery.error, failure=delivery.failure)
        if delivery.status == DeliveryStatus.SUCCESS:
            # The engine logs a fleet's acceptances at debug; a user's own one is news.
            log.info("Profile %s accepted by %s", profile_id, station_id)
            return Outcome(DeliveryStatus.SUCCESS, f"profile {profile_id} accepted by {station_id}",
                           answer=delivery.answer)
        return Outcome(DeliveryStatus.REJECTED, f"profile {profile_id} rejected by {station_id}",
                       delivery.error, delivery.answer)

    async def renew_tx_profile(self, station_id: str, transaction_id: int) -> Outcome | None:
        """Send the transaction's TxProfile again (the newest one desired), whatever the
        station holds: a station that accepts one renegotiates the schedule with the car
        (OCPP 2.0.1 K16.FR.01, K16.FR.02). None when chargeplan wants no TxProfile for it."""
        async with self._db.uow() as session:
            desired_id = await session.scalar(
                select(DesiredProfile.id).where(
                    DesiredProfile.station_id == station_id,
                    DesiredProfile.transaction_id == transaction_id,
                    DesiredProfile.purpose == ChargingProfilePurpose.TX_PROFILE.value)
                .order_by(DesiredProfile.id.desc()).limit(1))
        if desired_id is None:
            return None
        if not self._gateway.is_connected(station_id):
            return await self._deliver_elsewhere(station_id, desired_id)
        async with self.lock(station_id):
            return await self._deliver(station_id, desired_id)

    async def _not_sent(self, station_id: str, desired_id: int) -> Outcome:
        """Why the engine did not send a submitted row: it is gone, or it is a TxProfile
        whose transaction is not running on its connector (sent when it is)."""
        async with self._db.uow() as session:
            row = await session.get(DesiredProfile, desired_id)
        if row is None:
            return Outcome(DeliveryStatus.ERROR, "the profile was removed before delivery")
        return Outcome(DeliveryStatus.PENDING,
                       f"the profile is stored and will be sent to {station_id} "
                       f"while transaction {row.transaction_id} runs on connector "
                       f"{row.connector_id}")

    async def delivery_counts(self) -> dict[DeliveryState, int]:
        """Desired profiles by delivery state (every state, 0 when none)."""
        counts = dict.fromkeys(DeliveryState, 0)
        async with self._db.uow() as session:
            for state, n in (await session.execute(
                    select(DesiredProfile.state, func.count())
                    .group_by(DesiredProfile.state))).all():
                counts[DeliveryState(state)] = n
        return counts

    # --- which stations the jobs touch ---------------------------------------------------
    async def stations_with_profiles(self, among: set[str] | None = None) -> set[str]:
        """Stations with desired or installed profiles: the only ones reconcile can touch
        (all of them, or those ``among``)."""
        desired = select(DesiredProfile.station_id)
        installed = select(InstalledProfileRecord.station_id)
        if among is not None:
            if not among:
                return set()
            desired = desired.where(DesiredProfile.station_id.in_(among))
            installed = installed.where(InstalledProfileRecord.station_id.in_(among))
        async with self._db.uow() as session:
            return set((await session.scalars(union(desired, installed))).all())

    async def stations_with_desired(self, among: set[str]) -> set[str]:
        """The stations ``among`` with desired profiles: the only ones to verify."""
        found: set[str] = set()
        async with self._db.uow() as session:
            for batch in chunks(sorted(among)):
                found.update((await session.scalars(
                    select(DesiredProfile.station_id).distinct()
                    .where(DesiredProfile.station_id.in_(batch)))).all())
        return found

    # --- transactions that ended ----------------------------------------------------------
    async def transactions_ended(self, station_id: str, transaction_ids: Sequence[int]) -> None:
        """OCPP 1.6 §3.13.1: a TxProfile lives as long as its transaction. When one ends
        (stopped, or superseded by a newer transaction on its connector) its TxProfile
        desired rows go, so they are never sent again, and so do their mirror entries
        (the charger dropped them itself: clearing them would be a call nobody asked)."""
        ended = set(transaction_ids)
        async with self.lock(station_id), self._db.uow() as session:
            for row in await store.desired(session, station_id):
                if row.purpose == ChargingProfilePurpose.TX_PROFILE.value and (
                        row.transaction_id in ended):
                    await session.delete(row)
            gone = {m.charging_profile_id for m in await store.mirror(session, station_id)
                    if m.profile.get("chargingProfilePurpose") == "TxProfile"
                    and m.profile.get("transactionId") in ended}
            await forget(session, station_id, gone)

    # --- clear -------------------------------------------------------------------------
    async def clear(self, station_id: str, *, profile_id: int | None = None,
                    connector_id: int | None = None, purpose: str | None = None,
                    stack_level: int | None = None, routed: bool = True) -> Cleared:
        """Withdraw the desired profiles the filters match and send ClearChargingProfile.
        For a station another node holds (``routed``), that node does all of it under its
        own lock for the station, so the call and the mirror's update never interleave with
        its reconcile."""
        await self.station_view(station_id)  # 404 for an unknown station
        purpose_enum = None
        if purpose is not None:
            try:
                purpose_enum = ChargingProfilePurpose(purpose)
            except ValueError:
                raise Invalid("purpose", "must be one of " + ", ".join(
                    p.value for p in ChargingProfilePurpose)) from None
        for name, value in (("profile_id", profile_id), ("connector_id", connector_id),
                            ("stack_level", stack_level)):
            if value is not None and value < 0:
                raise Invalid(name, "must be >= 0")
        filters = {k: v for k, v in (("profile_id", profile_id), ("connector_id", connector_id),
                                     ("purpose", purpose), ("stack_level", stack_level))
                   if v is not None}
        request: JsonObject = {}
        for key, ocpp_key in (("profile_id", "id"), ("connector_id", "connectorId"),
                              ("purpose", "chargingProfilePurpose"),
                              ("stack_level", "stackLevel")):
            if key in filters:
                request[ocpp_key] = filters[key]

        def select_from(items: Sequence[InstalledProfile]) -> set[int]:
            result = clear(items, profile_id=profile_id, connector_id=connector_id,
                           purpose=purpose_enum, stack_level=stack_level)
            return {p.profile.charging_profile_id for p in result.removed}

        if routed and not self._gateway.is_connected(station_id):
            elsewhere = await self._clear_elsewhere(station_id, filters)
            if elsewhere is not None:
                return elsewhere

        async with self.lock(station_id):
            async with self._db.uow() as session:
                rows = await store.desired(session, station_id)
                gone = select_from(store.desired_as_installed(rows))
                removed = [r for r in rows if r.charging_profile_id in gone]
                for row in removed:
                    await session.delete(row)
                held = await store.mirror(session, station_id)
                # The intent the clear serves: the desired row it withdraws, else the one
                # that installed what it clears.
                intent = removed[0].id if removed else store.intent_of(
                    held, select_from(store.mirror_as_installed(held)))
            if removed:
                self._desired_changed([station_id])
            if not await self._gateway.reachable(station_id):
                outcome = Outcome(DeliveryStatus.PENDING,
                                  f"station {station_id} is offline: the desired "
                                  "profiles are removed and the station will be cleared when "
                                  "it reconnects",
                                  failure=StationOffline(station_id, "ClearChargingProfile"))
                return Cleared(outcome, filters, removed)
            try:
                answer = await self._reconciler.clear(station_id, request, select_from,
                                                      intent)
            except StationCallError as exc:
                return Cleared(Outcome(DeliveryStatus.ERROR,
                                       f"ClearChargingProfile failed: {exc.reason}",
                                       exc.reason, failure=exc), filters, removed)
        if answer.get("status") == "Accepted":
            outcome = Outcome(DeliveryStatus.SUCCESS, f"{station_id} cleared the matching profiles",
                              answer=answer)
        else:
            outcome = Outcome(DeliveryStatus.SUCCESS,
                              f"nothing on {station_id} matched the filters "
                              f"(station answered {answer.get('status')})", answer=answer)
        return Cleared(outcome, filters, removed)

    async def _clear_elsewhere(self, station_id: str, filters: JsonObject
                               ) -> Cleared | None:
        """The clear carried out by the node holding the station; None when none does."""
        try:
            result = await self._owners.carry_out("clear", station_id, {"filters": filters})
        except StationCallError as exc:
            return Cleared(Outcome(DeliveryStatus.ERROR,
                                   f"ClearChargingProfile failed: {exc.reason}",
                                   exc.reason, failure=exc), filters, [])
        if result is None:
            return None
        failure = result.get("failure")
        outcome = Outcome(DeliveryStatus(result["status"]), result["message"], result.get("error"),
                          result.get("answer"), None if failure is None else
                          call_error_from_json(station_id, "ClearChargingProfile", failure))
        removed = [DesiredProfile(station_id=station_id, **r) for r in result["removed"]]
        return Cleared(outcome, filters, removed)

    async def clear_here(self, station_id: str, filters: JsonObject) -> JsonObject:
        """Clear for another node (see :meth:`clear`): the outcome as a result row holds
        it."""
        cleared = await self.clear(station_id, routed=False, **filters)
        outcome = cleared.outcome
        return {"status": outcome.status, "message": outcome.message, "error": outcome.error,
                "answer": outcome.answer, "failure": None if outcome.failure is None
                else call_error_to_json(outcome.failure),
                "removed": [{"charging_profile_id": r.charging_profile_id,
                             "connector_id": r.connector_id, "purpose": r.purpose,
                             "stack_level": r.stack_level} for r in cleared.removed]}

    # --- reconcile: make the station hold exactly the desired set ----------------------
    async def reconcile(self, station_id: str, *, force: bool = False,
                        push_all: bool = False) -> ReconcileReport:
        """Push what is missing or different, then clear what is extra (see
        :meth:`reconcile_many`). Running it twice sends nothing the second time."""
        reports = await self.reconcile_many([station_id], force=force, push_all=push_all)
        return reports.get(station_id, ReconcileReport(station_id))

    async def reconcile_by_owners(self, station_ids: Sequence[str]) -> None:
        """Reconcile the stations now, each on the node holding it: those connected here
        together, the others by their owners under their locks (several nodes on one
        PostgreSQL); a station no node holds is left for its reconnect."""
        here = [s for s in station_ids if self._gateway.is_connected(s)]
        elsewhere = [s for s in station_ids if s not in set(here)]

        async def by_owner(station_id: str) -> None:
            try:
                await self._owners.carry_out("reconcile", station_id, {})
            except StationCallError as exc:
                log.warning("reconcile of %s by its node failed: %s", station_id, exc.reason)

        await asyncio.gather(
            *([self.reconcile_many(here, concurrency=len(here))] if here else []),
            *(by_owner(s) for s in elsewhere))

    async def reconcile_many(self, station_ids: Sequence[str], *, force: bool = False,
                             push_all: bool = False, read_back: bool = False,
                             concurrency: int = 1) -> dict[str, ReconcileReport]:
        """Reconcile stations together: rows read at once, ``concurrency`` stations'
        calls in flight, outcomes written in batches.

        Rejected profiles stay rejected until they change; failed deliveries wait for
        their backoff, and after the last attempt for ``force`` (the station connected
        again). ``push_all`` re-sends every desired profile whatever the mirror says (a
        drift repair). ``read_back`` asks each station that can tell (OCPP 2.0.1) what
        it holds and goes by that instead of the mirror: what it lost or holds otherwise
        is sent again, what a central system set that no desired row asks for is
        cleared.
        """
        return await self._reconciler.run(station_ids, force=force, push_all=push_all,
                                          read_back=read_back, concurrency=concurrency)

    # --- composite schedules -----------------------------------------------------------
    async def snapshot(self, station_id: str, *, from_desired: bool = False,
                       accepted_only: bool = False) -> Snapshot:
        """What composites of a station are computed from, read once: what the server
        believes it holds (or the desired set; ``accepted_only`` keeps the desired
        profiles the station acknowledged) and its running transactions."""
        found = (await self.snapshots([station_id], from_desired=from_desired,
                                      accepted_only=accepted_only)).get(station_id)
        if found is None:
            raise NotFound("station", station_id)
        return found

    async def snapshots(self, station_ids: Sequence[str], *, from_desired: bool = False,
                        accepted_only: bool = False) -> dict[str, Snapshot]:
        """:meth:`snapshot` of many stations in a few queries; unregistered ones are
        left out."""
        ids = list(dict.fromkeys(station_ids))
        installed: defaultdict[str, list[InstalledProfile]] = defaultdict(list)
        running: defaultdict[str, list[TransactionRow]] = defaultdict(list)
        async with self._db.uow() as session:
            views = await station_views(session, ids)
            for batch in chunks(ids):
                if from_desired:
                    desired = (select(DesiredProfile)
                               .where(DesiredProfile.station_id.in_(batch))
                               .order_by(DesiredProfile.id))
                    if accepted_only:
                        desired = desired.where(
                            DesiredProfile.state == DeliveryState.ACCEPTED)
                    rows: Sequence[DesiredProfile | InstalledProfileRecord] = (
                        await session.scalars(desired)).all()
                else:
                    rows = (await session.scalars(
                        select(InstalledProfileRecord)
                        .where(InstalledProfileRecord.station_id.in_(batch))
                        .order_by(InstalledProfileRecord.installed_at,
                                  InstalledProfileRecord.charging_profile_id))).all()
                for row in rows:
                    installed[row.station_id].append(
                        store.as_installed(row.connector_id, row.profile))
                for tx in (await session.scalars(select(TransactionRow).where(
                        TransactionRow.station_id.in_(batch),
                        TransactionRow.stopped_at.is_(None)))).all():
                    running[tx.station_id].append(tx)
        result = {}
        for station_id, view in views.items():
            # Only the latest transaction per connector is running.
            latest: dict[int, ActiveTransaction] = {}
            for tx in sorted(running[station_id], key=lambda t: t.started_at):
                latest[tx.connector_id] = ActiveTransaction(tx.id, tx.connector_id,
                                                            tx.started_at)
            result[station_id] = Snapshot(view, tuple(installed[station_id]),
                                          tuple(latest.values()))
        return result

    def composite_of(self, snapshot: Snapshot, connector_id: int, start: datetime,
                     duration: int, unit: ChargingRateUnit,
                     extra: Sequence[InstalledProfile] = ()) -> JsonObject:
        installed = list(snapshot.installed)
        for item in extra:
            installed = list(install(installed, item).installed)
        schedule = composite_schedule(
            installed, connector_id, start, duration, unit, transactions=snapshot.transactions,
            number_of_connectors=snapshot.view.number_of_connectors, supply=self._supply,
            station_max_w=snapshot.view.max_power_w)
        return schedule.to_ocpp()

    def answer_of(self, snapshot: Snapshot, connector_id: int, start: datetime,
                  duration: int, unit: ChargingRateUnit, convention: Convention, *,
                  unconstrained: float | None = None) -> CompositeAnswer:
        """What a station following ``convention`` would answer, its unbounded instants
        kept apart (see :func:`composite_answer`)."""
        return composite_answer(
            snapshot.installed, connector_id, start, duration, unit, convention=convention,
            transactions=snapshot.transactions,
            number_of_connectors=snapshot.view.number_of_connectors, supply=self._supply,
            station_max_w=snapshot.view.max_power_w, unconstrained=unconstrained)

    async def expected(self, station_id: str, connector_id: int, start: datetime,
                       duration: int, unit: ChargingRateUnit, *,
                       extra: Sequence[InstalledProfile] = (),
                       from_desired: bool = False,
                       accepted_only: bool = False) -> JsonObject:
        """The composite the station should report (see :meth:`snapshot`), plus ``extra``
        profiles for a preview."""
        snapshot = await self.snapshot(station_id, from_desired=from_desired,
                                       accepted_only=accepted_only)
        return self.composite_of(snapshot, connector_id, start, duration, unit, extra)

    async def composite(self, station_id: str, connector_id: int, duration: int,
                        unit: ChargingRateUnit) -> CompositeReport:
        view = await self.station_view(station_id)
        if connector_id < 0 or (view.limits.number_of_connectors is not None
                                and connector_id > view.limits.number_of_connectors):
            raise Invalid("connector_id", f"must be 0..{view.limits.number_of_connectors}")
        now = self._clock()
        try:
            async with self.lock(station_id):
                answer = await self._gateway.call(station_id, "GetCompositeSchedule", {
                    "connectorId": connector_id, "duration": duration,
                    "chargingRateUnit": unit.value})
        except StationCallError as exc:
            expected = await self.expected(station_id, connector_id, now, duration, unit)
            return CompositeReport(Outcome(DeliveryStatus.ERROR,
                                           f"GetCompositeSchedule failed: {exc.reason}",
                                           exc.reason, failure=exc), None, expected, None)
        start = now
        stamp = answer.get("scheduleStart") or (answer.get("chargingSchedule") or {}).get(
            "startSchedule")
        if stamp:
            start = parse_timestamp(stamp)
        snapshot = await self.snapshot(station_id)
        expected = self.composite_of(snapshot, connector_id, start, duration, unit)
        if answer.get("status") != "Accepted":
            return CompositeReport(Outcome(DeliveryStatus.REJECTED,
                                           f"{station_id} could not report a "
                                           "composite schedule", "station answered Rejected",
                                           answer), answer, expected, None)
        # The limits the station holds are applied, as some convention reports them (its
        # own value where no profile bounds it is not compared).
        known = [view.convention] if (view := snapshot.view).convention else []
        own = view.unconstrained[0] if (
            view.unconstrained and view.unconstrained[1] is unit) else None
        matches = any(explains(self.answer_of(snapshot, connector_id, start, duration, unit,
                                              convention, unconstrained=own),
                               answer, unconstrained=own)
                      for convention in [*known, *Convention])
        message = ("the station's composite schedule matches the expected one" if matches
                   else "the station's composite schedule differs from the expected one")
        return CompositeReport(Outcome(DeliveryStatus.SUCCESS,
                                       message, answer=answer), answer, expected,
                               matches)

    async def desired_as_sent(self, station_id: str
                              ) -> list[tuple[DesiredProfile, JsonObject | None]]:
        """The desired profiles, each with the OCPP 2.0.1 form a 2.0.1 station is sent it
        in (:func:`from_v16`, as the adapter sends it: a TxProfile naming the station's
        own transaction id, an Absolute profile without startSchedule started when it was
        last sent, or now); None for a 1.6 station, and for a profile with no 2.0.1 form
        (its delivery fails with the reason)."""
        view = await self.station_view(station_id)
        async with self._db.uow() as session:
            rows = await store.desired(session, station_id)
            if view.rules.version is not OcppVersion.V201:
                return [(row, None) for row in rows]
            wanted = {r.transaction_id for r in rows if r.transaction_id is not None}
            remote: dict[int, str | None] = {}
            if wanted:
                found = await session.execute(select(
                    TransactionRow.id, TransactionRow.remote_id).where(
                        TransactionRow.id.in_(wanted)))
                remote = {tx_id: remote_id for tx_id, remote_id in found}
        now = self._clock()
        forms: list[tuple[DesiredProfile, JsonObject | None]] = []
        for row in rows:
            profile = ChargingProfile.from_ocpp(row.profile)
            try:
                sent = from_v16(profile, transaction_id=None if profile.transaction_id is None
                                else remote.get(profile.transaction_id),
                                sent_at=(row.last_attempt_at or now).replace(microsecond=0))
            except ConversionError:
                forms.append((row, None))
                continue
            forms.append((row, sent.to_ocpp()))
        return forms
