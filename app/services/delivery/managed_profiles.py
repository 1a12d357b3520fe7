"""Desired profiles owned by a plan or a tariff: the rules of storing one on a station,
and storing one on many stations in a handful of statements.

The rules are those of a single submit (see ``SmartChargingService._store``): a changed
profile keeps the chargingProfileId its plan or tariff had on the station, so the
station replaces it in place; a new one gets the station's next id; the charger's own
replacement rule (OCPP 1.6 §5.16.3, §5.16.4) decides which desired rows it replaces, and
MaxChargingProfilesInstalled (§9.4) may refuse it.

A profile is checked by the rules of the version the station speaks (``StationView.rules``,
see :func:`app.domain.validation.validate_as_sent`): a 2.0.1 station's as it is sent, and
against the station's other desired profiles, which it may not share a stack level with
(OCPP 2.0.1 K01.FR.06, K01.FR.39) where a 1.6 charger replaces the other.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import ColumnElement, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.db.batching import chunks
from app.db.engine import Database
from app.db.models import DesiredProfile, InstalledProfileRecord
from app.domain.installation import InstalledProfile, install
from app.domain.ownership import Owner, OwnerKind
from app.domain.profiles import ChargingProfile, ProfileFormatError
from app.domain.profiles_v201 import v201_path
from app.domain.protocol_rules import V16, OcppVersion, ProtocolRules
from app.domain.states import DeliveryState
from app.domain.validation import StationLimits, clashes_as_sent, validate_as_sent
from app.domain.violations import Violation
from app.json_types import JsonObject
from app.services.delivery import profiles_store as store
from app.services.delivery.delivery_rules import MirrorRow
from app.services.delivery.station_view import StationView, station_views
from app.services.errors import Invalid, NotFound

_DESIRED = cast(Table, DesiredProfile.__table__)
_MIRROR = cast(Table, InstalledProfileRecord.__table__)


class InvalidProfile(Invalid):
    """A profile breaks the rules of the station's OCPP version or the station's limits."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        first = violations[0]
        super().__init__(first.path, "; ".join(str(v) for v in violations))
        self.violations = list(violations)


class StoredRow(MirrorRow, Protocol):
    @property
    def owner_kind(self) -> OwnerKind: ...
    @property
    def owner_id(self) -> str | None: ...


R = TypeVar("R", bound=StoredRow)


# --- the rules, shared with a single submit ------------------------------------------------
def parse(profile_json: Mapping[str, Any]) -> ChargingProfile:
    try:
        return ChargingProfile.from_ocpp(profile_json, default_id=0)
    except ProfileFormatError as exc:
        raise InvalidProfile([v.prefixed("profile") for v in exc.violations]) from None


def check_station(view: StationView, connector_id: int) -> None:
    """What rules a station out before its profile is even read."""
    if view.smart_charging is False:
        raise Invalid("station_id", "the station's SupportedFeatureProfiles lacks "
                      "SmartCharging (OCPP 1.6 §9.1)")
    if connector_id < 0:
        raise Invalid("connector_id", "must be >= 0")


def in_request(violations: Sequence[Violation]) -> list[Violation]:
    """Violations named as a REST request spells them: the profile's fields under
    ``profile`` (camelCase, as OCPP), the connector under the top-level ``connector_id``
    it came from (the domain calls it ``connectorId``, as SetChargingProfile does)."""
    return [Violation(CONNECTOR_FIELD, v.rule, v.reference) if v.path == "connectorId"
            else v.prefixed("profile") for v in violations]


# Where a request body carries the connector a profile goes to.
CONNECTOR_FIELD = "connector_id"
# Where a request in the OCPP 2.0.1 form carries its profile and its EVSE.
PROFILE_FIELD_V201 = "charging_profile"
EVSE_FIELD = "evse_id"


def in_v201_request(path: str) -> str:
    """A field named as :func:`in_request` names it, named as a request in the 2.0.1
    form spells it: ``evse_id`` for ``connector_id``, the profile's fields under
    ``charging_profile`` by their 2.0.1 names (:func:`v201_path`)."""
    if path == CONNECTOR_FIELD:
        return EVSE_FIELD
    head, dot, rest = path.partition(".")
    if head != "profile":
        return path
    return PROFILE_FIELD_V201 + dot + v201_path(rest) if rest else PROFILE_FIELD_V201


