"""The rules of OCPP 1.6 that a charging profile must satisfy before it is sent or installed.

The stock 1.6 JSON schemas accept many profiles the specification forbids (negative limits,
unsorted periods, a TxProfile without transactionId, ...); :func:`validate_profile` catches
them. It reports one :class:`Violation` per broken rule, so a caller can show them all at once.

Each rule cites the section that states it. Rules OCPP 1.6 does not state are chargeplan's
policy and say so (reference ``POLICY``): a profile that means nothing or that chargers read
differently is refused before it is sent. They are:

- a negative limit or minChargingRate; numberPhases outside 1..3; a duration of 0 or less;
  validTo not later than validFrom (a profile valid at no instant);
- startPeriods that do not increase (§7.14 says a startPeriod also ends the previous
  period, which only works in order, but does not state the order);
- a Recurring profile without recurrencyKind or startSchedule (it has no period or no
  start), or whose duration exceeds its recurrence (86400 s for Daily, 604800 s for
  Weekly: its tail would overlap the next recurrence and chargers disagree on which wins);
- a Relative profile with a startSchedule; a Relative ChargePointMaxProfile.

``recurrencyKind`` on a profile that is not Recurring is only a warning
(:func:`profile_warnings`): OCPP 1.6 §7.8 does not forbid it and chargers ignore it (libocpp
does), so the composite ignores it too.

OCPP 2.0.1 (:func:`validate_profile_v201`) runs the same checks with the references of
:data:`app.domain.protocol_rules.V201` (several 1.6 policies are requirements of K01 there:
increasing startPeriods K01.FR.35, startSchedule K01.FR.40/41, a Relative
ChargingStationMaxProfile K01.FR.38), plus what 2.0.1 adds: 1 to 3 schedules, the
TxProfile's running transaction on its EVSE (K01.FR.09), phaseToUse only with one phase
(ChargingSchedulePeriodType), no ChargingStationExternalConstraints from a central system
(K01.FR.22), and, given what the station holds, no second profile with the same stackLevel,
purpose and EVSE (K01.FR.06) or, for a TxProfile, stackLevel and transactionId (K01.FR.39).

A desired profile is kept in its 1.6 form whatever its station speaks;
:func:`validate_as_sent` checks it by the rules of the station's version (a
:class:`~app.domain.protocol_rules.ProtocolRules` value): the 1.6 rules, or the 2.0.1 ones
on its 2.0.1 form (:func:`~app.domain.profiles_v201.from_v16`), named as the 1.6 form
spells each field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.domain.installation import InstalledProfile
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    RecurrencyKind,
)
from app.domain.profiles_v201 import (
    ChargingProfile201,
    ChargingProfilePurpose201,
    ChargingSchedulePeriod201,
    ConversionError,
    EvseProfile,
    from_v16,
)
from app.domain.protocol_rules import (
    POLICY,
    V16,
    V201,
    OcppVersion,
    ProfileRole,
    ProtocolRules,
)
from app.domain.violations import Violation

__all__ = ["POLICY", "RECURRENCE_SECONDS", "StationLimits", "Violation", "clashes_as_sent",
           "profile_warnings", "validate_as_sent", "validate_profile", "validate_profile_v201",
           "validate_remote_start_as_sent"]

PERIODS = "chargingSchedule.chargingSchedulePeriod"

#: OCPP 1.6 §7.37 RecurrencyKindType (errata §3.79): Daily restarts every 24 h, Weekly every 7 days.
RECURRENCE_SECONDS: dict[RecurrencyKind, int] = {
    RecurrencyKind.DAILY: 86_400,
    RecurrencyKind.WEEKLY: 604_800,
}


@dataclass(frozen=True)
class StationLimits:
    """What a charge point accepts, from its configuration keys (OCPP 1.6 §9.4).

    ``None`` means unknown, and an unknown bound blocks nothing.
    """

    max_stack_level: int | None = None  # ChargeProfileMaxStackLevel
    # ChargingScheduleAllowedChargingRateUnit
    allowed_units: frozenset[ChargingRateUnit] | None = None
    max_periods: int | None = None  # ChargingScheduleMaxPeriods
    max_profiles: int | None = None  # MaxChargingProfilesInstalled
    number_of_connectors: int | None = None  # NumberOfConnectors


def validate_profile(
    profile: ChargingProfile,
    connector_id: int,
    limits: StationLimits = StationLimits(),  # noqa: B008 - frozen, shared safely
    *,
    in_remote_start: bool = False,
) -> list[Violation]:
    """Every rule ``profile`` breaks when installed on ``connector_id``; empty when valid.

    ``in_remote_start`` is true for the profile carried by RemoteStartTransaction.req, where
    no transaction exists yet.
    """
    checks: tuple[Callable[[], list[Violation]], ...] = (
        lambda: _check_periods(profile.schedule, V16, PERIODS),
        lambda: _check_schedule(profile.schedule, V16, "chargingSchedule"),
        lambda: _check_station(profile, connector_id, limits),
        lambda: _check_kind(profile, profile.schedule, V16, "chargingSchedule"),
        lambda: _check_purpose(profile, connector_id, in_remote_start),
        lambda: _check_validity(profile),
    )
    return [violation for check in checks for violation in check()]


def _check_periods(schedule: ChargingSchedule, rules: ProtocolRules,
                   path: str) -> list[Violation]:
    periods = schedule.periods
    if not periods:
        # OCPP 1.6 §7.13: chargingSchedulePeriod has cardinality 1..*; 2.0.1's schema
        # says minItems 1.
        return [Violation(path, "must hold at least one period", rules.cite("periods_present"))]
    found: list[Violation] = []
    if periods[0].start_period != 0:
        # OCPP 1.6 §7.13, 2.0.1 K01.FR.31: the startPeriod of the first period SHALL be 0.
        found.append(
            Violation(
                f"{path}[0].startPeriod", "must be 0 in the first period",
                rules.cite("first_period_zero"),
            )
        )
    # 2.0.1 K01.FR.35 states it. Policy in 1.6: §7.14 says a startPeriod also ends the
    # previous period, which only reads one way when they increase; the order is not stated.
    found.extend(
        Violation(
            f"{path}[{index}].startPeriod",
            "must be greater than the previous period's startPeriod",
            rules.cite("periods_increase"),
        )
        for index in range(1, len(periods))
        if periods[index].start_period <= periods[index - 1].start_period
    )
    for index, period in enumerate(periods):
        found.extend(_check_period(f"{path}[{index}]", period, rules))
    return found


def _check_period(path: str, period: ChargingSchedulePeriod,
                  rules: ProtocolRules) -> list[Violation]:
    found: list[Violation] = []
    if period.limit < 0:
        # Policy: a limit is a maximum rate; a negative one means nothing.
        found.append(Violation(f"{path}.limit", "must not be negative", POLICY))
    if not has_one_decimal(period.limit):
        # OCPP 1.6 §7.14 and its JSON schema: limit is a multipleOf 0.1; OCPP 2.0.1
        # ChargingSchedulePeriodType: the limit accepts at most one digit fraction.
        found.append(
            Violation(f"{path}.limit", "must have at most one decimal", rules.cite("one_decimal"))
        )
    if period.number_phases is not None and not 1 <= period.number_phases <= 3:
        # Policy: numberPhases counts the phases used (default 3), so 1 to 3.
        found.append(Violation(f"{path}.numberPhases", "must be between 1 and 3", POLICY))
    return found


def _check_schedule(schedule: ChargingSchedule, rules: ProtocolRules,
                    path: str) -> list[Violation]:
    found: list[Violation] = []
    if schedule.duration is not None and schedule.duration <= 0:
        # Policy: duration is the length of the schedule in seconds.
        found.append(Violation(f"{path}.duration", "must be greater than 0", POLICY))
    if schedule.min_charging_rate is not None:
        if schedule.min_charging_rate < 0:
            # Policy: minChargingRate is a rate the EV can take; never negative.
            found.append(Violation(f"{path}.minChargingRate", "must not be negative", POLICY))
        if not has_one_decimal(schedule.min_charging_rate):
            # OCPP 1.6 §7.13 and its JSON schema: minChargingRate is a multipleOf 0.1;
            # OCPP 2.0.1 ChargingScheduleType: at most one digit fraction.
            found.append(
                Violation(
                    f"{path}.minChargingRate",
                    "must have at most one decimal",
                    rules.cite("min_rate_one_decimal"),
                )
            )
    return found


def _check_station(
    profile: ChargingProfile, connector_id: int, limits: StationLimits
) -> list[Violation]:
    # OCPP 1.6 §9.4: the configuration keys bound what a charger accepts; §3.8: connectors
    # are numbered from 1 and 0 addresses the whole charge point.
    return (_check_stack_level(profile.stack_level, limits, V16)
            + _check_schedule_limits(profile.schedule, limits, V16, "chargingSchedule")
            + _check_place(connector_id, limits, V16))


def _check_kind(profile: ChargingProfile | ChargingProfile201, schedule: ChargingSchedule,
                rules: ProtocolRules, path: str) -> list[Violation]:
    found: list[Violation] = []
    if (rules.version is V201.version and profile.kind is ChargingProfileKind.ABSOLUTE
            and schedule.start_schedule is None):
        # OCPP 2.0.1 K01.FR.40: an Absolute or Recurring profile has a startSchedule.
        found.append(Violation(f"{path}.startSchedule", "is required for an Absolute profile",
                               rules.cite("start_schedule_required")))
    if profile.kind is ChargingProfileKind.RECURRING:
        if profile.recurrency_kind is None:
            # Policy: without recurrencyKind a Recurring profile has no period.
            found.append(
                Violation("recurrencyKind", "is required for a Recurring profile", POLICY)
            )
        if schedule.start_schedule is None:
            # Policy in 1.6 (a Recurring schedule needs the instant its recurrence counts
            # from); 2.0.1 K01.FR.40 states it.
            found.append(
                Violation(
                    f"{path}.startSchedule", "is required for a Recurring profile",
                    rules.cite("start_schedule_required"),
                )
            )
        if profile.recurrency_kind is not None and schedule.duration is not None:
            # Chosen rule (module docstring): a recurrence must not overlap the next one.
            cycle = RECURRENCE_SECONDS[profile.recurrency_kind]
            if schedule.duration > cycle:
                found.append(
                    Violation(
                        f"{path}.duration",
                        f"must not exceed {cycle} s for a {profile.recurrency_kind} recurrence",
                        POLICY,
                    )
                )
    if profile.kind is ChargingProfileKind.RELATIVE and schedule.start_schedule is not None:
        # Policy in 1.6 (a Relative schedule starts with the transaction, not at a set
        # time); 2.0.1 K01.FR.41 states it.
        found.append(
            Violation(f"{path}.startSchedule", "must be absent in a Relative profile",
                      rules.cite("start_schedule_forbidden"))
        )
    return found


def _check_purpose(
    profile: ChargingProfile, connector_id: int, in_remote_start: bool
) -> list[Violation]:
    found: list[Violation] = []
    purpose = profile.purpose
    if purpose is ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE:
        if connector_id != 0:
            # OCPP 1.6 §3.13.1: ChargePointMaxProfile can only be set at connectorId 0.
            found.append(
                Violation(
                    "chargingProfilePurpose",
                    "ChargePointMaxProfile must be set on connectorId 0",
                    "OCPP 1.6 §3.13.1",
                )
            )
        if profile.kind is ChargingProfileKind.RELATIVE:
            # Policy: the charge point limit has no transaction to be relative to.
            found.append(
                Violation(
                    "chargingProfileKind", "must not be Relative in a ChargePointMaxProfile",
                    POLICY,
                )
            )
    if purpose is ChargingProfilePurpose.TX_PROFILE:
        if connector_id <= 0:
            # OCPP 1.6 §3.13.1: a TxProfile applies to the transaction on one connector.
            found.append(
                Violation(
                    "chargingProfilePurpose",
                    "TxProfile must be set on a connectorId greater than 0",
                    "OCPP 1.6 §3.13.1",
                )
            )
        if in_remote_start and profile.transaction_id is not None:
            # OCPP 1.6 errata §3.41: in RemoteStartTransaction the transactionId SHALL NOT be set.
            found.append(
                Violation(
                    "transactionId",
                    "must be absent in RemoteStartTransaction: the transaction does not exist yet",
                    "OCPP 1.6 errata §3.41",
                )
            )
        elif not in_remote_start and profile.transaction_id is None:
            # OCPP 1.6 §5.16: a TxProfile is set for a running transaction, named by its id.
            found.append(
                Violation("transactionId", "is required for a TxProfile", "OCPP 1.6 §5.16")
            )
    elif profile.transaction_id is not None:
        # OCPP 1.6 §7.8: transactionId is only valid if the purpose is TxProfile.
        found.append(Violation("transactionId", "is only allowed in a TxProfile", "OCPP 1.6 §7.8"))
    return found


def _check_validity(profile: ChargingProfile) -> list[Violation]:
    if (
        profile.valid_from is not None
        and profile.valid_to is not None
        and profile.valid_from >= profile.valid_to
    ):
        # Policy: such a profile is valid at no instant.
        return [Violation("validTo", "must be later than validFrom", POLICY)]
    return []


def validate_profile_v201(
    profile: ChargingProfile201,
    evse_id: int,
    limits: StationLimits = StationLimits(),  # noqa: B008 - frozen, shared safely
    *,
    transactions: Mapping[int, str] | None = None,
    installed: Sequence[EvseProfile] = (),
    in_remote_start: bool = False,
) -> list[Violation]:
    """Every rule of OCPP 2.0.1 (K01) a SetChargingProfileRequest for ``evse_id`` breaks.

    ``in_remote_start`` is true for the TxProfile carried by RequestStartTransaction, which
    cannot name the transaction it starts (K01.FR.03 asks a transactionId of the profiles
    of SetChargingProfile).

    ``limits`` come from the station's SmartChargingCtrlr variables
    (``number_of_connectors`` counts its EVSEs). ``transactions`` maps each EVSE to the
    transaction running on it: given, a TxProfile must name that one (K01.FR.09). Given
    ``installed`` (what the station holds), a profile that would share its stackLevel,
    purpose and EVSE (or, for a TxProfile, stackLevel and transactionId) with another one
    of a different id and overlapping validity is refused (K01.FR.06, K01.FR.39): a
    central system SHALL NOT send it.
    """
    rules = V201
    found: list[Violation] = []
    if not 1 <= len(profile.schedules) <= 3:
        # The 2.0.1 schema of ChargingProfileType: chargingSchedule has 1 to 3 items.
        found.append(Violation("chargingSchedule", "must hold 1 to 3 schedules",
                               rules.cite("schedules_count")))
    for index, schedule in enumerate(profile.schedules):
        path = f"chargingSchedule[{index}]"
        found += _check_periods(schedule, rules, f"{path}.chargingSchedulePeriod")
        found += _check_schedule(schedule, rules, path)
        found += _check_phase_to_use(schedule, path)
        found += _check_schedule_limits(schedule, limits, rules, path)
        found += _check_kind(profile, schedule, rules, path)
    found += _check_stack_level(profile.stack_level, limits, rules)
    found += _check_place(evse_id, limits, rules)
    found += _check_purpose_v201(profile, evse_id, transactions, in_remote_start)
    if (profile.valid_from is not None and profile.valid_to is not None
            and profile.valid_from >= profile.valid_to):
        # Policy: such a profile is valid at no instant.
        found.append(Violation("validTo", "must be later than validFrom", POLICY))
    found += _check_conflicts(profile, evse_id, installed)
    return found


def _check_phase_to_use(schedule: ChargingSchedule, path: str) -> list[Violation]:
    found: list[Violation] = []
    for index, period in enumerate(schedule.periods):
        phase = period.phase_to_use if isinstance(period, ChargingSchedulePeriod201) else None
        if phase is None:
            continue
        where = f"{path}.chargingSchedulePeriod[{index}].phaseToUse"
        if period.number_phases != 1:
            # OCPP 2.0.1 ChargingSchedulePeriodType: phaseToUse is used if numberPhases=1,
            # and not allowed otherwise.
            found.append(Violation(where, "is only allowed with numberPhases 1",
                                   V201.cite("phase_to_use")))
        elif not 1 <= phase <= 3:
            # OCPP 2.0.1 ChargingSchedulePeriodType: phaseToUse takes the values 1..3.
            found.append(Violation(where, "must be 1, 2 or 3", V201.cite("phase_values")))
    return found


def _check_schedule_limits(schedule: ChargingSchedule, limits: StationLimits,
                           rules: ProtocolRules, path: str) -> list[Violation]:
    found: list[Violation] = []
    unit = schedule.charging_rate_unit
    if limits.allowed_units is not None and unit not in limits.allowed_units:
        # OCPP 1.6 §9.4 ChargingScheduleAllowedChargingRateUnit, OCPP 2.0.1 K01.FR.26
        # SmartChargingCtrlr.RateUnit: a unit the station does not list is refused.
        allowed = ",".join(sorted(u.value for u in limits.allowed_units)) or "none"
        found.append(Violation(f"{path}.chargingRateUnit",
                               f"must be one of the station's {rules.names['allowed_units']} "
                               f"({allowed})", rules.cite("unit_allowed")))
    count = len(schedule.periods)
    if limits.max_periods is not None and count > limits.max_periods:
        # 1.6 ChargingScheduleMaxPeriods, 2.0.1 SmartChargingCtrlr.PeriodsPerSchedule.
        found.append(Violation(f"{path}.chargingSchedulePeriod",
                               f"must hold at most {limits.max_periods} periods "
                               f"({rules.names['max_periods']}), not {count}",
                               rules.cite("station_limits")))
    return found


def _check_stack_level(stack_level: int, limits: StationLimits,
                       rules: ProtocolRules) -> list[Violation]:
    if stack_level < 0:
        # OCPP 1.6 §7.8, 2.0.1 ChargingProfileType: the lowest stackLevel is 0.
        return [Violation("stackLevel", "must be 0 or greater", rules.cite("stack_level"))]
    if limits.max_stack_level is not None and stack_level > limits.max_stack_level:
        # 1.6 ChargeProfileMaxStackLevel, 2.0.1 SmartChargingCtrlr.ProfileStackLevel.
        return [Violation("stackLevel", f"must not exceed the station's "
                          f"{rules.names['max_stack_level']} ({limits.max_stack_level})",
                          rules.cite("station_limits"))]
    return []


def _check_place(place: int, limits: StationLimits, rules: ProtocolRules) -> list[Violation]:
    # OCPP 1.6 §3.8: connectors are numbered from 1, 0 is the charge point, none beyond
    # NumberOfConnectors; OCPP 2.0.1 K01.FR.28: an evseId the station lacks is refused.
    if place < 0:
        return [Violation(rules.place, "must be 0 or greater", rules.cite("place_exists"))]
    if limits.number_of_connectors is not None and place > limits.number_of_connectors:
        return [Violation(rules.place, f"must not exceed {rules.names['places']} "
                          f"({limits.number_of_connectors})", rules.cite("place_exists"))]
    return []


def _check_purpose_v201(profile: ChargingProfile201, evse_id: int,
                        transactions: Mapping[int, str] | None,
                        in_remote_start: bool = False) -> list[Violation]:
    rules = V201
    purpose = profile.purpose
    found: list[Violation] = []
    if purpose is ChargingProfilePurpose201.CHARGING_STATION_EXTERNAL_CONSTRAINTS:
        # OCPP 2.0.1 K01.FR.22: the central system does not set this purpose.
        found.append(Violation("chargingProfilePurpose",
                               "ChargingStationExternalConstraints is set by the station's "
                               "energy manager or the grid, not by the central system",
                               rules.cite("external_not_settable")))
    if purpose is ChargingProfilePurpose201.CHARGING_STATION_MAX_PROFILE:
        if evse_id != 0:
            # Policy: the purpose is the whole station's limit (the schema's description of
            # evseId: 0 holds the overall limit); chargers refuse it elsewhere.
            found.append(Violation("chargingProfilePurpose",
                                   "ChargingStationMaxProfile must be set on evseId 0", POLICY))
        if profile.kind is ChargingProfileKind.RELATIVE:
            # OCPP 2.0.1 K01.FR.38: a ChargingStationMaxProfile SHALL NOT be Relative.
            found.append(Violation("chargingProfileKind",
                                   "must not be Relative in a ChargingStationMaxProfile",
                                   rules.cite("station_max_not_relative")))
    if purpose is ChargingProfilePurpose201.TX_PROFILE:
        if evse_id <= 0:
            # OCPP 2.0.1 K01.FR.16: a TxProfile is set on an EVSE greater than 0.
            found.append(Violation("chargingProfilePurpose",
                                   "TxProfile must be set on an evseId greater than 0",
                                   rules.cite("tx_place")))
        if profile.transaction_id is None and not in_remote_start:
            # OCPP 2.0.1 K01.FR.03: the CSMS SHALL include the transactionId of a TxProfile.
            found.append(Violation("transactionId", "is required for a TxProfile",
                                   rules.cite("tx_id_required")))
        elif (transactions is not None and evse_id > 0
              and transactions.get(evse_id) != profile.transaction_id):
            # OCPP 2.0.1 K01.FR.09: a TxProfile for no transaction on the EVSE is refused.
            found.append(Violation("transactionId",
                                   f"names no transaction running on EVSE {evse_id}",
                                   rules.cite("tx_running")))
    elif profile.transaction_id is not None:
        # OCPP 2.0.1 ChargingProfileType: transactionId SHALL only be included in a TxProfile.
        found.append(Violation("transactionId", "is only allowed in a TxProfile",
                               rules.cite("tx_id_only_tx")))
    return found


def _overlap(a_from: datetime | None, a_to: datetime | None, b_from: datetime | None,
             b_to: datetime | None) -> bool:
    return (a_to is None or b_from is None or b_from < a_to) and (
        b_to is None or a_from is None or a_from < b_to)


def _check_conflicts(profile: ChargingProfile201, evse_id: int,
                     installed: Sequence[EvseProfile]) -> list[Violation]:
    for held in installed:
        other = held.profile
        if (other.charging_profile_id == profile.charging_profile_id
                or other.stack_level != profile.stack_level
                or other.purpose is not profile.purpose):
            continue
        if profile.role is ProfileRole.TX:
            if other.transaction_id == profile.transaction_id:
                # OCPP 2.0.1 K01.FR.39: no second TxProfile with this stackLevel and
                # transactionId.
                return [Violation("stackLevel", f"profile {other.charging_profile_id} has the "
                                  "same stackLevel for this transaction",
                                  V201.cite("same_stack_tx"))]
        elif held.evse_id == evse_id and _overlap(profile.valid_from, profile.valid_to,
                                                  other.valid_from, other.valid_to):
            # OCPP 2.0.1 K01.FR.06: no second profile with this stackLevel, purpose and
            # evseId valid at the same time.
            return [Violation("stackLevel", f"profile {other.charging_profile_id} has the "
                              "same stackLevel, purpose and evseId, valid at the same time",
                              V201.cite("same_stack"))]
    return []


def validate_as_sent(
    profile: ChargingProfile,
    connector_id: int,
    limits: StationLimits = StationLimits(),  # noqa: B008 - frozen, shared safely
    *,
    rules: ProtocolRules = V16,
    held: Sequence[InstalledProfile] = (),
    sent_at: datetime | None = None,
) -> list[Violation]:
    """Every rule a desired profile breaks on a station that speaks ``rules``, named as the
    desired profile spells it (1.6 fields, ``connectorId`` for the place).

    A desired profile is kept in its 1.6 form. For a 1.6 station this is
    :func:`validate_profile`. A 2.0.1 station gets it converted (:func:`from_v16`, at
    ``sent_at`` as the adapter does when it sends it), so the conversion's refusals come
    first, then :func:`validate_profile_v201` of what is sent with the station's
    SmartChargingCtrlr limits, then :func:`clashes_as_sent` against ``held`` (the
    station's other profiles, 1.6 form, that this one does not replace).
    """
    if rules.version is not OcppVersion.V201:
        return validate_profile(profile, connector_id, limits)
    try:
        sent = _sent(profile, sent_at)
    except ConversionError as exc:
        return list(exc.violations)
    found = validate_profile_v201(sent, connector_id, limits)
    return [_as_v16(v) for v in found] + clashes_as_sent(profile, connector_id, held,
                                                          rules=rules, sent_at=sent_at)


def validate_remote_start_as_sent(
    profile: ChargingProfile,
    connector_id: int,
    limits: StationLimits = StationLimits(),  # noqa: B008 - frozen, shared safely
    *,
    rules: ProtocolRules = V16,
    sent_at: datetime | None = None,
) -> list[Violation]:
    """Every rule the TxProfile of a remote start breaks on a station that speaks ``rules``,
    named as the request (1.6 form) spells it.

    A 1.6 station: :func:`validate_profile` for RemoteStartTransaction (no transactionId,
    OCPP 1.6 errata §3.41). A 2.0.1 station: the profile as RequestStartTransaction carries
    it (:func:`from_v16` for a transaction it starts), by :func:`validate_profile_v201`
    with its SmartChargingCtrlr limits.
    """
    if rules.version is not OcppVersion.V201:
        return validate_profile(profile, connector_id, limits, in_remote_start=True)
    found: list[Violation] = []
    if profile.transaction_id is not None:
        # Policy: the conversion would drop it; the transaction it names does not exist yet.
        found.append(Violation("transactionId", "must be absent in a remote start: the "
                               "transaction does not exist yet", POLICY))
    try:
        sent = from_v16(profile, sent_at=sent_at, starts_transaction=True)
    except ConversionError as exc:
        return found + list(exc.violations)
    return found + [_as_v16(v) for v in validate_profile_v201(sent, connector_id, limits,
                                                              in_remote_start=True)]


def clashes_as_sent(profile: ChargingProfile, connector_id: int,
                    held: Sequence[InstalledProfile], *,
                    rules: ProtocolRules = V16,
                    sent_at: datetime | None = None) -> list[Violation]:
    """For a 2.0.1 station: the profile of ``held`` (1.6 form, what the station is to hold
    beside ``profile``) that ``profile`` may not be sent beside (K01.FR.06, K01.FR.39).
    None for a 1.6 station, where the newer one replaces the other (OCPP 1.6 §5.16.3)."""
    if rules.version is not OcppVersion.V201:
        return []
    try:
        sent = _sent(profile, sent_at)
    except ConversionError:
        return []  # validate_as_sent reports why it cannot be sent
    others = []
    for item in held:
        try:
            others.append(EvseProfile(item.connector_id, _sent(item.profile, sent_at)))
        except ConversionError:
            continue  # never sent as it is, so nothing the station could hold
    return [_as_v16(v) for v in _check_conflicts(sent, connector_id, others)]


def _sent(profile: ChargingProfile, sent_at: datetime | None) -> ChargingProfile201:
    # The adapter sends the station's own transaction id for the 1.6 one, one for one:
    # the 1.6 id stands for it here (present or not, the same or not: all the rules ask).
    transaction_id = None if profile.transaction_id is None else str(profile.transaction_id)
    return from_v16(profile, transaction_id=transaction_id, sent_at=sent_at)


def _as_v16(violation: Violation) -> Violation:
    """A violation of the 2.0.1 form (one schedule, from :func:`from_v16`) named as the 1.6
    form spells the field: ``chargingSchedule`` for ``chargingSchedule[0]``, the place
    ``connectorId`` for ``evseId``."""
    path = violation.path
    if path == V201.place:
        path = V16.place
    elif path.startswith("chargingSchedule[0]"):
        path = "chargingSchedule" + path[len("chargingSchedule[0]"):]
    return Violation(path, violation.rule, violation.reference)


def profile_warnings(profile: ChargingProfile) -> list[Violation]:
    """What is allowed but probably not meant: sent as is, reported to the user."""
    if profile.kind is not ChargingProfileKind.RECURRING and profile.recurrency_kind is not None:
        return [Violation("recurrencyKind", "is ignored: the profile is not Recurring", POLICY)]
    return []


def has_one_decimal(value: float) -> bool:
    """True when ``value`` has at most one decimal (the schema's ``multipleOf 0.1``)."""
    if not math.isfinite(value):
        return False
    scaled = value * 10
    return abs(scaled - round(scaled)) < 1e-9 * max(1.0, abs(scaled))
