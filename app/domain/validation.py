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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedulePeriod,
    RecurrencyKind,
)
from app.domain.violations import Violation

__all__ = ["POLICY", "RECURRENCE_SECONDS", "StationLimits", "Violation", "profile_warnings",
           "validate_profile"]

#: The reference of a rule OCPP 1.6 does not state (see the module docstring).
POLICY = "chargeplan policy"

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
        lambda: _check_periods(profile),
        lambda: _check_schedule(profile),
        lambda: _check_station(profile, connector_id, limits),
        lambda: _check_kind(profile),
        lambda: _check_purpose(profile, connector_id, in_remote_start),
        lambda: _check_validity(profile),
    )
    return [violation for check in checks for violation in check()]


def _check_periods(profile: ChargingProfile) -> list[Violation]:
    periods = profile.schedule.periods
    if not periods:
        # OCPP 1.6 §7.13: chargingSchedulePeriod has cardinality 1..*.
        return [Violation(PERIODS, "must hold at least one period", "OCPP 1.6 §7.13")]
    found: list[Violation] = []
    if periods[0].start_period != 0:
        # OCPP 1.6 §7.13: the startPeriod of the first period SHALL always be 0.
        found.append(
            Violation(
                f"{PERIODS}[0].startPeriod", "must be 0 in the first period", "OCPP 1.6 §7.13"
            )
        )
    # Policy: OCPP 1.6 §7.14 says a startPeriod also ends the previous period, which only
    # reads one way when they increase; the order itself is not stated.
    found.extend(
        Violation(
            f"{PERIODS}[{index}].startPeriod",
            "must be greater than the previous period's startPeriod",
            POLICY,
        )
        for index in range(1, len(periods))
        if periods[index].start_period <= periods[index - 1].start_period
    )
    for index, period in enumerate(periods):
        found.extend(_check_period(index, period))
    return found


def _check_period(index: int, period: ChargingSchedulePeriod) -> list[Violation]:
    found: list[Violation] = []
    if period.limit < 0:
        # Policy: a limit is a maximum rate; a negative one means nothing.
        found.append(Violation(f"{PERIODS}[{index}].limit", "must not be negative", POLICY))
    if not has_one_decimal(period.limit):
        # OCPP 1.6 §7.14 and its JSON schema: limit is a multipleOf 0.1.
        found.append(
            Violation(
                f"{PERIODS}[{index}].limit", "must have at most one decimal", "OCPP 1.6 §7.14"
            )
        )
    if period.number_phases is not None and not 1 <= period.number_phases <= 3:
        # Policy: numberPhases counts the phases used (default 3), so 1 to 3.
        found.append(
            Violation(f"{PERIODS}[{index}].numberPhases", "must be between 1 and 3", POLICY)
        )
    return found


def _check_schedule(profile: ChargingProfile) -> list[Violation]:
    schedule = profile.schedule
    found: list[Violation] = []
    if schedule.duration is not None and schedule.duration <= 0:
        # Policy: duration is the length of the schedule in seconds.
        found.append(Violation("chargingSchedule.duration", "must be greater than 0", POLICY))
    if schedule.min_charging_rate is not None:
        if schedule.min_charging_rate < 0:
            # Policy: minChargingRate is a rate the EV can take; never negative.
            found.append(
                Violation("chargingSchedule.minChargingRate", "must not be negative", POLICY)
            )
        if not has_one_decimal(schedule.min_charging_rate):
            # OCPP 1.6 §7.13 and its JSON schema: minChargingRate is a multipleOf 0.1.
            found.append(
                Violation(
                    "chargingSchedule.minChargingRate",
                    "must have at most one decimal",
                    "OCPP 1.6 §7.13",
                )
            )
    return found


def _check_station(
    profile: ChargingProfile, connector_id: int, limits: StationLimits
) -> list[Violation]:
    found: list[Violation] = []
    if profile.stack_level < 0:
        # OCPP 1.6 §7.8: stackLevel is 0 or more.
        found.append(Violation("stackLevel", "must be 0 or greater", "OCPP 1.6 §7.8"))
    elif limits.max_stack_level is not None and profile.stack_level > limits.max_stack_level:
        # OCPP 1.6 §9.4 ChargeProfileMaxStackLevel bounds the stackLevel a charger accepts.
        found.append(
            Violation(
                "stackLevel",
                f"must not exceed the station's ChargeProfileMaxStackLevel "
                f"({limits.max_stack_level})",
                "OCPP 1.6 §9.4",
            )
        )
    unit = profile.schedule.charging_rate_unit
    if limits.allowed_units is not None and unit not in limits.allowed_units:
        # OCPP 1.6 §9.4 ChargingScheduleAllowedChargingRateUnit lists the units it takes.
        allowed = ",".join(sorted(u.value for u in limits.allowed_units)) or "none"
        found.append(
            Violation(
                "chargingSchedule.chargingRateUnit",
                f"must be one of the station's ChargingScheduleAllowedChargingRateUnit ({allowed})",
                "OCPP 1.6 §9.4",
            )
        )
    count = len(profile.schedule.periods)
    if limits.max_periods is not None and count > limits.max_periods:
        # OCPP 1.6 §9.4 ChargingScheduleMaxPeriods bounds the periods per schedule.
        found.append(
            Violation(
                PERIODS,
                f"must hold at most {limits.max_periods} periods "
                f"(ChargingScheduleMaxPeriods), not {count}",
                "OCPP 1.6 §9.4",
            )
        )
    if connector_id < 0:
        # OCPP 1.6 §3.8: connectors are numbered from 1; 0 addresses the whole charge point.
        found.append(Violation("connectorId", "must be 0 or greater", "OCPP 1.6 §3.8"))
    elif limits.number_of_connectors is not None and connector_id > limits.number_of_connectors:
        # OCPP 1.6 §3.8: a connectorId is never higher than the number of connectors.
        found.append(
            Violation(
                "connectorId",
                f"must not exceed the station's NumberOfConnectors ({limits.number_of_connectors})",
                "OCPP 1.6 §3.8",
            )
        )
    return found


def _check_kind(profile: ChargingProfile) -> list[Violation]:
    found: list[Violation] = []
    schedule = profile.schedule
    if profile.kind is ChargingProfileKind.RECURRING:
        if profile.recurrency_kind is None:
            # Policy: without recurrencyKind a Recurring profile has no period.
            found.append(
                Violation("recurrencyKind", "is required for a Recurring profile", POLICY)
            )
        if schedule.start_schedule is None:
            # Policy: a Recurring schedule needs the instant its recurrence counts from.
            found.append(
                Violation(
                    "chargingSchedule.startSchedule", "is required for a Recurring profile", POLICY
                )
            )
        if profile.recurrency_kind is not None and schedule.duration is not None:
            # Chosen rule (module docstring): a recurrence must not overlap the next one.
            cycle = RECURRENCE_SECONDS[profile.recurrency_kind]
            if schedule.duration > cycle:
                found.append(
                    Violation(
                        "chargingSchedule.duration",
                        f"must not exceed {cycle} s for a {profile.recurrency_kind} recurrence",
                        POLICY,
                    )
                )
    if profile.kind is ChargingProfileKind.RELATIVE and schedule.start_schedule is not None:
        # Policy: a Relative schedule starts with the transaction, not at a set time.
        found.append(
            Violation("chargingSchedule.startSchedule", "must be absent in a Relative profile",
                      POLICY)
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