def check_limits(profile: ChargingProfile, connector_id: int, limits: StationLimits,
                 rules: ProtocolRules = V16, *, at: datetime | None = None) -> None:
    """The rules of the station's version and its limits (``at``: when it is sent)."""
    violations = validate_as_sent(profile, connector_id, limits, rules=rules, sent_at=at)
    if violations:
        raise InvalidProfile(in_request(violations))


# Owners whose profile takes its place whatever it shares a stack level with, as on a 1.6
# station: a circuit's caps keep its sessions within the circuit's rating.
_SUPERSEDES = frozenset({OwnerKind.CIRCUIT})
# Owners whose profile any other takes the place of: the TxProfile offered to a car's ISO
# 15118 negotiation stands in for one only while chargeplan holds no other.
_SUPERSEDED = frozenset({OwnerKind.EV})


def check_clashes(rows: Sequence[StoredRow], profile: ChargingProfile, connector_id: int,
                  previous: StoredRow | None, rules: ProtocolRules, owner: Owner, *,
                  at: datetime | None = None) -> None:
    """A 2.0.1 station may not be sent a profile beside another with its stack level
    (K01.FR.06, K01.FR.39): refused, naming the other one, unless this profile replaces
    it (its owner's previous one, the one with its id, K01.FR.05, or a stand-in)."""
    if owner.kind in _SUPERSEDES or rules.version is not OcppVersion.V201:
        return  # (a 1.6 charger replaces what shares the level: OCPP 1.6 §5.16.3)
    others = [store.as_installed(r.connector_id, r.profile) for r in rows
              if r is not previous and r.charging_profile_id != profile.charging_profile_id
              and r.owner_kind not in _SUPERSEDED]
    violations = clashes_as_sent(profile, connector_id, others, rules=rules, sent_at=at)
    if violations:
        raise InvalidProfile(in_request(violations))


def check_frame(profile: ChargingProfile, connector_id: int, max_bytes: int | None) -> None:
    """Refuse a profile whose SetChargingProfile frame (with the longest uniqueId OCPP-J
    allows, 36 characters) would not fit the maximum frame size."""
    if max_bytes is None:
        return
    frame = json.dumps([2, "x" * 36, "SetChargingProfile",
                        {"connectorId": connector_id, "csChargingProfiles": profile.to_ocpp()}],
                       separators=(",", ":"))
    size = len(frame.encode())
    if size > max_bytes:
        raise Invalid("profile", f"its SetChargingProfile frame would be {size} bytes, over "
                      f"the maximum frame size of {max_bytes} bytes")


def managed_previous(rows: Sequence[R], owner: Owner, connector_id: int,
                     purpose: str | None = None) -> R | None:
    """The row a plan or tariff already owns on the station, or a circuit on the
    connector for the same purpose (on connector 0 a circuit keeps a fail-safe
    ChargePointMaxProfile and an arrival TxDefaultProfile side by side), if any (a single
    request owns no earlier row)."""
    if not owner.managed:
        return None
    return next((r for r in rows if r.owner_kind == owner.kind and r.owner_id == owner.id
                 and (not owner.per_connector or (
                     r.connector_id == connector_id
                     and (purpose is None
                          or r.profile.get("chargingProfilePurpose") == purpose)))), None)


def keep_id(previous: StoredRow | None, connector_id: int, profile: ChargingProfile
            ) -> tuple[ChargingProfile | None, bool]:
    """The profile with its previous chargingProfileId when it stays on the same
    connector (the station then replaces it by id), and whether nothing changed."""
    if previous is None or previous.connector_id != connector_id:
        return None, False
    kept = profile.with_id(previous.charging_profile_id)
    return kept, previous.profile == kept.to_ocpp()


