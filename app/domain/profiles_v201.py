"""The OCPP 2.0.1 charging profile and its exact JSON form, and conversion from OCPP 1.6.

A 2.0.1 profile differs from a 1.6 one in what :mod:`app.domain.protocol_rules` cannot
express as data: it is addressed to an ``evseId`` (0 = the whole station), its purposes
add ChargingStationExternalConstraints (a limit set outside the central system), it
carries 1 to 3 charging schedules (ISO 15118 lets the car choose one), each schedule has an
``id``, a period may name the phase to use (``phaseToUse``), and ``transactionId`` is the
station's string.

The composite uses the first schedule of a profile (:attr:`ChargingProfile201.schedule`):
which one an ISO 15118 car chose is not modelled. ``salesTariff`` is read and not kept.

``ChargingProfile201.from_ocpp`` checks shapes and types only; the rules of K01 are in
:func:`app.domain.validation.validate_profile_v201`.

A profile a user sends in this form is kept in its 1.6 form (:func:`kept_form`), and what
is then found wrong with that form is named back in this one (:func:`v201_path`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    FieldReader,
    ProfileFormatError,
    RecurrencyKind,
    format_datetime,
    render_limit,
)
from app.domain.protocol_rules import POLICY, V201, ProfileRole
from app.domain.violations import Violation

__all__ = [
    "ChargingLimitSource",
    "ChargingProfile201",
    "ChargingProfilePurpose201",
    "ChargingSchedule201",
    "ChargingSchedulePeriod201",
    "ConversionError",
    "EvseProfile",
    "from_v16",
    "kept_form",
    "select_profiles",
    "to_v16",
    "to_v16_resolved",
    "v201_path",
]


class ChargingProfilePurpose201(StrEnum):
    """OCPP 2.0.1 ChargingProfilePurposeEnumType."""

    CHARGING_STATION_EXTERNAL_CONSTRAINTS = "ChargingStationExternalConstraints"
    CHARGING_STATION_MAX_PROFILE = "ChargingStationMaxProfile"
    TX_DEFAULT_PROFILE = "TxDefaultProfile"
    TX_PROFILE = "TxProfile"


class ChargingLimitSource(StrEnum):
    """OCPP 2.0.1 ChargingLimitSourceEnumType: who set a limit."""

    EMS = "EMS"
    OTHER = "Other"
    SO = "SO"
    CSO = "CSO"


_ROLES = {
    ChargingProfilePurpose201.CHARGING_STATION_MAX_PROFILE: ProfileRole.STATION_MAX,
    ChargingProfilePurpose201.CHARGING_STATION_EXTERNAL_CONSTRAINTS: ProfileRole.EXTERNAL,
    ChargingProfilePurpose201.TX_DEFAULT_PROFILE: ProfileRole.TX_DEFAULT,
    ChargingProfilePurpose201.TX_PROFILE: ProfileRole.TX,
}


@dataclass(frozen=True)
class ChargingSchedulePeriod201(ChargingSchedulePeriod):
    """OCPP 2.0.1 ChargingSchedulePeriodType: a 1.6 period that may name its phase."""

    phase_to_use: int | None = None

    def to_ocpp(self) -> dict[str, Any]:
        data = super().to_ocpp()
        if self.phase_to_use is not None:
            data["phaseToUse"] = self.phase_to_use
        return data


@dataclass(frozen=True)
class ChargingSchedule201(ChargingSchedule):
    """OCPP 2.0.1 ChargingScheduleType: a 1.6 schedule with an ``id``."""

    id: int = 1

    def to_ocpp(self) -> dict[str, Any]:
        return {"id": self.id, **super().to_ocpp()}


@dataclass(frozen=True)
class ChargingProfile201:
    """OCPP 2.0.1 ChargingProfileType (``charging_profile_id`` is its ``id``)."""

    charging_profile_id: int
    stack_level: int
    purpose: ChargingProfilePurpose201
    kind: ChargingProfileKind
    schedules: tuple[ChargingSchedule201, ...]
    transaction_id: str | None = None
    recurrency_kind: RecurrencyKind | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @property
    def role(self) -> ProfileRole:
        return _ROLES[self.purpose]

    @property
    def schedule(self) -> ChargingSchedule201:
        """The schedule in force: the first (see the module docstring)."""
        return self.schedules[0]

    def to_ocpp(self) -> dict[str, Any]:
        """The exact camelCase JSON, absent optional fields left out."""
        data: dict[str, Any] = {"id": self.charging_profile_id, "stackLevel": self.stack_level,
                                "chargingProfilePurpose": self.purpose.value,
                                "chargingProfileKind": self.kind.value}
        if self.recurrency_kind is not None:
            data["recurrencyKind"] = self.recurrency_kind.value
        if self.valid_from is not None:
            data["validFrom"] = format_datetime(self.valid_from)
        if self.valid_to is not None:
            data["validTo"] = format_datetime(self.valid_to)
        if self.transaction_id is not None:
            data["transactionId"] = self.transaction_id
        data["chargingSchedule"] = [s.to_ocpp() for s in self.schedules]
        return data

    @classmethod
    def from_ocpp(cls, data: Mapping[str, Any]) -> ChargingProfile201:
        """Read the JSON of a ChargingProfileType; :class:`ProfileFormatError` lists every
        unreadable field."""
        reader = _Reader()
        profile = reader.profile(data)
        if reader.violations or profile is None:
            raise ProfileFormatError(reader.violations)
        return profile


@dataclass(frozen=True)
class EvseProfile:
    """A 2.0.1 profile as a station holds it on one EVSE (0 = the whole station), with who
    set it (``CSO`` for the central system)."""

    evse_id: int
    profile: ChargingProfile201
    source: ChargingLimitSource = ChargingLimitSource.CSO

    @property
    def connector_id(self) -> int:
        """The place, under the name the shared rules read."""
        return self.evse_id


def select_profiles(
    held: Sequence[EvseProfile],
    *,
    profile_ids: Sequence[int] = (),
    evse_id: int | None = None,
    purpose: ChargingProfilePurpose201 | None = None,
    stack_level: int | None = None,
    sources: Sequence[ChargingLimitSource] = (),
) -> tuple[EvseProfile, ...]:
    """What GetChargingProfilesRequest selects (K09): by id when ids are given, else every
    criterion given must match (``evse_id`` None: every EVSE)."""

    def selected(item: EvseProfile) -> bool:
        if evse_id is not None and item.evse_id != evse_id:
            return False
        if profile_ids:
            return item.profile.charging_profile_id in profile_ids
        return ((purpose is None or item.profile.purpose is purpose)
                and (stack_level is None or item.profile.stack_level == stack_level)
                and (not sources or item.source in sources))

    return tuple(item for item in held if selected(item))


class ConversionError(ValueError):
    """A 1.6 profile that has no 2.0.1 form: one violation per field at fault."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))


