"""validate_profile: one test per rule of OCPP 1.6, each checking the message a user sees."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    RecurrencyKind,
)
from app.domain.validation import StationLimits, Violation, profile_warnings, validate_profile

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def tx_default(**changes: object) -> ChargingProfile:
    base = ChargingProfile(
        charging_profile_id=1,
        stack_level=0,
        purpose=ChargingProfilePurpose.TX_DEFAULT_PROFILE,
        kind=ChargingProfileKind.ABSOLUTE,
        schedule=ChargingSchedule(
            charging_rate_unit=ChargingRateUnit.W,
            periods=(ChargingSchedulePeriod(0, 11000.0), ChargingSchedulePeriod(600, 7000.0)),
            start_schedule=T0,
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def schedule(**changes: object) -> ChargingSchedule:
    return dataclasses.replace(tx_default().schedule, **changes)  # type: ignore[arg-type]


def messages(violations: list[Violation]) -> list[str]:
    return [str(v) for v in violations]


def test_a_valid_profile_has_no_violation() -> None:
    assert validate_profile(tx_default(), 1) == []


@pytest.mark.parametrize("limit", [0.0, 0.1, 16.3, 7360.0, 123456.7, 9999999.9])
def test_limits_with_one_decimal_are_accepted(limit: float) -> None:
    periods = (ChargingSchedulePeriod(0, limit),)
    assert validate_profile(tx_default(schedule=schedule(periods=periods)), 1) == []


def test_periods_must_not_be_empty() -> None:
    assert messages(validate_profile(tx_default(schedule=schedule(periods=())), 1)) == [
        "chargingSchedule.chargingSchedulePeriod: must hold at least one period (OCPP 1.6 §7.13)"
    ]


def test_first_start_period_must_be_zero() -> None:
    periods = (ChargingSchedulePeriod(60, 11000.0),)
    assert messages(validate_profile(tx_default(schedule=schedule(periods=periods)), 1)) == [
        "chargingSchedule.chargingSchedulePeriod[0].startPeriod: must be 0 in the first period "
        "(OCPP 1.6 §7.13)"
    ]


def test_start_periods_must_increase() -> None:
    periods = (
        ChargingSchedulePeriod(0, 1.0),
        ChargingSchedulePeriod(600, 2.0),
        ChargingSchedulePeriod(600, 3.0),
    )
    assert messages(validate_profile(tx_default(schedule=schedule(periods=periods)), 1)) == [
        "chargingSchedule.chargingSchedulePeriod[2].startPeriod: must be greater than the "
        "previous period's startPeriod (chargeplan policy)"
    ]


def test_limit_must_not_be_negative() -> None:
    periods = (ChargingSchedulePeriod(0, -1.0),)
    assert messages(validate_profile(tx_default(schedule=schedule(periods=periods)), 1)) == [
        "chargingSchedule.chargingSchedulePeriod[0].limit: must not be negative (chargeplan policy)"
    ]


@pytest.mark.parametrize("limit", [16.25, 123456.75, 0.05])
def test_limit_must_have_at_most_one_decimal(limit: float) -> None:
    periods = (ChargingSchedulePeriod(0, limit),)
    assert messages(validate_profile(tx_default(schedule=schedule(periods=periods)), 1)) == [
        "chargingSchedule.chargingSchedulePeriod[0].limit: must have at most one decimal "
        "(OCPP 1.6 §7.14)"
    ]


@pytest.mark.parametrize("phases", [0, 4])
def test_number_phases_must_be_1_to_3(phases: int) -> None:
    periods = (ChargingSchedulePeriod(0, 16.0, phases),)
    assert messages(validate_profile(tx_default(schedule=schedule(periods=periods)), 1)) == [
        "chargingSchedule.chargingSchedulePeriod[0].numberPhases: must be between 1 and 3 "
        "(chargeplan policy)"
    ]


def test_stack_level_must_not_be_negative() -> None:
    assert messages(validate_profile(tx_default(stack_level=-1), 1)) == [
        "stackLevel: must be 0 or greater (OCPP 1.6 §7.8)"
    ]


def test_stack_level_must_not_exceed_the_station_maximum() -> None:
    limits = StationLimits(max_stack_level=3)
    assert validate_profile(tx_default(stack_level=3), 1, limits) == []
    assert messages(validate_profile(tx_default(stack_level=4), 1, limits)) == [
        "stackLevel: must not exceed the station's ChargeProfileMaxStackLevel (3) (OCPP 1.6 §9.4)"
    ]


def test_unit_must_be_allowed_by_the_station() -> None:
    limits = StationLimits(allowed_units=frozenset({ChargingRateUnit.A}))
    assert messages(validate_profile(tx_default(), 1, limits)) == [
        "chargingSchedule.chargingRateUnit: must be one of the station's "
        "ChargingScheduleAllowedChargingRateUnit (A) (OCPP 1.6 §9.4)"
    ]


def test_periods_must_not_exceed_the_station_maximum() -> None:
    limits = StationLimits(max_periods=1)
    assert messages(validate_profile(tx_default(), 1, limits)) == [
        "chargingSchedule.chargingSchedulePeriod: must hold at most 1 periods "
        "(ChargingScheduleMaxPeriods), not 2 (OCPP 1.6 §9.4)"
    ]


def test_connector_id_must_not_be_negative() -> None:
    assert messages(validate_profile(tx_default(), -1)) == [
        "connectorId: must be 0 or greater (OCPP 1.6 §3.8)"
    ]


def test_connector_id_must_exist_on_the_station() -> None:
    limits = StationLimits(number_of_connectors=2)
    assert validate_profile(tx_default(), 2, limits) == []
    assert messages(validate_profile(tx_default(), 3, limits)) == [
        "connectorId: must not exceed the station's NumberOfConnectors (2) (OCPP 1.6 §3.8)"
    ]


def test_recurring_needs_a_recurrency_kind() -> None:
    profile = tx_default(kind=ChargingProfileKind.RECURRING)
    assert messages(validate_profile(profile, 1)) == [
        "recurrencyKind: is required for a Recurring profile (chargeplan policy)"
    ]


def test_recurring_needs_a_start_schedule() -> None:
    profile = tx_default(
        kind=ChargingProfileKind.RECURRING,
        recurrency_kind=RecurrencyKind.DAILY,
        schedule=schedule(start_schedule=None),
    )
    assert messages(validate_profile(profile, 1)) == [
        "chargingSchedule.startSchedule: is required for a Recurring profile (chargeplan policy)"
    ]


def test_recurrency_kind_on_a_profile_that_is_not_recurring_is_only_a_warning() -> None:
    # OCPP 1.6 §7.8 does not forbid it; chargers ignore it (libocpp does), and so does
    # the composite.
    profile = tx_default(recurrency_kind=RecurrencyKind.WEEKLY)
    assert validate_profile(profile, 1) == []
    assert messages(profile_warnings(profile)) == [
        "recurrencyKind: is ignored: the profile is not Recurring (chargeplan policy)"
    ]


def test_relative_has_no_start_schedule() -> None:
    profile = tx_default(kind=ChargingProfileKind.RELATIVE)
    assert messages(validate_profile(profile, 1)) == [
        "chargingSchedule.startSchedule: must be absent in a Relative profile (chargeplan policy)"
    ]


def test_charge_point_max_only_on_connector_0() -> None:
    profile = tx_default(purpose=ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE)
    assert validate_profile(profile, 0) == []
    assert messages(validate_profile(profile, 1)) == [
        "chargingProfilePurpose: ChargePointMaxProfile must be set on connectorId 0 "
        "(OCPP 1.6 §3.13.1)"
    ]


def test_charge_point_max_is_never_relative() -> None:
    profile = tx_default(
        purpose=ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE,
        kind=ChargingProfileKind.RELATIVE,
        schedule=schedule(start_schedule=None),
    )
    assert messages(validate_profile(profile, 0)) == [
        "chargingProfileKind: must not be Relative in a ChargePointMaxProfile (chargeplan policy)"
    ]


def test_tx_profile_only_on_a_connector() -> None:
    profile = tx_default(purpose=ChargingProfilePurpose.TX_PROFILE, transaction_id=9)
    assert validate_profile(profile, 1) == []
    assert messages(validate_profile(profile, 0)) == [
        "chargingProfilePurpose: TxProfile must be set on a connectorId greater than 0 "
        "(OCPP 1.6 §3.13.1)"
    ]


def test_tx_profile_needs_a_transaction_id() -> None:
    profile = tx_default(purpose=ChargingProfilePurpose.TX_PROFILE)
    assert messages(validate_profile(profile, 1)) == [
        "transactionId: is required for a TxProfile (OCPP 1.6 §5.16)"
    ]


def test_tx_profile_in_remote_start_has_no_transaction_id() -> None:
    without = tx_default(purpose=ChargingProfilePurpose.TX_PROFILE)
    assert validate_profile(without, 1, in_remote_start=True) == []
    with_id = tx_default(purpose=ChargingProfilePurpose.TX_PROFILE, transaction_id=9)
    assert messages(validate_profile(with_id, 1, in_remote_start=True)) == [
        "transactionId: must be absent in RemoteStartTransaction: the transaction does not "
        "exist yet (OCPP 1.6 errata §3.41)"
    ]


def test_transaction_id_only_in_a_tx_profile() -> None:
    assert messages(validate_profile(tx_default(transaction_id=9), 1)) == [
        "transactionId: is only allowed in a TxProfile (OCPP 1.6 §7.8)"
    ]


def test_valid_from_must_precede_valid_to() -> None:
    profile = tx_default(valid_from=T0, valid_to=T0)
    assert messages(validate_profile(profile, 1)) == [
        "validTo: must be later than validFrom (chargeplan policy)"
    ]
    assert validate_profile(tx_default(valid_from=T0, valid_to=T0 + timedelta(seconds=1)), 1) == []


def test_duration_must_be_positive() -> None:
    assert messages(validate_profile(tx_default(schedule=schedule(duration=0)), 1)) == [
        "chargingSchedule.duration: must be greater than 0 (chargeplan policy)"
    ]


@pytest.mark.parametrize(
    ("kind", "longest"), [(RecurrencyKind.DAILY, 86_400), (RecurrencyKind.WEEKLY, 604_800)]
)
def test_recurring_duration_must_fit_its_recurrence(kind: RecurrencyKind, longest: int) -> None:
    def recurring(duration: int) -> ChargingProfile:
        return tx_default(
            kind=ChargingProfileKind.RECURRING,
            recurrency_kind=kind,
            schedule=schedule(duration=duration),
        )

    assert validate_profile(recurring(longest), 1) == []
    assert messages(validate_profile(recurring(longest + 1), 1)) == [
        f"chargingSchedule.duration: must not exceed {longest} s for a {kind} recurrence "
        "(chargeplan policy)"
    ]


def test_min_charging_rate_must_not_be_negative() -> None:
    profile = tx_default(schedule=schedule(min_charging_rate=-6.0))
    assert messages(validate_profile(profile, 1)) == [
        "chargingSchedule.minChargingRate: must not be negative (chargeplan policy)"
    ]


def test_every_broken_rule_is_reported() -> None:
    profile = tx_default(stack_level=-1, transaction_id=3, schedule=schedule(duration=0))
    assert [v.path for v in validate_profile(profile, 1)] == [
        "chargingSchedule.duration",
        "stackLevel",
        "transactionId",
    ]


def test_violation_takes_a_caller_prefix() -> None:
    violation = validate_profile(tx_default(stack_level=-1), 1)[0]
    assert str(violation.prefixed("csChargingProfiles")) == (
        "csChargingProfiles.stackLevel: must be 0 or greater (OCPP 1.6 §7.8)"
    )
