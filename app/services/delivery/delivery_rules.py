"""The rules of delivering desired profiles, shared by the single-station and the fleet
paths: what is due, what to push and in which order, what is extra on the station, what
a station's answer (or silence) does to a desired row, and what a station's own list of
its profiles (read back) says against the desired rows.

Pure functions over rows already read: no I/O, no clock (``now`` is passed in).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from app.domain.installation import InstalledProfile
from app.domain.profiles import ChargingProfile, ChargingProfileKind, ChargingProfilePurpose
from app.domain.protocol_rules import V201
from app.domain.states import DeliveryState, DeliveryStatus, VerificationState
from app.domain.validation import clashes_as_sent
from app.json_types import JsonObject
from app.services.ports import StationCallError, StationOffline, StationProfile

# Deliver caps before defaults before transaction profiles.
PURPOSE_ORDER = {"ChargePointMaxProfile": 0, "TxDefaultProfile": 1, "TxProfile": 2}
TX_PROFILE = "TxProfile"


class MirrorRow(Protocol):
    """What the rules read of an installed-profile mirror row."""

    @property
    def charging_profile_id(self) -> int: ...
    @property
    def connector_id(self) -> int: ...
    @property
    def profile(self) -> JsonObject: ...


class DesiredRow(MirrorRow, Protocol):
    """What the rules read of a desired profile row."""

    @property
    def id(self) -> int: ...
    @property
    def purpose(self) -> str: ...
    @property
    def state(self) -> DeliveryState: ...
    @property
    def next_attempt_at(self) -> datetime | None: ...


class Backoff(Protocol):
    @property
    def max_attempts(self) -> int: ...

    def delay(self, attempt: int, rand: float) -> float: ...


# A station that connects again gets its failed deliveries in these states a fresh set of
# attempts.
RETRIED_ON_RECONNECT = (DeliveryState.ERROR, DeliveryState.FAILED)


def is_due(row: DesiredRow, now: datetime, *, force: bool) -> bool:
    """Rejected profiles stay rejected until they change; failed ones wait for their
    backoff, and after the last attempt for ``force`` (the station connected again)."""
    if row.state == DeliveryState.REJECTED or (row.state == DeliveryState.FAILED
                                               and not force):
        return False
    if row.state == DeliveryState.ERROR and not force and row.next_attempt_at is not None:
        return row.next_attempt_at <= now
    return True


def for_current_transaction(row: DesiredRow, running: Mapping[int, int]) -> bool:
    """A TxProfile is only ever sent for the transaction running on its connector now
    (``running``: connector -> transactionId); other profiles always qualify."""
    if row.purpose != TX_PROFILE:
        return True
    return (row.profile.get("transactionId") is not None
            and running.get(row.connector_id) == row.profile.get("transactionId"))


def runs_after_boot(reported_at: datetime | None, booted_at: datetime | None, *,
                    must_report: bool) -> bool:
    """Whether an open transaction counts as running for its TxProfile. A TxProfile
    belongs to its transaction (OCPP 2.0.1 K01.FR.03), and a station rejects one for an
    EVSE with no transaction active (K01.FR.09). A 2.0.1 station that booted tells which
    transactions still run on it by their TransactionEvents (``must_report``): one it has
    not told of since its latest boot may have ended with the boot, so its TxProfile waits
    for that report (or for the transaction's end) instead of going out ahead of
    everything else. A station that never booted here, or a 1.6 one, is taken at the
    transaction table's word."""
    if not must_report or booted_at is None:
        return True
    return reported_at is not None and reported_at >= booted_at


def to_push(rows: Sequence[DesiredRow], mirrored: Mapping[int, MirrorRow], now: datetime, *,
            force: bool, push_all: bool, running: Mapping[int, int],
            requested: Collection[int] | None = None) -> list[DesiredRow]:
    """The due rows the station does not hold as desired (all due rows with ``push_all``),
    caps first: a Set replaces by id, so pushing before clearing never leaves a connector
    unlimited (OCPP 1.6 §5.16.3, §5.16.4). A TxProfile goes only for the connector's running
    transaction (``running``). With ``requested`` (rows a user submitted just now) only
    those go, whatever their state and the mirror say: the user asked for the station's
    answer to them and nothing else."""
    if requested is not None:
        chosen = [r for r in rows if r.id in requested and for_current_transaction(r, running)]
    else:
        chosen = [
            r for r in rows if is_due(r, now, force=force)
            and for_current_transaction(r, running) and (push_all or not (
                (m := mirrored.get(r.charging_profile_id)) is not None
                and m.connector_id == r.connector_id and m.profile == r.profile))
        ]
    chosen.sort(key=lambda r: (PURPOSE_ORDER.get(r.purpose, 9), r.id))
    return chosen


def extras(wanted: Iterable[int], mirrored: Iterable[int]) -> list[int]:
    """Profile ids the station holds that no desired row asks for: cleared after the
    pushes."""
    keep = set(wanted)
    return [profile_id for profile_id in mirrored if profile_id not in keep]


@dataclass(frozen=True)
class Delivery:
    """What one SetChargingProfile did to its desired row.

    ``status`` is the outcome a user sees (success, rejected, error, pending); ``state``
    the row's new delivery state; ``installed`` the profile the station now holds when it
    answered Accepted.
    """

    status: DeliveryStatus
    state: DeliveryState
    answer: JsonObject | None
    error: str | None
    retry_at: datetime | None = None
    installed: InstalledProfile | None = None
    # The call's typed failure when there was no CALLRESULT (its kind is never parsed
    # back out of ``error``).
    failure: StationCallError | None = None


def after_call(connector_id: int, profile: JsonObject, attempts: int, now: datetime,
               answer: JsonObject | None, failure: StationCallError | None, *,
               retry: Backoff, rand: float) -> Delivery:
    """The row's new state after a SetChargingProfile (OCPP 1.6 §5.16): Accepted installs,
    any other status is final until the profile changes, a timeout or CALLERROR is retried
    with backoff and is failed after the last attempt, and a station that went offline
    keeps it pending for its reconnect."""
    if isinstance(failure, StationOffline):
        return Delivery(DeliveryStatus.PENDING, DeliveryState.PENDING, None, failure.reason,
                        failure=failure)
    if failure is not None:
        if attempts >= retry.max_attempts:
            return Delivery(DeliveryStatus.ERROR, DeliveryState.FAILED, None, failure.reason,
                            failure=failure)
        retry_at = now + timedelta(seconds=retry.delay(attempts, rand))
        return Delivery(DeliveryStatus.ERROR, DeliveryState.ERROR, None, failure.reason,
                        retry_at, failure=failure)
    status = (answer or {}).get("status")
    if status == "Accepted":
        return Delivery(DeliveryStatus.SUCCESS, DeliveryState.ACCEPTED, answer, None,
                        installed=InstalledProfile(connector_id,
                                                   ChargingProfile.from_ocpp(profile)))
    return Delivery(DeliveryStatus.REJECTED, DeliveryState.REJECTED, answer,
                    f"station answered {status}")


# --- read-back: the station's own list against the desired rows ------------------------


@dataclass(frozen=True)
class ReadBack:
    """Drift a station's own list of its profiles shows: desired rows it acknowledged
    and no longer holds (``missing``) or holds otherwise (``different``), and profiles
    of a central system it holds that no desired row asks for (``extra``)."""

    missing: tuple[int, ...] = ()  # desired row ids
    different: tuple[int, ...] = ()  # desired row ids
    extra: tuple[int, ...] = ()  # chargingProfileIds

    @property
    def drift(self) -> bool:
        return bool(self.missing or self.different or self.extra)


def same_limits(desired: ChargingProfile, held: ChargingProfile) -> bool:
    """``held`` means what ``desired`` means. A desired schedule without startSchedule
    starts when the station receives it (OCPP 1.6 §7.13), so the start the station
    gave it is no difference; neither is a recurrencyKind on a profile that does not
    recur (nothing reads it)."""
    schedule = held.schedule
    if desired.schedule.start_schedule is None:
        schedule = dataclasses.replace(schedule, start_schedule=None)
    recurrency = desired.recurrency_kind if (
        desired.kind is ChargingProfileKind.RECURRING) else held.recurrency_kind
    return dataclasses.replace(held, schedule=schedule,
                               recurrency_kind=recurrency) == desired


def holds_as_desired(row: DesiredRow, held: StationProfile | None) -> bool:
    """The station holds the row's profile, on its connector, meaning the same limits."""
    return (held is not None and held.profile is not None
            and held.connector_id == row.connector_id
            and same_limits(ChargingProfile.from_ocpp(row.profile), held.profile))


def read_back(rows: Sequence[DesiredRow], held: Sequence[StationProfile],
              running: Mapping[int, int]) -> ReadBack:
    """Compare the desired rows with what the station says it holds of a central
    system's profiles. Only rows the station acknowledged (Accepted) can be missing or
    different: the others are not held yet, and their delivery decides about them
    (:func:`to_push`). A TxProfile counts only for its connector's running transaction
    (``running``); an ended one's the station drops itself."""
    by_id = {item.charging_profile_id: item for item in held}
    missing: list[int] = []
    different: list[int] = []
    for row in rows:
        if row.state != DeliveryState.ACCEPTED or not for_current_transaction(row, running):
            continue
        found = by_id.get(row.charging_profile_id)
        if found is None:
            missing.append(row.id)
        elif not holds_as_desired(row, found):
            different.append(row.id)
    wanted = {row.charging_profile_id for row in rows}
    return ReadBack(tuple(missing), tuple(different),
                    tuple(item.charging_profile_id for item in held
                          if item.charging_profile_id not in wanted))


def only_lowers(row: DesiredRow, held: Sequence[StationProfile]) -> bool:
    """Whether sending the row can only lower what the station applies, told from what
    it holds (anything not certain counts as raising, and waits for the decreases):
    a cap (ChargePointMaxProfile) that replaces nothing, or a profile replacing one of
    the same kind, validity and start whose limits are all at or above the row's.
    A profile replaces one with its id or its connector, stackLevel and purpose (OCPP
    1.6 §5.16.4; K01.FR.05 for 2.0.1)."""
    desired = ChargingProfile.from_ocpp(row.profile)
    replaced = [item for item in held
                if item.charging_profile_id == desired.charging_profile_id or (
                    item.profile is not None and item.connector_id == row.connector_id
                    and item.profile.stack_level == desired.stack_level
                    and item.profile.purpose is desired.purpose)]
    if not replaced:
        return desired.purpose is ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE
    return all(item.profile is not None and _lower_or_equal(desired, item.profile)
               for item in replaced)


def _lower_or_equal(desired: ChargingProfile, held: ChargingProfile) -> bool:
    mine, theirs = desired.schedule, held.schedule
    return ((desired.kind, desired.valid_from, desired.valid_to, mine.duration,
             mine.charging_rate_unit, desired.purpose)
            == (held.kind, held.valid_from, held.valid_to, theirs.duration,
                theirs.charging_rate_unit, held.purpose)
            and mine.start_schedule in (None, theirs.start_schedule)
            and max(p.limit for p in mine.periods) <= min(p.limit for p in theirs.periods))


Row = TypeVar("Row", bound=DesiredRow)


def blocking(rows: Sequence[DesiredRow], held: Sequence[StationProfile],
             extra: Collection[int], now: datetime) -> list[int]:
    """Of ``extra`` (the ids of profiles a 2.0.1 station holds that no desired row asks
    for), those it would refuse one of ``rows`` beside: the same stackLevel, purpose and
    EVSE with overlapping validity (K01.FR.06) or, for a TxProfile, the same stackLevel
    and transaction (K01.FR.39). They are cleared just before the rows are sent: sent
    first, a row is Rejected and the extra is never cleared, since the clears wait for
    every send to be Accepted."""
    found: list[int] = []
    for item in held:
        if item.charging_profile_id not in extra or item.profile is None:
            continue
        other = [InstalledProfile(item.connector_id, item.profile)]
        if any(clashes_as_sent(ChargingProfile.from_ocpp(row.profile), row.connector_id, other,
                               rules=V201, sent_at=now) for row in rows):
            found.append(item.charging_profile_id)
    return found


def repair_order(rows: Sequence[Row], held: Sequence[StationProfile]
                 ) -> tuple[list[Row], list[Row]]:
    """Rows to send after a read-back: those that only lower first, then the others,
    each group caps first (:data:`PURPOSE_ORDER`). The second group goes only once every
    send of the first was Accepted, so no limit rises while another is still to fall."""
    def key(row: Row) -> tuple[int, int]:
        return PURPOSE_ORDER.get(row.purpose, 9), row.id

    lowers = {row.id for row in rows if only_lowers(row, held)}
    return (sorted((r for r in rows if r.id in lowers), key=key),
            sorted((r for r in rows if r.id not in lowers), key=key))


# --- drift repairs: how many, and when to stop ------------------------------------------


@dataclass(frozen=True)
class DriftDecision:
    """What a look at a station (a verification's comparison, a read-back) decides.

    ``repair``: send the desired profiles again; ``repairs``: the station's count after
    this look (a clean look resets it); ``unresolved``: still drifting after the last
    repair allowed, so nothing more is sent until a look finds it clean; ``newly``: it
    became unresolved with this look (counted once per station, not per look)."""

    repair: bool
    repairs: int
    unresolved: bool = False
    newly: bool = False


def drift_decision(drifting: bool, repairs: int, max_repairs: int,
                   state: VerificationState | None) -> DriftDecision:
    """The repair limit (``CHARGEPLAN_DRIFT_MAX_REPAIRS``), one rule for every kind of
    drift: a clean look resets the count; drift is repaired while fewer than
    ``max_repairs`` repairs were made since the last clean look, and is unresolved after
    that. ``state`` is the station's verification state before the look."""
    if not drifting:
        return DriftDecision(repair=False, repairs=0)
    if repairs >= max_repairs:
        return DriftDecision(repair=False, repairs=repairs, unresolved=True,
                             newly=state != VerificationState.DRIFT_UNRESOLVED)
    return DriftDecision(repair=True, repairs=repairs + 1)
