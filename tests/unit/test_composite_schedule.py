"""Composite schedules worked out by hand, one rule of OCPP 1.6 §3.13 per test."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.domain.composite import (
    ActiveTransaction,
    CompositeSchedule,
    SupplyConfig,
    composite_schedule,
)
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

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
W = ChargingRateUnit.W
A = ChargingRateUnit.A
CPMAX = ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE
TXDEFAULT = ChargingProfilePurpose.TX_DEFAULT_PROFILE
TX = ChargingProfilePurpose.TX_PROFILE


def profile(
    profile_id: int,
    purpose: ChargingProfilePurpose,
    periods: Sequence[tuple[int, float] | tuple[int, float, int]],
    *,
    stack: int = 0,
    kind: ChargingProfileKind = ChargingProfileKind.ABSOLUTE,
    unit: ChargingRateUnit = W,
    start: datetime | None = T0,
    duration: int | None = None,
    transaction_id: int | None = None,
    recurrency: RecurrencyKind | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> ChargingProfile:
    return ChargingProfile(
        charging_profile_id=profile_id,
        stack_level=stack,
        purpose=purpose,
        kind=kind,
        schedule=ChargingSchedule(
            charging_rate_unit=unit,
            periods=tuple(ChargingSchedulePeriod(*p) for p in periods),
            duration=duration,
            start_schedule=None if kind is ChargingProfileKind.RELATIVE else start,
        ),
        transaction_id=transaction_id,
        recurrency_kind=recurrency,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def on(connector_id: int, *profiles: ChargingProfile) -> list[InstalledProfile]:
    return [InstalledProfile(connector_id, p) for p in profiles]


def steps(schedule: CompositeSchedule) -> list[tuple[int, float]]:
    return [(p.start_period, p.limit) for p in schedule.periods]


def test_no_profile_reports_the_default_48_a() -> None:
    assert steps(composite_schedule([], 1, T0, 3600, W)) == [(0, 33120.0)]
    assert steps(composite_schedule([], 1, T0, 3600, A)) == [(0, 48.0)]


def test_station_maximum_replaces_the_default() -> None:
    assert steps(composite_schedule([], 1, T0, 3600, W, station_max_w=22000)) == [(0, 22000.0)]


def test_higher_stack_level_wins_until_its_duration_ends() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 11000)], stack=0),
        profile(2, TXDEFAULT, [(0, 7000)], stack=1, duration=1800),
    )
    assert steps(composite_schedule(installed, 1, T0, 3600, W)) == [(0, 7000.0), (1800, 11000.0)]


def test_lower_stack_level_shows_outside_valid_from_and_valid_to() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 11000)]),
        profile(
            2,
            TXDEFAULT,
            [(0, 7000)],
            stack=1,
            valid_from=T0 + timedelta(seconds=600),
            valid_to=T0 + timedelta(seconds=1200),
        ),
    )
    assert steps(composite_schedule(installed, 1, T0, 3600, W)) == [
        (0, 11000.0),
        (600, 7000.0),
        (1200, 11000.0),
    ]


def test_lower_stack_level_shows_before_the_higher_one_starts() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 11000)]),
        profile(2, TXDEFAULT, [(0, 7000)], stack=1, start=T0 + timedelta(seconds=900)),
    )
    assert steps(composite_schedule(installed, 1, T0, 3600, W)) == [(0, 11000.0), (900, 7000.0)]


def test_tx_profile_overrides_a_higher_tx_default_profile() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 11000)], stack=5),
        profile(2, TX, [(0, 5000)], stack=0, transaction_id=42),
    )
    running = [ActiveTransaction(42, 1, T0 - timedelta(minutes=10))]
    assert steps(composite_schedule(installed, 1, T0, 3600, W, transactions=running)) == [
        (0, 5000.0)
    ]


def test_tx_profile_is_ignored_without_its_transaction() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 11000)]),
        profile(2, TX, [(0, 5000)], transaction_id=42),
    )
    other = [ActiveTransaction(43, 1, T0)]
    assert steps(composite_schedule(installed, 1, T0, 3600, W)) == [(0, 11000.0)]
    assert steps(composite_schedule(installed, 1, T0, 3600, W, transactions=other)) == [
        (0, 11000.0)
    ]


def test_tx_profile_from_remote_start_applies_to_the_running_transaction() -> None:
    installed = on(1, profile(1, TXDEFAULT, [(0, 11000)]), profile(2, TX, [(0, 5000)]))
    running = [ActiveTransaction(7, 1, T0)]
    assert steps(composite_schedule(installed, 1, T0, 3600, W, transactions=running)) == [
        (0, 5000.0)
    ]


def test_tx_profile_takes_over_when_its_transaction_starts() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 11000)]),
        profile(2, TX, [(0, 5000)], transaction_id=42),
    )
    later = [ActiveTransaction(42, 1, T0 + timedelta(seconds=300))]
    assert steps(composite_schedule(installed, 1, T0, 3600, W, transactions=later)) == [
        (0, 11000.0),
        (300, 5000.0),
    ]


def test_connector_tx_default_overrides_the_one_on_connector_0() -> None:
    installed = [
        *on(0, profile(1, TXDEFAULT, [(0, 11000)], stack=9)),
        *on(1, profile(2, TXDEFAULT, [(0, 7000)], stack=0, duration=600)),
    ]
    assert steps(composite_schedule(installed, 1, T0, 3600, W, number_of_connectors=2)) == [
        (0, 7000.0),
        (600, 11000.0),
    ]
    assert steps(composite_schedule(installed, 2, T0, 3600, W, number_of_connectors=2)) == [
        (0, 11000.0)
    ]


def test_charge_point_max_profile_caps_interval_by_interval() -> None:
    installed = [
        *on(0, profile(1, CPMAX, [(0, 9000)], start=T0 + timedelta(seconds=600), duration=600)),
        *on(1, profile(2, TXDEFAULT, [(0, 11000)])),
    ]
    assert steps(composite_schedule(installed, 1, T0, 3600, W)) == [
        (0, 11000.0),
        (600, 9000.0),
        (1200, 11000.0),
    ]


def test_charge_point_max_in_amperes_caps_a_limit_in_watts() -> None:
    installed = [
        *on(0, profile(1, CPMAX, [(0, 10)], unit=A)),
        *on(1, profile(2, TXDEFAULT, [(0, 11000)])),
    ]
    # 10 A x 230 V x 3 phases = 6900 W
    assert steps(composite_schedule(installed, 1, T0, 3600, W)) == [(0, 6900.0)]


def test_daily_recurrence_runs_across_midnight() -> None:
    # 20:00 to 02:00 UTC at 5 kW, 11 kW the rest of the day, from 1 March 2026 20:00.
    first = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    installed = on(
        1,
        profile(
            1,
            TXDEFAULT,
            [(0, 5000), (21600, 11000)],
            kind=ChargingProfileKind.RECURRING,
            recurrency=RecurrencyKind.DAILY,
            start=first,
        ),
    )
    late = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    assert steps(composite_schedule(installed, 1, late, 6 * 3600, W)) == [
        (0, 5000.0),
        (3 * 3600, 11000.0),
    ]
    evening = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    assert steps(composite_schedule(installed, 1, evening, 4 * 3600, W)) == [
        (0, 11000.0),
        (2 * 3600, 5000.0),
    ]


def test_recurring_profile_does_not_apply_before_its_start_schedule() -> None:
    first = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    installed = on(
        1,
        profile(
            1,
            TXDEFAULT,
            [(0, 5000)],
            kind=ChargingProfileKind.RECURRING,
            recurrency=RecurrencyKind.DAILY,
            start=first,
        ),
    )
    before = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    assert steps(composite_schedule(installed, 1, before, 4 * 3600, W)) == [
        (0, 33120.0),
        (2 * 3600, 5000.0),
    ]


def test_weekly_recurrence_restarts_at_the_week_boundary() -> None:
    monday = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    sunday_noon = 6 * 86400 + 12 * 3600
    installed = on(
        1,
        profile(
            1,
            TXDEFAULT,
            [(0, 7000), (sunday_noon, 3000)],
            kind=ChargingProfileKind.RECURRING,
            recurrency=RecurrencyKind.WEEKLY,
            start=monday,
        ),
    )
    sunday_late = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    assert steps(composite_schedule(installed, 1, sunday_late, 7200, W)) == [
        (0, 3000.0),
        (3600, 7000.0),
    ]


def test_relative_profile_starts_with_the_transaction() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 3000), (1800, 11000)], kind=ChargingProfileKind.RELATIVE),
    )
    running = [ActiveTransaction(5, 1, T0 - timedelta(seconds=600))]
    assert steps(composite_schedule(installed, 1, T0, 3600, W, transactions=running)) == [
        (0, 3000.0),
        (1200, 11000.0),
    ]


def test_relative_profile_without_transaction_starts_at_the_request() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 3000), (1800, 11000)], kind=ChargingProfileKind.RELATIVE),
    )
    assert steps(composite_schedule(installed, 1, T0, 3600, W)) == [(0, 3000.0), (1800, 11000.0)]


def test_connector_0_is_the_sum_of_connectors_capped_by_charge_point_max() -> None:
    installed = [
        *on(0, profile(1, TXDEFAULT, [(0, 11000)])),
        *on(0, profile(2, CPMAX, [(0, 13000)], start=T0 + timedelta(seconds=600))),
        *on(2, profile(3, TXDEFAULT, [(0, 4000)])),
    ]
    assert steps(composite_schedule(installed, 0, T0, 3600, W, number_of_connectors=2)) == [
        (0, 15000.0),
        (600, 13000.0),
    ]


def test_connector_0_without_profiles_sums_the_connector_defaults() -> None:
    assert steps(composite_schedule([], 0, T0, 3600, W, number_of_connectors=2)) == [(0, 66240.0)]


def test_amperes_convert_with_the_period_number_of_phases() -> None:
    installed = on(1, profile(1, TXDEFAULT, [(0, 16, 1), (600, 16, 3)], unit=A))
    schedule = composite_schedule(installed, 1, T0, 3600, W)
    assert schedule.periods == (
        ChargingSchedulePeriod(0, 3680.0, 1),
        ChargingSchedulePeriod(600, 11040.0, 3),
    )


def test_watts_convert_to_amperes_with_the_supply_voltage() -> None:
    installed = on(1, profile(1, TXDEFAULT, [(0, 7360)]))
    supply = SupplyConfig(voltage=230.0, phases=1)
    assert steps(composite_schedule(installed, 1, T0, 3600, A, supply=supply)) == [(0, 32.0)]


def test_equal_neighbouring_periods_are_merged() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 11000)]),
        profile(2, TXDEFAULT, [(0, 11000), (300, 11000.04)], stack=1, duration=600),
    )
    assert steps(composite_schedule(installed, 1, T0, 3600, W)) == [(0, 11000.0)]


def test_composite_renders_the_get_composite_schedule_conf() -> None:
    installed = on(
        1,
        profile(1, TXDEFAULT, [(0, 11000)]),
        profile(2, TXDEFAULT, [(0, 7000, 3)], stack=1, duration=1800),
    )
    assert composite_schedule(installed, 1, T0, 3600, W).to_ocpp() == {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": "2026-03-02T08:00:00Z",
        "chargingSchedule": {
            "duration": 3600,
            "startSchedule": "2026-03-02T08:00:00Z",
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 7000.0, "numberPhases": 3},
                {"startPeriod": 1800, "limit": 11000.0},
            ],
        },
    }
