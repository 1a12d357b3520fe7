"""OCPP 2.0.1 profiles: reading, K01 validation, what a station holds, conversion from 1.6."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.installation import clear, install
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    ProfileFormatError,
)
from app.domain.profiles_v201 import (
    ChargingLimitSource,
    ChargingProfile201,
    ChargingProfilePurpose201,
    ConversionError,
    EvseProfile,
    from_v16,
    select_profiles,
)
from app.domain.protocol_rules import POLICY, V201
from app.domain.validation import StationLimits, validate_profile_v201

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def raw(**changes: Any) -> dict[str, Any]:
    """A valid TxDefaultProfile as a central system sends it, with ``changes``."""
    data: dict[str, Any] = {
        "id": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [{"id": 1, "startSchedule": "2026-03-02T08:00:00Z",
                              "chargingRateUnit": "A",
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}]}
    data.update(changes)
    return data


def schedule(**changes: Any) -> list[dict[str, Any]]:
    first: dict[str, Any] = dict(raw()["chargingSchedule"][0])
    first.update(changes)
    return [first]


def broken(data: dict[str, Any], evse_id: int = 1, **kwargs: Any) -> set[tuple[str, str]]:
    """(field, reference) of every rule the profile breaks."""
    found = validate_profile_v201(ChargingProfile201.from_ocpp(data), evse_id, **kwargs)
    return {(v.path, v.reference) for v in found}


def test_json_is_read_and_written_back_exactly() -> None:
    data = raw(chargingSchedule=[
        {"id": 1, "startSchedule": "2026-03-02T08:00:00Z", "chargingRateUnit": "A",
         "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0, "numberPhases": 1,
                                     "phaseToUse": 2}]},
        {"id": 2, "startSchedule": "2026-03-02T08:00:00Z", "chargingRateUnit": "W",
         "duration": 600, "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}]}])

    profile = ChargingProfile201.from_ocpp(data)

    assert profile.to_ocpp() == data
    assert profile.schedule.charging_rate_unit is ChargingRateUnit.A  # the first one


def test_unreadable_json_names_every_field() -> None:
    with pytest.raises(ProfileFormatError) as error:
        ChargingProfile201.from_ocpp(raw(transactionId=5, chargingProfilePurpose="Max",
                                         chargingSchedule=[{"chargingRateUnit": "A"}]))
    assert {v.path for v in error.value.violations} == {
        "transactionId", "chargingProfilePurpose", "chargingSchedule[0].id",
        "chargingSchedule[0].chargingSchedulePeriod"}


def test_a_valid_profile_breaks_nothing() -> None:
    assert broken(raw()) == set()


@pytest.mark.parametrize(("data", "evse_id", "expected"), [
    (raw(chargingSchedule=schedule(chargingSchedulePeriod=[{"startPeriod": 5, "limit": 6}])),
     1, ("chargingSchedule[0].chargingSchedulePeriod[0].startPeriod",
         "OCPP 2.0.1 Part 2 K01.FR.31")),
    (raw(chargingSchedule=schedule(chargingSchedulePeriod=[
        {"startPeriod": 0, "limit": 6}, {"startPeriod": 0, "limit": 8}])),
     1, ("chargingSchedule[0].chargingSchedulePeriod[1].startPeriod",
         "OCPP 2.0.1 Part 2 K01.FR.35")),
    (raw(chargingSchedule=schedule(startSchedule=None)),
     1, ("chargingSchedule[0].startSchedule", "OCPP 2.0.1 Part 2 K01.FR.40")),
    (raw(chargingProfileKind="Relative"),
     1, ("chargingSchedule[0].startSchedule", "OCPP 2.0.1 Part 2 K01.FR.41")),
    (raw(chargingProfilePurpose="ChargingStationExternalConstraints"),
     0, ("chargingProfilePurpose", "OCPP 2.0.1 Part 2 K01.FR.22")),
    (raw(chargingProfilePurpose="TxProfile", transactionId="tx-1"),
     0, ("chargingProfilePurpose", "OCPP 2.0.1 Part 2 K01.FR.16")),
    (raw(chargingProfilePurpose="TxProfile"),
     1, ("transactionId", "OCPP 2.0.1 Part 2 K01.FR.03")),
    (raw(transactionId="tx-1"),
     1, ("transactionId", "OCPP 2.0.1 Part 2 ChargingProfileType")),
    (raw(chargingProfilePurpose="ChargingStationMaxProfile"),
     1, ("chargingProfilePurpose", POLICY)),
    (raw(stackLevel=-1), 1, ("stackLevel", "OCPP 2.0.1 Part 2 ChargingProfileType")),
    (raw(chargingSchedule=schedule(chargingSchedulePeriod=[
        {"startPeriod": 0, "limit": 16.25}])),
     1, ("chargingSchedule[0].chargingSchedulePeriod[0].limit",
         "OCPP 2.0.1 Part 2 ChargingSchedulePeriodType")),
    (raw(chargingSchedule=schedule(chargingSchedulePeriod=[
        {"startPeriod": 0, "limit": 16, "phaseToUse": 1}])),
     1, ("chargingSchedule[0].chargingSchedulePeriod[0].phaseToUse",
         "OCPP 2.0.1 Part 2 ChargingSchedulePeriodType")),
    (raw(chargingSchedule=schedule() * 4),
     1, ("chargingSchedule", "OCPP 2.0.1 Part 2 ChargingProfileType")),
    (raw(), 3, ("evseId", "OCPP 2.0.1 Part 2 K01.FR.28")),
])
def test_each_k01_rule_names_its_field_and_requirement(
        data: dict[str, Any], evse_id: int, expected: tuple[str, str]) -> None:
    assert expected in broken(data, evse_id, limits=StationLimits(number_of_connectors=2))


def test_relative_station_maximum_is_refused() -> None:
    data = raw(chargingProfilePurpose="ChargingStationMaxProfile",
               chargingProfileKind="Relative", chargingSchedule=schedule(startSchedule=None))
    assert broken(data, 0) == {("chargingProfileKind", "OCPP 2.0.1 Part 2 K01.FR.38")}


def test_station_variables_bound_unit_periods_and_stack_level() -> None:
    limits = StationLimits(max_stack_level=2, allowed_units=frozenset({ChargingRateUnit.W}),
                           max_periods=1)
    data = raw(stackLevel=3, chargingSchedule=schedule(chargingSchedulePeriod=[
        {"startPeriod": 0, "limit": 6}, {"startPeriod": 60, "limit": 8}]))

    found = validate_profile_v201(ChargingProfile201.from_ocpp(data), 1, limits)

    assert {(v.path, v.reference) for v in found} == {
        ("stackLevel", "OCPP 2.0.1 Part 2 SmartChargingCtrlr"),
        ("chargingSchedule[0].chargingRateUnit", "OCPP 2.0.1 Part 2 K01.FR.26"),
        ("chargingSchedule[0].chargingSchedulePeriod", "OCPP 2.0.1 Part 2 SmartChargingCtrlr")}
    assert "SmartChargingCtrlr.RateUnit (W)" in " ".join(v.rule for v in found)


def test_a_tx_profile_must_name_the_transaction_running_on_its_evse() -> None:
    data = raw(chargingProfilePurpose="TxProfile", transactionId="tx-9")
    assert ("transactionId", "OCPP 2.0.1 Part 2 K01.FR.09") in broken(
        data, transactions={1: "tx-1"})
    assert broken(data, transactions={1: "tx-9"}) == set()


def test_a_second_profile_on_the_same_stack_purpose_and_evse_is_not_sent() -> None:
    held = [EvseProfile(1, ChargingProfile201.from_ocpp(raw(id=3)))]
    assert broken(raw(id=4), installed=held) == {("stackLevel", "OCPP 2.0.1 Part 2 K01.FR.06")}
    # The same id replaces: nothing to refuse. Another EVSE: no conflict.
    assert broken(raw(id=3), installed=held) == set()
    assert broken(raw(id=4), 2, installed=held) == set()


def test_a_second_tx_profile_on_the_same_stack_and_transaction_is_not_sent() -> None:
    tx = raw(chargingProfilePurpose="TxProfile", transactionId="tx-1")
    held = [EvseProfile(1, ChargingProfile201.from_ocpp({**tx, "id": 3}))]
    assert broken({**tx, "id": 4}, installed=held) == {
        ("stackLevel", "OCPP 2.0.1 Part 2 K01.FR.39")}


def held(evse_id: int, profile_id: int, *, stack: int = 1, purpose: str = "TxDefaultProfile",
         source: ChargingLimitSource = ChargingLimitSource.CSO) -> EvseProfile:
    return EvseProfile(evse_id, ChargingProfile201.from_ocpp(
        raw(id=profile_id, stackLevel=stack, chargingProfilePurpose=purpose)), source)


def test_a_station_replaces_by_id_and_by_stack_level_purpose_and_evse() -> None:
    station = [held(1, 1), held(2, 2), held(1, 3, stack=2)]

    by_id = install(station, held(2, 1, stack=5), rules=V201)
    by_stack = install(station, held(1, 9), rules=V201)

    assert [(h.evse_id, h.profile.charging_profile_id) for h in by_id.installed] == [
        (2, 2), (1, 3), (2, 1)]
    assert [(h.evse_id, h.profile.charging_profile_id) for h in by_stack.installed] == [
        (2, 2), (1, 3), (1, 9)]


def test_external_constraints_are_neither_replaced_nor_cleared_by_the_central_system() -> None:
    grid = held(0, 1, purpose="ChargingStationExternalConstraints",
                source=ChargingLimitSource.SO)

    replaced = install([grid], held(0, 1), rules=V201)
    cleared = clear([grid], rules=V201)
    by_purpose = clear([grid], purpose=grid.profile.purpose, rules=V201)

    assert [h.profile.purpose for h in replaced.installed] == [
        ChargingProfilePurpose201.CHARGING_STATION_EXTERNAL_CONSTRAINTS,
        ChargingProfilePurpose201.TX_DEFAULT_PROFILE]
    assert cleared.removed == () and by_purpose.removed == ()


def test_get_charging_profiles_selects_by_id_or_by_every_criterion() -> None:
    station = [held(0, 1), held(1, 2), held(1, 3, stack=4),
               held(0, 4, purpose="ChargingStationExternalConstraints",
                    source=ChargingLimitSource.EMS)]

    def ids(found: tuple[EvseProfile, ...]) -> list[int]:
        return [h.profile.charging_profile_id for h in found]

    assert ids(select_profiles(station, profile_ids=[3, 4])) == [3, 4]
    assert ids(select_profiles(station, evse_id=1, stack_level=4)) == [3]
    assert ids(select_profiles(station, sources=[ChargingLimitSource.EMS])) == [4]
    assert ids(select_profiles(station)) == [1, 2, 3, 4]


def v16(purpose: ChargingProfilePurpose, *, start: datetime | None = T0,
        transaction_id: int | None = None) -> ChargingProfile:
    return ChargingProfile(
        charging_profile_id=11, stack_level=2, purpose=purpose,
        kind=ChargingProfileKind.ABSOLUTE, transaction_id=transaction_id,
        schedule=ChargingSchedule(ChargingRateUnit.W, (ChargingSchedulePeriod(0, 11000.0),
                                                        ChargingSchedulePeriod(3600, 7400.0, 1)),
                                  start_schedule=start))


def test_a_1_6_station_maximum_converts_to_a_2_0_1_one() -> None:
    converted = from_v16(v16(ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE))

    assert converted.to_ocpp() == {
        "id": 11, "stackLevel": 2, "chargingProfilePurpose": "ChargingStationMaxProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [{"id": 1, "startSchedule": "2026-03-02T08:00:00Z",
                              "chargingRateUnit": "W", "chargingSchedulePeriod": [
                                  {"startPeriod": 0, "limit": 11000.0},
                                  {"startPeriod": 3600, "limit": 7400.0, "numberPhases": 1}]}]}
    assert validate_profile_v201(converted, 0) == []


def test_a_1_6_tx_profile_needs_the_station_s_transaction_id() -> None:
    profile = v16(ChargingProfilePurpose.TX_PROFILE, transaction_id=12)

    with pytest.raises(ConversionError) as error:
        from_v16(profile)

    assert [(v.path, v.reference) for v in error.value.violations] == [
        ("transactionId", "OCPP 2.0.1 Part 2 K01.FR.03")]
    assert from_v16(profile, transaction_id="a1b2").transaction_id == "a1b2"


def test_an_absolute_1_6_profile_without_start_gets_the_instant_it_is_sent() -> None:
    profile = v16(ChargingProfilePurpose.TX_DEFAULT_PROFILE, start=None)

    with pytest.raises(ConversionError) as error:
        from_v16(profile)
    assert [v.path for v in error.value.violations] == ["chargingSchedule.startSchedule"]

    sent = from_v16(profile, sent_at=T0)
    assert sent.schedule.start_schedule == T0
    later = from_v16(dataclasses.replace(profile, valid_from=T0.replace(hour=9)), sent_at=T0)
    assert later.schedule.start_schedule == T0.replace(hour=9)
