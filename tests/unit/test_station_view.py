"""What a station's reported capabilities let through (station_view.view_of)."""

from __future__ import annotations

from typing import Any

from app.db.models import Station
from app.domain.profiles import ChargingRateUnit
from app.domain.protocol_rules import V16, V201, OcppVersion
from app.services.delivery.station_view import view_of


def station(version: OcppVersion, **columns: Any) -> Station:
    return Station(id="S", ocpp_version=version, **columns)


def test_a_16_station_without_smart_charging_is_ruled_out() -> None:
    view = view_of(station(OcppVersion.V16, supported_feature_profiles="Core"), [1])
    assert view.smart_charging is False


def test_a_201_station_with_smart_charging_switched_off_is_sent_to_with_a_warning() -> None:
    view = view_of(station(OcppVersion.V201, supported_feature_profiles=""), [1])
    assert view.smart_charging is None
    assert any("SmartChargingCtrlr.Enabled read false" in w for w in view.warnings)


def test_limits_no_profile_could_meet_are_not_checked_whatever_the_version() -> None:
    for version in OcppVersion:
        view = view_of(station(
            version, supported_feature_profiles="Core,SmartCharging",
            charge_profile_max_stack_level=0, charging_schedule_allowed_charging_rate_unit="0",
            charging_schedule_max_periods=0, max_charging_profiles_installed=0), [1])
        limits = view.limits
        assert (limits.max_stack_level, limits.allowed_units, limits.max_periods,
                limits.max_profiles) == (0, None, None, None)
        names = {OcppVersion.V16: ["ChargingScheduleAllowedChargingRateUnit",
                                   "ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled"],
                 OcppVersion.V201: ["SmartChargingCtrlr.RateUnit",
                                    "SmartChargingCtrlr.PeriodsPerSchedule",
                                    "SmartChargingCtrlr.Entries"]}[version]
        assert [w.split(" that ")[0] for w in view.warnings if "no profile can meet" in w] == [
            f"station reported {name}" for name in names]


def test_what_a_station_never_reported_is_named_as_its_version_names_it() -> None:
    assert view_of(station(OcppVersion.V16), [1]).warnings == [
        f"station never reported {name}: not checked" for name in (
            "SupportedFeatureProfiles", "ChargeProfileMaxStackLevel",
            "ChargingScheduleAllowedChargingRateUnit", "ChargingScheduleMaxPeriods",
            "MaxChargingProfilesInstalled")]
    assert view_of(station(OcppVersion.V201), [1]).warnings == [
        f"station never reported {name}: not checked" for name in (
            "SmartChargingCtrlr.Enabled", "SmartChargingCtrlr.ProfileStackLevel",
            "SmartChargingCtrlr.RateUnit", "SmartChargingCtrlr.PeriodsPerSchedule",
            "SmartChargingCtrlr.Entries")]


def test_sensible_limits_are_kept() -> None:
    view = view_of(station(
        OcppVersion.V201, supported_feature_profiles="SmartCharging",
        charging_schedule_allowed_charging_rate_unit="Current",
        charging_schedule_max_periods=24, max_charging_profiles_installed=16), [1])
    assert (view.limits.allowed_units, view.limits.max_periods, view.limits.max_profiles) == (
        frozenset({ChargingRateUnit.A}), 24, 16)
    assert view.smart_charging is True


def test_a_station_is_checked_by_the_rules_of_the_version_it_last_spoke() -> None:
    assert view_of(station(OcppVersion.V16), [1]).rules is V16
    assert view_of(station(OcppVersion.V201), [1]).rules is V201
    # Registered, never connected: no version yet, so 1.6 (the column's default).
    assert view_of(Station(id="S"), [1]).rules is V16