_PURPOSES_FROM_V16 = {
    ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE:
        ChargingProfilePurpose201.CHARGING_STATION_MAX_PROFILE,
    ChargingProfilePurpose.TX_DEFAULT_PROFILE: ChargingProfilePurpose201.TX_DEFAULT_PROFILE,
    ChargingProfilePurpose.TX_PROFILE: ChargingProfilePurpose201.TX_PROFILE,
}


def from_v16(profile: ChargingProfile, *, transaction_id: str | None = None,
             sent_at: datetime | None = None,
             starts_transaction: bool = False) -> ChargingProfile201:
    """The 2.0.1 form of a 1.6 profile, meaning the same limits; or :class:`ConversionError`.

    - ChargePointMaxProfile becomes ChargingStationMaxProfile; the schedule keeps its
      periods and gets id 1 (a profile of one schedule).
    - A TxProfile needs the 2.0.1 ``transaction_id`` (the station's string, which a 1.6
      integer cannot give): K01.FR.03 makes it required. Not one that
      ``starts_transaction`` (given with RequestStartTransaction): that transaction does
      not exist yet, so the profile cannot name it.
    - An Absolute profile without startSchedule runs, in 1.6, from its validFrom or from
      when the charger receives it; 2.0.1 requires a startSchedule (K01.FR.40), so it gets
      validFrom, else ``sent_at`` (the instant it is sent), else it is refused.
    - ``recurrencyKind`` on a profile that is not Recurring is dropped: the 1.6 composite
      ignores it too (see :mod:`app.domain.validation`).
    """
    problems: list[Violation] = []
    schedule = profile.schedule
    start = schedule.start_schedule
    if profile.kind is ChargingProfileKind.ABSOLUTE and start is None:
        start = profile.valid_from or sent_at
        if start is None:
            problems.append(Violation(
                "chargingSchedule.startSchedule",
                "is required in 2.0.1 for an Absolute profile: give one, or validFrom",
                "OCPP 2.0.1 Part 2 K01.FR.40"))
    tx_id: str | None = None
    if profile.purpose is ChargingProfilePurpose.TX_PROFILE:
        tx_id = transaction_id
        if tx_id is None and not starts_transaction:
            problems.append(Violation(
                "transactionId", "a 2.0.1 TxProfile names the station's transaction (a string)",
                "OCPP 2.0.1 Part 2 K01.FR.03"))
    if problems:
        raise ConversionError(problems)
    periods = tuple(ChargingSchedulePeriod201(p.start_period, render_limit(p.limit),
                                              p.number_phases) for p in schedule.periods)
    converted = ChargingSchedule201(
        charging_rate_unit=ChargingRateUnit(schedule.charging_rate_unit.value), periods=periods,
        duration=schedule.duration, start_schedule=start,
        min_charging_rate=schedule.min_charging_rate, id=1)
    return ChargingProfile201(
        charging_profile_id=profile.charging_profile_id, stack_level=profile.stack_level,
        purpose=_PURPOSES_FROM_V16[profile.purpose], kind=profile.kind, schedules=(converted,),
        transaction_id=tx_id,
        recurrency_kind=(profile.recurrency_kind
                         if profile.kind is ChargingProfileKind.RECURRING else None),
        valid_from=profile.valid_from, valid_to=profile.valid_to)


