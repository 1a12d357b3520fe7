"""One check of a desired profile (kept in its 1.6 form) by the rules of the version its
station speaks: 1.6 as before, 2.0.1 as it is sent, named as the 1.6 form spells it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.domain.installation import InstalledProfile
from app.domain.profiles import ChargingProfile, ChargingRateUnit
from app.domain.protocol_rules import POLICY, V16, V201, ProtocolRules
from app.domain.validation import (
    StationLimits,
    validate_as_sent,
    validate_profile,
    validate_remote_start_as_sent,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def raw(**changes: Any) -> dict[str, Any]:
    """A valid 1.6 TxDefaultProfile, with ``changes``."""
    data: dict[str, Any] = {
        "chargingProfileId": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"chargingRateUnit": "A",
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}}
    data.update(changes)
    return data


def broken(data: dict[str, Any], rules: ProtocolRules, connector_id: int = 1,
           **kwargs: Any) -> set[tuple[str, str]]:
    found = validate_as_sent(ChargingProfile.from_ocpp(data), connector_id, rules=rules,
                             sent_at=T0, **kwargs)
    return {(v.path, v.reference) for v in found}


def test_a_16_station_gets_the_16_rules_unchanged() -> None:
    tx = raw(chargingProfilePurpose="TxProfile")
    profile = ChargingProfile.from_ocpp(tx)
    assert validate_as_sent(profile, 1, rules=V16) == validate_profile(profile, 1)
    assert broken(tx, V16) == {("transactionId", "OCPP 1.6 §5.16")}


def test_a_tx_profile_without_transaction_cites_k01_fr_03_on_a_201_station() -> None:
    assert broken(raw(chargingProfilePurpose="TxProfile"), V201) == {
        ("transactionId", "OCPP 2.0.1 Part 2 K01.FR.03")}
    assert broken(raw(chargingProfilePurpose="TxProfile", transactionId=5), V201) == set()


def test_201_paths_are_named_as_the_16_form_spells_them() -> None:
    periods = [{"startPeriod": 0, "limit": 16}, {"startPeriod": 0, "limit": 8}]
    found = broken(raw(chargingSchedule={"chargingRateUnit": "W",
                                         "chargingSchedulePeriod": periods}), V201, 3,
                   limits=StationLimits(allowed_units=frozenset({ChargingRateUnit.A}),
                                        number_of_connectors=2))
    assert found == {
        ("chargingSchedule.chargingSchedulePeriod[1].startPeriod",
         "OCPP 2.0.1 Part 2 K01.FR.35"),
        ("chargingSchedule.chargingRateUnit", "OCPP 2.0.1 Part 2 K01.FR.26"),
        ("connectorId", "OCPP 2.0.1 Part 2 K01.FR.28")}
    # The same profile on a 1.6 station: its own sections (increasing periods are policy).
    assert ("chargingSchedule.chargingRateUnit", "OCPP 1.6 §9.4") in broken(
        raw(chargingSchedule={"chargingRateUnit": "W", "chargingSchedulePeriod": periods}),
        V16, limits=StationLimits(allowed_units=frozenset({ChargingRateUnit.A})))
    assert ("chargingSchedule.chargingSchedulePeriod[1].startPeriod", POLICY) in broken(
        raw(chargingSchedule={"chargingRateUnit": "A", "chargingSchedulePeriod": periods}),
        V16)


def test_an_absolute_profile_is_started_when_sent_as_the_adapter_does() -> None:
    profile = ChargingProfile.from_ocpp(raw())
    assert validate_as_sent(profile, 1, rules=V201, sent_at=T0) == []
    # Nothing to start it from: the conversion's own refusal, in the 1.6 spelling.
    assert {(v.path, v.reference) for v in validate_as_sent(profile, 1, rules=V201)} == {
        ("chargingSchedule.startSchedule", "OCPP 2.0.1 Part 2 K01.FR.40")}


def held(profile_id: int, connector_id: int = 1, **changes: Any) -> InstalledProfile:
    return InstalledProfile(connector_id,
                            ChargingProfile.from_ocpp(raw(chargingProfileId=profile_id,
                                                          **changes)))


def test_a_201_station_is_not_sent_a_second_profile_on_its_stack_level() -> None:
    assert broken(raw(chargingProfileId=8), V201, held=[held(7)]) == {
        ("stackLevel", "OCPP 2.0.1 Part 2 K01.FR.06")}
    # Another connector, purpose or stack level, or validity that does not overlap: none.
    assert broken(raw(chargingProfileId=8), V201, held=[held(7, 2)]) == set()
    assert broken(raw(chargingProfileId=8), V201, held=[held(7, stackLevel=2)]) == set()
    assert broken(raw(chargingProfileId=8, validFrom="2026-03-03T00:00:00Z"), V201,
                  held=[held(7, validTo="2026-03-03T00:00:00Z")]) == set()
    # A 1.6 charger replaces the other one (OCPP 1.6 §5.16.3): nothing to refuse.
    assert broken(raw(chargingProfileId=8), V16, held=[held(7)]) == set()


def test_a_201_tx_profile_clashes_by_stack_level_and_transaction() -> None:
    tx = {"chargingProfilePurpose": "TxProfile", "transactionId": 5}
    assert broken(raw(chargingProfileId=8, **tx), V201, held=[held(7, **tx)]) == {
        ("stackLevel", "OCPP 2.0.1 Part 2 K01.FR.39")}
    assert broken(raw(chargingProfileId=8, **tx), V201,
                  held=[held(7, chargingProfilePurpose="TxProfile", transactionId=6)]) == set()


def remote_start_broken(data: dict[str, Any], rules: ProtocolRules, connector_id: int = 1,
                        **kwargs: Any) -> set[tuple[str, str]]:
    found = validate_remote_start_as_sent(ChargingProfile.from_ocpp(data), connector_id,
                                          rules=rules, sent_at=T0, **kwargs)
    return {(v.path, v.reference) for v in found}


def test_a_remote_start_tx_profile_needs_no_transaction_on_either_version() -> None:
    tx = raw(chargingProfilePurpose="TxProfile")
    assert remote_start_broken(tx, V16) == set()
    # Not K01.FR.03: RequestStartTransaction's profile cannot name the transaction it starts.
    assert remote_start_broken(tx, V201) == set()


def test_a_remote_start_tx_profile_naming_a_transaction_is_refused_on_either_version() -> None:
    tx = raw(chargingProfilePurpose="TxProfile", transactionId=5)
    assert remote_start_broken(tx, V16) == {("transactionId", "OCPP 1.6 errata §3.41")}
    assert remote_start_broken(tx, V201) == {("transactionId", POLICY)}


def test_a_remote_start_profile_on_a_201_station_is_checked_by_the_201_rules() -> None:
    tx = raw(chargingProfilePurpose="TxProfile",
             chargingSchedule={"chargingRateUnit": "W",
                               "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000}]})
    limits = StationLimits(allowed_units=frozenset({ChargingRateUnit.A}), number_of_connectors=2)
    assert remote_start_broken(tx, V201, 3, limits=limits) == {
        ("chargingSchedule.chargingRateUnit", "OCPP 2.0.1 Part 2 K01.FR.26"),
        ("connectorId", "OCPP 2.0.1 Part 2 K01.FR.28")}
    # The same on a 1.6 station, by its own sections.
    assert remote_start_broken(tx, V16, 3, limits=limits) == {
        ("chargingSchedule.chargingRateUnit", "OCPP 1.6 §9.4"),
        ("connectorId", "OCPP 1.6 §3.8")}
