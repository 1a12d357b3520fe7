"""Invariants of the smart-charging core, checked on generated profiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.activity import breakpoints, period_at, schedule_anchor
from app.domain.composite import ActiveTransaction, composite_schedule, merge_periods
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
from app.domain.schedule_comparison import limit_at, schedules_match
from app.domain.units import SupplyConfig, convert
from app.domain.validation import validate_profile

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WINDOW = 4 * 3600
PURPOSES = list(ChargingProfilePurpose)
KINDS = list(ChargingProfileKind)
UNITS = list(ChargingRateUnit)

limits = st.integers(0, 200_000).map(lambda n: n / 10)
phases = st.none() | st.integers(1, 3)
instants = st.integers(-3 * 86400, 3 * 86400).map(lambda s: T0 + timedelta(seconds=s))
precise_instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@st.composite
def schedule_periods(draw: st.DrawFn) -> tuple[ChargingSchedulePeriod, ...]:
    gaps = draw(st.lists(st.integers(1, 7200), max_size=4))
    starts = [0]
    for gap in gaps:
        starts.append(starts[-1] + gap)
    return tuple(ChargingSchedulePeriod(s, draw(limits), draw(phases)) for s in starts)


@st.composite
def valid_profiles(
    draw: st.DrawFn,
    purpose: ChargingProfilePurpose | None = None,
    kinds: list[ChargingProfileKind] = KINDS,
) -> tuple[ChargingProfile, int]:
    purpose = purpose or draw(st.sampled_from(PURPOSES))
    allowed = [
        k
        for k in kinds
        if not (
            purpose is ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE
            and k is ChargingProfileKind.RELATIVE
        )
    ]
    kind = draw(st.sampled_from(allowed))
    recurring = kind is ChargingProfileKind.RECURRING
    start = None
    if recurring:
        start = draw(instants)
    elif kind is ChargingProfileKind.ABSOLUTE:
        start = draw(st.none() | instants)
    valid_from = draw(st.none() | instants)
    valid_to = draw(st.none() | instants)
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        valid_to = valid_from + timedelta(hours=1)
    if purpose is ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE:
        connector = 0
    elif purpose is ChargingProfilePurpose.TX_PROFILE:
        connector = draw(st.integers(1, 4))
    else:
        connector = draw(st.integers(0, 4))
    profile = ChargingProfile(
        charging_profile_id=draw(st.integers(0, 10_000)),
        stack_level=draw(st.integers(0, 20)),
        purpose=purpose,
        kind=kind,
        schedule=ChargingSchedule(
            charging_rate_unit=draw(st.sampled_from(UNITS)),
            periods=draw(schedule_periods()),
            duration=draw(st.none() | st.integers(1, 86400)),
            start_schedule=start,
            min_charging_rate=draw(st.none() | limits),
        ),
        transaction_id=(
            draw(st.integers(1, 10_000)) if purpose is ChargingProfilePurpose.TX_PROFILE else None
        ),
        recurrency_kind=draw(st.sampled_from(list(RecurrencyKind))) if recurring else None,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    return profile, connector


@settings(max_examples=100, deadline=None)
@given(valid_profiles())
def test_profile_json_round_trips(generated: tuple[ChargingProfile, int]) -> None:
    profile, connector = generated
    assert validate_profile(profile, connector) == []
    assert ChargingProfile.from_ocpp(profile.to_ocpp()) == profile


@settings(max_examples=100, deadline=None)
@given(
    cap=valid_profiles(ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE),
    others=st.lists(valid_profiles(ChargingProfilePurpose.TX_DEFAULT_PROFILE), max_size=3),
    tx=valid_profiles(ChargingProfilePurpose.TX_PROFILE),
    unit=st.sampled_from(UNITS),
)
def test_limit_never_exceeds_the_charge_point_maximum(
    cap: tuple[ChargingProfile, int],
    others: list[tuple[ChargingProfile, int]],
    tx: tuple[ChargingProfile, int],
    unit: ChargingRateUnit,
) -> None:
    cap_profile = cap[0]
    tx_profile = tx[0]
    installed = [InstalledProfile(0, cap_profile), InstalledProfile(1, tx_profile)]
    installed += [InstalledProfile(c, p) for p, c in others]
    running = [ActiveTransaction(tx_profile.transaction_id or 0, 1, T0 - timedelta(minutes=5))]
    schedule = composite_schedule(installed, 1, T0, WINDOW, unit, transactions=running)
    payload = schedule.to_ocpp()

    anchor = schedule_anchor(cap_profile, T0, None)
    end = T0 + timedelta(seconds=WINDOW)
    points = {T0 + timedelta(seconds=p.start_period) for p in schedule.periods}
    points |= breakpoints(cap_profile, anchor, T0, end)
    for at in points:
        cap_period = period_at(cap_profile, anchor, at)
        if cap_period is None:
            continue
        cap_value = convert(
            cap_period.limit,
            cap_profile.schedule.charging_rate_unit,
            unit,
            number_phases=cap_period.number_phases,
        )
        reported = limit_at(payload, at)
        assert reported is not None
        assert reported <= cap_value + 0.05  # rendered limits are rounded to one decimal
    assert merge_periods(schedule.periods) == schedule.periods
    assert schedules_match(payload, payload)


@settings(max_examples=100, deadline=None)
@given(
    defaults=st.lists(valid_profiles(ChargingProfilePurpose.TX_DEFAULT_PROFILE), max_size=4),
    tx_limit=limits,
    tx_stack=st.integers(0, 20),
)
def test_tx_profile_for_the_running_transaction_decides_over_tx_default(
    defaults: list[tuple[ChargingProfile, int]], tx_limit: float, tx_stack: int
) -> None:
    tx_profile = ChargingProfile(
        charging_profile_id=10_001,
        stack_level=tx_stack,
        purpose=ChargingProfilePurpose.TX_PROFILE,
        kind=ChargingProfileKind.ABSOLUTE,
        schedule=ChargingSchedule(
            ChargingRateUnit.W,
            (ChargingSchedulePeriod(0, tx_limit),),
            start_schedule=T0 - timedelta(hours=1),
        ),
        transaction_id=55,
    )
    installed = [InstalledProfile(c, p) for p, c in defaults]
    installed.append(InstalledProfile(1, tx_profile))
    running = [ActiveTransaction(55, 1, T0 - timedelta(minutes=1))]
    schedule = composite_schedule(
        installed, 1, T0, WINDOW, ChargingRateUnit.W, transactions=running
    )
    assert schedule.periods == (ChargingSchedulePeriod(0, tx_limit),)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            ChargingSchedulePeriod,
            st.integers(0, 10_000),
            st.sampled_from([0.0, 6.0, 16.0, 32.0]),
            st.sampled_from([None, 1, 3]),
        )
    )
)
def test_merging_is_idempotent(periods: list[ChargingSchedulePeriod]) -> None:
    once = merge_periods(periods)
    assert merge_periods(once) == once
    assert all(
        (a.limit, a.number_phases) != (b.limit, b.number_phases)
        for a, b in zip(once, once[1:], strict=False)
    )


@settings(max_examples=100, deadline=None)
@given(
    watts=st.floats(0, 1_000_000, allow_nan=False),
    number_phases=phases,
    voltage=st.floats(100, 480, allow_nan=False),
)
def test_watts_to_amperes_and_back_round_trips(
    watts: float, number_phases: int | None, voltage: float
) -> None:
    supply = SupplyConfig(voltage=voltage)
    amperes = convert(
        watts, ChargingRateUnit.W, ChargingRateUnit.A, number_phases=number_phases, supply=supply
    )
    back = convert(
        amperes, ChargingRateUnit.A, ChargingRateUnit.W, number_phases=number_phases, supply=supply
    )
    assert abs(back - watts) <= 0.1


@settings(max_examples=100, deadline=None)
@given(precise_instants)
def test_instants_round_trip_through_json(instant: datetime) -> None:
    profile = ChargingProfile(
        charging_profile_id=1,
        stack_level=0,
        purpose=ChargingProfilePurpose.TX_DEFAULT_PROFILE,
        kind=ChargingProfileKind.ABSOLUTE,
        schedule=ChargingSchedule(
            ChargingRateUnit.A, (ChargingSchedulePeriod(0, 16.0),), start_schedule=instant
        ),
    )
    assert ChargingProfile.from_ocpp(profile.to_ocpp()) == profile