_PURPOSES_TO_V16 = {v201: v16 for v16, v201 in _PURPOSES_FROM_V16.items()}


def to_v16(profile: ChargingProfile201, *, transaction_id: int | None = None
           ) -> ChargingProfile:
    """The 1.6 form of a profile a station holds (what :func:`from_v16` sent), or
    :class:`ConversionError` when it has none: a ChargingStationExternalConstraints
    profile, several schedules, a period with phaseToUse, or a TxProfile whose
    transaction has no 1.6 id (``transaction_id``, the integer the station's string
    stands for) known here. The schedule's id is not kept; startSchedule is."""
    problems: list[Violation] = []
    purpose = _PURPOSES_TO_V16.get(profile.purpose)
    if purpose is None:
        problems.append(Violation("chargingProfilePurpose", f"{profile.purpose.value} has no "
                                  "1.6 form: the central system never sets it",
                                  "OCPP 2.0.1 Part 2 K01.FR.22"))
    if len(profile.schedules) > 1:
        problems.append(Violation("chargingSchedule", "several schedules have no 1.6 form "
                                  "(a 1.6 profile has one)", "OCPP 1.6 §7.8"))
    if any(isinstance(p, ChargingSchedulePeriod201) and p.phase_to_use is not None
           for s in profile.schedules for p in s.periods):
        problems.append(Violation("chargingSchedule.chargingSchedulePeriod.phaseToUse",
                                  "has no 1.6 form", "OCPP 1.6 §7.14"))
    if profile.transaction_id is not None and transaction_id is None:
        problems.append(Violation("transactionId", "names a transaction whose 1.6 id is "
                                  "not known here"))
    if problems or purpose is None:
        raise ConversionError(problems)
    schedule = profile.schedule
    return ChargingProfile(
        charging_profile_id=profile.charging_profile_id, stack_level=profile.stack_level,
        purpose=purpose, kind=profile.kind,
        schedule=ChargingSchedule(
            charging_rate_unit=schedule.charging_rate_unit,
            periods=tuple(ChargingSchedulePeriod(p.start_period, p.limit, p.number_phases)
                          for p in schedule.periods),
            duration=schedule.duration, start_schedule=schedule.start_schedule,
            min_charging_rate=schedule.min_charging_rate),
        transaction_id=transaction_id if profile.transaction_id is not None else None,
        recurrency_kind=profile.recurrency_kind, valid_from=profile.valid_from,
        valid_to=profile.valid_to)


