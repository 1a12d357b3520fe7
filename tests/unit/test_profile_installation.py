"""Which profiles a charge point holds after SetChargingProfile and ClearChargingProfile."""

from __future__ import annotations

from app.domain.installation import InstalledProfile, clear, install
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
)

TXDEFAULT = ChargingProfilePurpose.TX_DEFAULT_PROFILE
CPMAX = ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE


def installed(
    connector_id: int,
    profile_id: int,
    *,
    stack: int = 0,
    purpose: ChargingProfilePurpose = TXDEFAULT,
) -> InstalledProfile:
    return InstalledProfile(
        connector_id,
        ChargingProfile(
            charging_profile_id=profile_id,
            stack_level=stack,
            purpose=purpose,
            kind=ChargingProfileKind.ABSOLUTE,
            schedule=ChargingSchedule(ChargingRateUnit.W, (ChargingSchedulePeriod(0, 1000.0),)),
        ),
    )


def ids(items: tuple[InstalledProfile, ...]) -> list[int]:
    return [item.profile.charging_profile_id for item in items]


def test_a_new_profile_is_added_after_the_others() -> None:
    outcome = install([installed(1, 1)], installed(1, 2, stack=1))
    assert outcome.accepted
    assert ids(outcome.installed) == [1, 2]
    assert outcome.replaced == ()


def test_same_profile_id_replaces_on_any_connector() -> None:
    old = installed(1, 7, stack=0)
    outcome = install([old, installed(2, 8)], installed(2, 7, stack=3))
    assert ids(outcome.installed) == [8, 7]
    assert outcome.replaced == (old,)


def test_same_connector_stack_level_and_purpose_replaces() -> None:
    old = installed(1, 1, stack=2)
    outcome = install([old], installed(1, 2, stack=2))
    assert ids(outcome.installed) == [2]
    assert outcome.replaced == (old,)


def test_same_stack_level_on_another_connector_or_purpose_is_kept() -> None:
    outcome = install(
        [installed(0, 1, stack=2), installed(1, 2, stack=2, purpose=CPMAX)],
        installed(1, 3, stack=2),
    )
    assert ids(outcome.installed) == [1, 2, 3]


def test_refused_when_the_station_is_full() -> None:
    before = [installed(1, 1), installed(1, 2, stack=1)]
    outcome = install(before, installed(1, 3, stack=2), max_profiles=2)
    assert not outcome.accepted
    assert ids(outcome.installed) == [1, 2]
    assert outcome.reason == (
        "the station already holds 2 charging profiles (MaxChargingProfilesInstalled = 2)"
    )


def test_a_replacement_fits_a_full_station() -> None:
    before = [installed(1, 1), installed(1, 2, stack=1)]
    outcome = install(before, installed(1, 2, stack=5), max_profiles=2)
    assert outcome.accepted
    assert ids(outcome.installed) == [1, 2]


STATION = (
    installed(0, 1, purpose=CPMAX),
    installed(0, 2),
    installed(1, 3),
    installed(1, 4, stack=1),
    installed(2, 5, stack=1),
)


def test_clear_by_id_ignores_the_other_fields() -> None:
    outcome = clear(STATION, profile_id=4, connector_id=2, stack_level=0)
    assert ids(outcome.removed) == [4]
    assert ids(outcome.installed) == [1, 2, 3, 5]


def test_clear_combines_the_given_fields() -> None:
    assert ids(clear(STATION, connector_id=1).removed) == [3, 4]
    assert ids(clear(STATION, stack_level=1).removed) == [4, 5]
    assert ids(clear(STATION, purpose=TXDEFAULT, connector_id=0).removed) == [2]
    assert ids(clear(STATION, connector_id=1, stack_level=1, purpose=TXDEFAULT).removed) == [4]


def test_clear_without_fields_removes_everything() -> None:
    outcome = clear(STATION)
    assert ids(outcome.removed) == [1, 2, 3, 4, 5]
    assert outcome.installed == ()


def test_clear_matching_nothing_removes_nothing() -> None:
    outcome = clear(STATION, profile_id=99)
    assert outcome.removed == ()
    assert outcome.installed == STATION