def replaced_rows(rows: Sequence[R], new: InstalledProfile, previous: R | None,
                  max_profiles: int | None, rules: ProtocolRules = V16) -> list[R]:
    """The desired rows ``new`` replaces (the charger's rule applied to the desired set,
    OCPP 1.6 §5.16.3, §5.16.4; 2.0.1 K01.FR.05) and the previous row of its owner; Invalid
    when the station would hold too many profiles."""
    outcome = install([store.as_installed(r.connector_id, r.profile) for r in rows], new,
                      max_profiles=max_profiles, rules=rules)
    if not outcome.accepted:
        raise Invalid("profile", outcome.reason or "too many profiles")
    replaced_ids = {p.profile.charging_profile_id for p in outcome.replaced}
    return [r for r in rows if r.charging_profile_id in replaced_ids or r is previous]


# --- many stations at once --------------------------------------------------------------------
@dataclass
class _Row:
    id: int
    station_id: str
    charging_profile_id: int
    connector_id: int
    profile: JsonObject
    owner_kind: OwnerKind
    owner_id: str | None


@dataclass
class _Change:
    station_id: str
    profile: ChargingProfile
    previous: _Row | None
    needs_id: bool
    rules: ProtocolRules


@dataclass
class Managed:
    """Stations that hold the profile now (unchanged or stored), and why others do not."""

    stored: list[str]
    failures: dict[str, Invalid | NotFound]


class ManagedProfiles:
    def __init__(self, db: Database, *, lock: Callable[[str], asyncio.Lock],
                 clock: Clock, max_frame_bytes: int | None = None,
                 on_changed: Callable[[Sequence[str], Owner], None] | None = None) -> None:
        self._db = db
        self._lock = lock
        self._clock = clock
        self._max_frame_bytes = max_frame_bytes
        # Told, after the commit, which stations' desired sets an owner changed.
        self._on_changed = on_changed or (lambda station_ids, owner: None)

    async def put(self, station_ids: Iterable[str], connector_id: int,
                  profile_json: Mapping[str, Any], *, owner: Owner) -> Managed:
        """Store the profile of a plan, tariff or circuit on every listed station it suits (no call
        is made: the reconcile job delivers it)."""
        ids = sorted(set(station_ids))
        result = Managed([], {})
        if not ids:
            return result
        parsed: ChargingProfile | Invalid
        try:
            parsed = parse(profile_json)
            check_frame(parsed, connector_id, self._max_frame_bytes)
        except Invalid as exc:
            parsed = exc
        async with AsyncExitStack() as locks:
            for sid in ids:  # in id order: no two bulk writers wait on each other
                await locks.enter_async_context(self._lock(sid))
            async with self._db.uow() as session:
                views = await station_views(session, ids)
                rows = await _rows(session, ids)
                changes: list[_Change] = []
                checked: dict[tuple[StationLimits, OcppVersion], Invalid | None] = {}
                now = self._clock()
                for sid in ids:
                    try:
                        view = views.get(sid)
                        if view is None:
                            raise NotFound("station", sid)
                        check_station(view, connector_id)
                        if isinstance(parsed, Invalid):
                            raise parsed
                        # Many stations report the same limits and speak the same
                        # version: validate once per kind.
                        kind = (view.limits, view.rules.version)
                        if kind not in checked:
                            checked[kind] = _limits_failure(parsed, connector_id,
                                                            view.limits, view.rules, now)
                        if (failure := checked[kind]) is not None:
                            raise failure
                        change = self._change(sid, rows[sid], parsed, connector_id,
                                              owner, view, now)
                    except (Invalid, NotFound) as exc:
                        result.failures[sid] = exc
                        continue
                    result.stored.append(sid)
                    if change is not None:
                        changes.append(change)
                await self._write(session, changes, rows, connector_id, owner)
        if changes:
            self._on_changed([c.station_id for c in changes], owner)
        return result

    def _change(self, station_id: str, rows: list[_Row], profile: ChargingProfile,
                connector_id: int, owner: Owner, view: StationView, now: datetime
                ) -> _Change | None:
        """None when the station already holds exactly this profile; raises Invalid
        when it cannot take it."""
        previous = managed_previous(rows, owner, connector_id, str(profile.purpose))
        kept, unchanged = keep_id(previous, connector_id, profile)
        if unchanged:
            return None
        # A new id never equals a desired row's, so an id no row has stands in for it
        # while checking the station's room (the counter advances only for stations
        # that can take the profile).
        candidate = kept if kept is not None else profile.with_id(-1)
        check_clashes(rows, candidate, connector_id, previous, view.rules, owner, at=now)
        replaced_rows(rows, InstalledProfile(connector_id, candidate), previous,
                      view.limits.max_profiles, view.rules)
        return _Change(station_id, candidate, previous, kept is None, view.rules)

    async def _write(self, session: AsyncSession, changes: list[_Change],
                     rows: Mapping[str, list[_Row]], connector_id: int, owner: Owner
                     ) -> None:
        if not changes:
            return
        now = self._clock()
        needing = [c.station_id for c in changes if c.needs_id]
        taken: dict[str, set[int]] = {sid: {r.charging_profile_id for r in rows[sid]}
                                      for sid in needing}
        for batch in chunks(needing):
            for sid, profile_id in (await session.execute(
                    select(_MIRROR.c.station_id, _MIRROR.c.charging_profile_id)
                    .where(_MIRROR.c.station_id.in_(batch)))).all():
                taken[sid].add(profile_id)
        allocated = await store.allocate_profile_ids(session, taken)
        gone: list[int] = []
        added: list[dict[str, Any]] = []
        for change in changes:
            profile = change.profile
            if change.needs_id:
                profile = profile.with_id(allocated[change.station_id])
            new = InstalledProfile(connector_id, profile)
            gone.extend(r.id for r in replaced_rows(rows[change.station_id], new,
                                                    change.previous, None, change.rules))
            added.append(dict(
                station_id=change.station_id, connector_id=connector_id,
                charging_profile_id=profile.charging_profile_id, purpose=str(profile.purpose),
                stack_level=profile.stack_level, transaction_id=profile.transaction_id,
                profile=profile.to_ocpp(), owner_kind=owner.kind, owner_id=owner.id,
                state=DeliveryState.PENDING, attempts=0, created_at=now, updated_at=now))
        for batch_ids in chunks(gone):
            await session.execute(delete(_DESIRED).where(_DESIRED.c.id.in_(batch_ids)))
        await session.execute(insert(_DESIRED), added)

    async def remove(self, station_ids: Iterable[str], *, owner: Owner,
                     connector_id: int | None = None) -> None:
        """Drop the owner's profiles (on ``connector_id`` only, when given) from the
        stations' desired sets; the reconcile job then clears them from the stations."""
        ids = sorted(set(station_ids))
        async with AsyncExitStack() as locks:
            for sid in ids:
                await locks.enter_async_context(self._lock(sid))
            async with self._db.uow() as session:
                for batch in chunks(ids):
                    on = [] if connector_id is None else [
                        _DESIRED.c.connector_id == connector_id]
                    await session.execute(delete(_DESIRED).where(
                        owned_by(owner), _DESIRED.c.station_id.in_(batch), *on))
        self._on_changed(ids, owner)