TransactionOf = Callable[[str], int | None]


def to_v16_resolved(profile: ChargingProfile201, transaction_of: TransactionOf
                    ) -> ChargingProfile:
    """:func:`to_v16` with the station's transaction string resolved by
    ``transaction_of`` (the integer id chargeplan knows that transaction by, None when it
    knows none): what a station reports it holds, and what an operator sends in the
    2.0.1 form, are read the same way."""
    transaction_id = None if profile.transaction_id is None else (
        transaction_of(profile.transaction_id))
    return to_v16(profile, transaction_id=transaction_id)


def kept_form(profile: ChargingProfile201, data: Mapping[str, Any],
              transaction_of: TransactionOf) -> ChargingProfile:
    """The 1.6 form chargeplan keeps a profile in, for one a user sent in its 2.0.1 form
    (``data``, the JSON ``profile`` was read from); or :class:`ConversionError` naming,
    in the 2.0.1 spelling, every field that form cannot keep: a purpose the central
    system never sets, other than one schedule, a ``salesTariff``, a ``phaseToUse``, a
    ``transactionId`` ``transaction_of`` does not know."""
    problems: list[Violation] = []
    if profile.purpose is ChargingProfilePurpose201.CHARGING_STATION_EXTERNAL_CONSTRAINTS:
        problems.append(Violation(
            "chargingProfilePurpose", f"{profile.purpose.value} is set by the station's own "
            "energy management, not by a central system", V201.cite("external_not_settable")))
    if len(profile.schedules) != 1:
        problems.append(Violation("chargingSchedule",
                                  "chargeplan keeps one schedule per profile", POLICY))
    raw_schedules = data.get("chargingSchedule")
    for index, raw in enumerate(raw_schedules if isinstance(raw_schedules, list) else []):
        if isinstance(raw, Mapping) and "salesTariff" in raw:
            problems.append(Violation(f"chargingSchedule[{index}].salesTariff",
                                      "is not kept: chargeplan keeps limits only", POLICY))
    for index, schedule in enumerate(profile.schedules):
        for number, period in enumerate(schedule.periods):
            if isinstance(period, ChargingSchedulePeriod201) and period.phase_to_use is not None:
                problems.append(Violation(
                    f"chargingSchedule[{index}].chargingSchedulePeriod[{number}].phaseToUse",
                    "is not kept: the OCPP 1.6 form chargeplan keeps a profile in names no "
                    "phase (numberPhases only)", POLICY))
    if profile.transaction_id is not None and transaction_of(profile.transaction_id) is None:
        problems.append(Violation(
            "transactionId", f"{profile.transaction_id!r} is not a transaction chargeplan "
            "knows on this station"))
    if problems:
        raise ConversionError(problems)
    return to_v16_resolved(profile, transaction_of)


def v201_path(path: str) -> str:
    """A field of a 1.6 profile (a :class:`Violation` path) named as the 2.0.1 profile it
    was read from by :func:`kept_form` spells it: ``chargingProfileId`` is ``id``, the
    one ``chargingSchedule`` is ``chargingSchedule[0]``, the place ``connectorId`` is
    ``evseId``; every other field keeps its name."""
    head, dot, rest = path.partition(".")
    return _V201_NAMES.get(head, head) + dot + rest


_V201_NAMES = {"chargingProfileId": "id", "connectorId": "evseId",
               "chargingSchedule": "chargingSchedule[0]"}


_PROFILE_FIELDS = frozenset({"id", "stackLevel", "chargingProfilePurpose", "chargingProfileKind",
                             "recurrencyKind", "validFrom", "validTo", "transactionId",
                             "chargingSchedule", "customData"})
_SCHEDULE_FIELDS = frozenset({"id", "startSchedule", "duration", "chargingRateUnit",
                              "chargingSchedulePeriod", "minChargingRate", "salesTariff",
                              "customData"})
_PERIOD_FIELDS = frozenset({"startPeriod", "limit", "numberPhases", "phaseToUse", "customData"})


