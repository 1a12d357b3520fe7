"""Reading and writing the exact OCPP 1.6 JSON of a charging profile."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.domain.profiles import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    ProfileFormatError,
    RecurrencyKind,
)

RECURRING_JSON: dict[str, Any] = {
    "chargingProfileId": 12,
    "stackLevel": 1,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Recurring",
    "recurrencyKind": "Daily",
    "validFrom": "2026-03-01T00:00:00Z",
    "chargingSchedule": {
        "duration": 86400,
        "startSchedule": "2026-03-28T23:00:00Z",
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 11000.0, "numberPhases": 3},
            {"startPeriod": 61200, "limit": 3700.5},
        ],
        "minChargingRate": 1400.0,
    },
}


def test_reads_every_field() -> None:
    profile = ChargingProfile.from_ocpp(RECURRING_JSON)
    assert profile == ChargingProfile(
        charging_profile_id=12,
        stack_level=1,
        purpose=ChargingProfilePurpose.TX_DEFAULT_PROFILE,
        kind=ChargingProfileKind.RECURRING,
        recurrency_kind=RecurrencyKind.DAILY,
        valid_from=datetime(2026, 3, 1, tzinfo=UTC),
        schedule=ChargingSchedule(
            charging_rate_unit=ChargingRateUnit.W,
            periods=(
                ChargingSchedulePeriod(0, 11000.0, 3),
                ChargingSchedulePeriod(61200, 3700.5),
            ),
            duration=86400,
            start_schedule=datetime(2026, 3, 28, 23, tzinfo=UTC),
            min_charging_rate=1400.0,
        ),
    )


def test_renders_the_same_json() -> None:
    assert ChargingProfile.from_ocpp(RECURRING_JSON).to_ocpp() == RECURRING_JSON


def test_naive_and_offset_datetimes_become_utc() -> None:
    data = {**RECURRING_JSON, "validFrom": "2026-03-01T01:00:00+01:00", "validTo": "2026-04-01"}
    profile = ChargingProfile.from_ocpp(data)
    assert profile.valid_from == datetime(2026, 3, 1, tzinfo=UTC)
    assert profile.valid_to == datetime(2026, 4, 1, tzinfo=UTC)
    assert profile.to_ocpp()["validTo"] == "2026-04-01T00:00:00Z"


def test_milliseconds_are_rendered_only_when_present() -> None:
    start = datetime(2026, 3, 29, 1, tzinfo=UTC) + timedelta(milliseconds=250)
    profile = ChargingProfile.from_ocpp(RECURRING_JSON)
    schedule = ChargingSchedule(ChargingRateUnit.A, (ChargingSchedulePeriod(0, 16.0),), None, start)
    rendered = ChargingProfile(1, 0, profile.purpose, profile.kind, schedule).to_ocpp()
    assert rendered["chargingSchedule"]["startSchedule"] == "2026-03-29T01:00:00.250Z"


def test_limits_render_with_one_decimal() -> None:
    period = ChargingSchedulePeriod(0, 16.04)
    assert period.to_ocpp() == {"startPeriod": 0, "limit": 16.0}


def test_missing_id_is_allowed_with_a_default() -> None:
    data = {k: v for k, v in RECURRING_JSON.items() if k != "chargingProfileId"}
    assert ChargingProfile.from_ocpp(data, default_id=0).charging_profile_id == 0
    assert ChargingProfile.from_ocpp(data, default_id=0).with_id(31).charging_profile_id == 31
    with pytest.raises(ProfileFormatError) as caught:
        ChargingProfile.from_ocpp(data)
    assert [str(v) for v in caught.value.violations] == [
        "chargingProfileId: is required (OCPP 1.6 §7.8)"
    ]


def test_every_unreadable_field_is_reported() -> None:
    data = {
        "chargingProfileId": "12",
        "stackLevel": True,
        "chargingProfilePurpose": "Everything",
        "chargingProfileKind": "Absolute",
        "validTo": "tomorrow",
        "colour": "red",
        "chargingSchedule": {
            "chargingRateUnit": "kW",
            "chargingSchedulePeriod": [{"startPeriod": 0}, {"startPeriod": 1.5, "limit": "x"}],
        },
    }
    with pytest.raises(ProfileFormatError) as caught:
        ChargingProfile.from_ocpp(data)
    assert [str(v) for v in caught.value.violations] == [
        "colour: is not a field of this object (OCPP 1.6 §7.8)",
        "chargingProfileId: must be an integer (OCPP 1.6 §7.8)",
        "stackLevel: must be an integer (OCPP 1.6 §7.8)",
        "chargingProfilePurpose: must be one of ChargePointMaxProfile, TxDefaultProfile, "
        "TxProfile (OCPP 1.6 §7.8)",
        "validTo: must be an ISO 8601 date-time string (OCPP 1.6 §7.8)",
        "chargingSchedule.chargingRateUnit: must be one of A, W (OCPP 1.6 §7.8)",
        "chargingSchedule.chargingSchedulePeriod[0].limit: is required (OCPP 1.6 §7.8)",
        "chargingSchedule.chargingSchedulePeriod[1].startPeriod: must be an integer "
        "(OCPP 1.6 §7.8)",
        "chargingSchedule.chargingSchedulePeriod[1].limit: must be a number (OCPP 1.6 §7.8)",
    ]


def test_missing_schedule_is_reported() -> None:
    data = {k: v for k, v in RECURRING_JSON.items() if k != "chargingSchedule"}
    with pytest.raises(ProfileFormatError, match=r"chargingSchedule: is required"):
        ChargingProfile.from_ocpp(data)


def test_non_finite_limit_is_reported() -> None:
    data = json.loads(json.dumps(RECURRING_JSON))
    data["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = float("inf")
    with pytest.raises(ProfileFormatError) as caught:
        ChargingProfile.from_ocpp(data)
    assert [str(v) for v in caught.value.violations] == [
        "chargingSchedule.chargingSchedulePeriod[0].limit: must be a finite number (OCPP 1.6 §7.8)"
    ]