def owned_by(owner: Owner) -> ColumnElement[bool]:
    """The desired rows of ``owner`` (an owner without an id: every row of its kind)."""
    kind = _DESIRED.c.owner_kind == owner.kind.value
    return kind if owner.id is None else kind & (_DESIRED.c.owner_id == owner.id)


def _limits_failure(profile: ChargingProfile, connector_id: int, limits: StationLimits,
                    rules: ProtocolRules, at: datetime) -> Invalid | None:
    try:
        check_limits(profile, connector_id, limits, rules, at=at)
    except Invalid as exc:
        return exc
    return None


async def _rows(session: AsyncSession, station_ids: Sequence[str]) -> dict[str, list[_Row]]:
    rows: defaultdict[str, list[_Row]] = defaultdict(list)
    for batch in chunks(station_ids):
        for r in (await session.execute(
                select(_DESIRED.c.id, _DESIRED.c.station_id, _DESIRED.c.charging_profile_id,
                       _DESIRED.c.connector_id, _DESIRED.c.profile, _DESIRED.c.owner_kind,
                       _DESIRED.c.owner_id)
                .where(_DESIRED.c.station_id.in_(batch)).order_by(_DESIRED.c.id))).all():
            rows[r.station_id].append(_Row(r.id, r.station_id, r.charging_profile_id,
                                           r.connector_id, r.profile, OwnerKind(r.owner_kind),
                                           r.owner_id))
    return {sid: rows[sid] for sid in station_ids}