class _Reader(FieldReader):
    # The OCPP 2.0.1 JSON schema of SetChargingProfileRequest gives fields and types.
    reference = "OCPP 2.0.1 schema ChargingProfileType"

    def profile(self, data: Mapping[str, Any]) -> ChargingProfile201 | None:
        if not isinstance(data, Mapping):
            self.fail("", "must be a JSON object")
            return None
        self.unknown_fields(data, _PROFILE_FIELDS, "")
        profile_id = self.integer(data, "id", "", required=True)
        stack_level = self.integer(data, "stackLevel", "", required=True)
        purpose = self.enum(data, "chargingProfilePurpose", "", ChargingProfilePurpose201)
        kind = self.enum(data, "chargingProfileKind", "", ChargingProfileKind)
        recurrency = self.enum(data, "recurrencyKind", "", RecurrencyKind, required=False)
        valid_from = self.instant(data, "validFrom", "")
        valid_to = self.instant(data, "validTo", "")
        transaction_id = data.get("transactionId")
        if transaction_id is not None and (not isinstance(transaction_id, str)
                                           or len(transaction_id) > 36):
            self.fail("transactionId", "must be a string of at most 36 characters")
            transaction_id = None
        schedules = self.schedules(data.get("chargingSchedule"))
        if (profile_id is None or stack_level is None or purpose is None or kind is None
                or schedules is None):
            return None
        return ChargingProfile201(profile_id, stack_level, purpose, kind, schedules,
                                  transaction_id, recurrency, valid_from, valid_to)

    def schedules(self, raw: Any) -> tuple[ChargingSchedule201, ...] | None:
        if raw is None:
            self.fail("chargingSchedule", "is required")
            return None
        if not isinstance(raw, list):
            self.fail("chargingSchedule", "must be a JSON array")
            return None
        found = [self.schedule(item, f"chargingSchedule[{index}]")
                 for index, item in enumerate(raw)]
        kept = tuple(s for s in found if s is not None)
        return kept if len(kept) == len(found) else None

    def schedule(self, raw: Any, path: str) -> ChargingSchedule201 | None:
        if not isinstance(raw, Mapping):
            self.fail(path, "must be a JSON object")
            return None
        prefix = f"{path}."
        self.unknown_fields(raw, _SCHEDULE_FIELDS, prefix)
        schedule_id = self.integer(raw, "id", prefix, required=True)
        unit = self.enum(raw, "chargingRateUnit", prefix, ChargingRateUnit)
        duration = self.integer(raw, "duration", prefix, required=False)
        start = self.instant(raw, "startSchedule", prefix)
        min_rate = self.number(raw, "minChargingRate", prefix, required=False)
        periods = self.periods(raw.get("chargingSchedulePeriod"), f"{prefix}chargingSchedulePeriod")
        if schedule_id is None or unit is None or periods is None:
            return None
        return ChargingSchedule201(charging_rate_unit=unit, periods=periods, duration=duration,
                                   start_schedule=start, min_charging_rate=min_rate,
                                   id=schedule_id)

    def periods(self, raw: Any, path: str) -> tuple[ChargingSchedulePeriod201, ...] | None:
        if raw is None:
            self.fail(path, "is required")
            return None
        if not isinstance(raw, list):
            self.fail(path, "must be a JSON array")
            return None
        periods: list[ChargingSchedulePeriod201] = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping):
                self.fail(f"{path}[{index}]", "must be a JSON object")
                continue
            prefix = f"{path}[{index}]."
            self.unknown_fields(item, _PERIOD_FIELDS, prefix)
            start = self.integer(item, "startPeriod", prefix, required=True)
            limit = self.number(item, "limit", prefix, required=True)
            phases = self.integer(item, "numberPhases", prefix, required=False)
            phase = self.integer(item, "phaseToUse", prefix, required=False)
            if start is not None and limit is not None:
                periods.append(ChargingSchedulePeriod201(start, limit, phases, phase))
        return tuple(periods)


def with_transaction(profile: ChargingProfile201, transaction_id: str) -> ChargingProfile201:
    """A copy bound to ``transaction_id`` (a TxProfile given with RequestStartTransaction)."""
    return dataclasses.replace(profile, transaction_id=transaction_id)
