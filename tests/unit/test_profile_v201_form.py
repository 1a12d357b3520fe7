"""A profile a user sends in its OCPP 2.0.1 form: the 1.6 form it is kept in
(:func:`kept_form`), and the 1.6 field names of a refusal spelled as that request spells
them (:func:`v201_path`, :func:`in_v201_request`)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.profiles import ChargingProfile, ChargingProfilePurpose
from app.domain.profiles_v201 import (
    ChargingProfile201,
    ConversionError,
    from_v16,
    kept_form,
    to_v16_resolved,
    v201_path,
)
from app.services.delivery.managed_profiles import in_v201_request


def form(**changes: Any) -> dict[str, Any]:
    return {"id": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [{"id": 4, "startSchedule": "2026-01-01T00:00:00Z",
                                  "chargingRateUnit": "A", "duration": 7200,
                                  "minChargingRate": 6.0, "chargingSchedulePeriod": [
                                      {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
                                      {"startPeriod": 3600, "limit": 8.0}]}],
            **changes}


def nobody(_: str) -> int | None:
    return None


def kept(data: dict[str, Any], transaction_of: Any = nobody) -> ChargingProfile:
    return kept_form(ChargingProfile201.from_ocpp(data), data, transaction_of)


def refused(data: dict[str, Any], transaction_of: Any = nobody) -> list[tuple[str, str]]:
    with pytest.raises(ConversionError) as caught:
        kept(data, transaction_of)
    return [(v.path, v.reference) for v in caught.value.violations]


@pytest.mark.parametrize(("v16", "v201"), [
    ("chargingProfileId", "id"),
    ("connectorId", "evseId"),
    ("chargingSchedule", "chargingSchedule[0]"),
    ("chargingSchedule.chargingRateUnit", "chargingSchedule[0].chargingRateUnit"),
    ("chargingSchedule.chargingSchedulePeriod[1].limit",
     "chargingSchedule[0].chargingSchedulePeriod[1].limit"),
    ("stackLevel", "stackLevel"),
    ("transactionId", "transactionId"),
    ("validTo", "validTo"),
    ("", ""),
])
def test_a_16_field_is_named_as_the_201_form_spells_it(v16: str, v201: str) -> None:
    assert v201_path(v16) == v201


@pytest.mark.parametrize(("request_16", "request_201"), [
    ("connector_id", "evse_id"),
    ("profile", "charging_profile"),
    ("profile.chargingProfileId", "charging_profile.id"),
    ("profile.chargingSchedule", "charging_profile.chargingSchedule[0]"),
    ("profile.chargingSchedule.chargingSchedulePeriod[0].startPeriod",
     "charging_profile.chargingSchedule[0].chargingSchedulePeriod[0].startPeriod"),
    ("profile.transactionId", "charging_profile.transactionId"),
    ("station_id", "station_id"),
])
def test_a_refusal_of_the_16_request_is_named_as_the_201_request_spells_it(
        request_16: str, request_201: str) -> None:
    assert in_v201_request(request_16) == request_201


def test_the_kept_form_means_the_same_profile_and_is_sent_as_it_came() -> None:
    data = form()
    profile = kept(data)
    assert profile.to_ocpp() == {
        "chargingProfileId": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"duration": 7200, "startSchedule": "2026-01-01T00:00:00Z",
                             "chargingRateUnit": "A", "minChargingRate": 6.0,
                             "chargingSchedulePeriod": [
                                 {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
                                 {"startPeriod": 3600, "limit": 8.0}]}}
    # Sent back as 2.0.1, only the schedule's id is not kept (a 1.6 profile has none).
    sent = from_v16(profile).to_ocpp()
    assert sent == {**data, "chargingSchedule": [{**data["chargingSchedule"][0], "id": 1}]}


def test_a_tx_profile_names_the_transaction_transaction_of_knows() -> None:
    data = form(chargingProfilePurpose="TxProfile", transactionId="b7c4-tx")
    profile = kept(data, {"b7c4-tx": 42}.get)
    assert (profile.purpose, profile.transaction_id) == (ChargingProfilePurpose.TX_PROFILE, 42)
    assert refused(data) == [("transactionId", "")]
    # The read-back resolves a station's string the same way.
    assert to_v16_resolved(ChargingProfile201.from_ocpp(data),
                           {"b7c4-tx": 42}.get).transaction_id == 42


def test_what_the_16_form_cannot_keep_is_refused_naming_every_201_field() -> None:
    data = form(chargingProfilePurpose="ChargingStationExternalConstraints",
                transactionId="gone")
    schedule = data["chargingSchedule"][0]
    schedule["salesTariff"] = {"id": 1, "salesTariffEntry": []}
    schedule["chargingSchedulePeriod"][1].update(numberPhases=1, phaseToUse=2)
    data["chargingSchedule"] = [schedule, {**schedule, "id": 5}]
    assert refused(data) == [
        ("chargingProfilePurpose", "OCPP 2.0.1 Part 2 K01.FR.22"),
        ("chargingSchedule", "chargeplan policy"),
        ("chargingSchedule[0].salesTariff", "chargeplan policy"),
        ("chargingSchedule[1].salesTariff", "chargeplan policy"),
        ("chargingSchedule[0].chargingSchedulePeriod[1].phaseToUse", "chargeplan policy"),
        ("chargingSchedule[1].chargingSchedulePeriod[1].phaseToUse", "chargeplan policy"),
        ("transactionId", ""),
    ]


def test_a_profile_without_a_schedule_is_refused() -> None:
    assert refused(form(chargingSchedule=[])) == [("chargingSchedule", "chargeplan policy")]
