"""What a station's own list of its profiles says against the desired rows
(``delivery_rules.read_back``, ``only_lowers``, ``repair_order``), and the 1.6 form of a
2.0.1 profile a station reports (``profiles_v201.to_v16``): one rule per test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.profiles import ChargingProfile, ChargingProfileKind, ChargingRateUnit
from app.domain.profiles_v201 import (
    ChargingProfile201,
    ChargingProfilePurpose201,
    ChargingSchedule201,
    ChargingSchedulePeriod201,
    ConversionError,
    from_v16,
    to_v16,
)
from app.domain.states import DeliveryState
from app.json_types import JsonObject
from app.services.delivery.delivery_rules import (
    ReadBack,
    blocking,
    only_lowers,
    read_back,
    repair_order,
)
from app.services.ports import StationProfile

SENT = datetime(2030, 1, 7, 8, 0, 5, tzinfo=UTC)


@dataclass
class Row:
    id: int
    connector_id: int
    profile: JsonObject
    state: DeliveryState = DeliveryState.ACCEPTED
    next_attempt_at: datetime | None = None

    @property
    def charging_profile_id(self) -> int:
        return int(self.profile["chargingProfileId"])

    @property
    def purpose(self) -> str:
        return str(self.profile["chargingProfilePurpose"])


def profile(profile_id: int, limit: float, *, purpose: str = "TxDefaultProfile",
            stack: int = 0, **extra: Any) -> JsonObject:
    return {"chargingProfileId": profile_id, "stackLevel": stack,
            "chargingProfilePurpose": purpose, "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": limit}]}, **extra}


def as_held(row: Row, connector_id: int | None = None) -> StationProfile:
    """The row as a 2.0.1 station holds it after it was sent at SENT and read back."""
    sent = from_v16(ChargingProfile.from_ocpp(row.profile), sent_at=SENT)
    return StationProfile(row.connector_id if connector_id is None else connector_id,
                          row.charging_profile_id, to_v16(sent))


def test_a_station_holding_what_was_sent_shows_no_drift() -> None:
    rows = [Row(1, 1, profile(11, 16)), Row(2, 0, profile(12, 32, purpose="ChargePointMaxProfile"))]
    # The start the station gave an Absolute profile sent without one is no difference.
    assert read_back(rows, [as_held(r) for r in rows], {}) == ReadBack()


def test_an_acknowledged_profile_the_station_lacks_is_missing() -> None:
    rows = [Row(1, 1, profile(11, 16)), Row(2, 2, profile(12, 10))]
    assert read_back(rows, [as_held(rows[1])], {}) == ReadBack(missing=(1,))


def test_a_profile_not_acknowledged_yet_is_left_to_its_delivery() -> None:
    rows = [Row(1, 1, profile(11, 16), DeliveryState.PENDING),
            Row(2, 1, profile(12, 16, stack=1), DeliveryState.REJECTED)]
    assert read_back(rows, [], {}) == ReadBack()


def test_a_profile_held_with_other_limits_or_elsewhere_is_different() -> None:
    rows = [Row(1, 1, profile(11, 16)), Row(2, 2, profile(12, 10))]
    changed = Row(1, 1, profile(11, 20))
    assert read_back(rows, [as_held(changed), as_held(rows[1], connector_id=1)], {}) == (
        ReadBack(different=(1, 2)))


def test_a_profile_in_a_form_chargeplan_never_sends_is_different() -> None:
    rows = [Row(1, 1, profile(11, 16))]
    assert read_back(rows, [StationProfile(1, 11, None)], {}) == ReadBack(different=(1,))


def test_a_held_profile_no_desired_row_asks_for_is_extra() -> None:
    rows = [Row(1, 1, profile(11, 16))]
    held = [as_held(rows[0]), StationProfile(2, 99, None)]
    assert read_back(rows, held, {}) == ReadBack(extra=(99,))


def test_a_tx_profile_counts_only_for_the_running_transaction() -> None:
    row = Row(1, 1, profile(11, 16, purpose="TxProfile", transactionId=7))
    assert read_back([row], [], {1: 8}) == ReadBack()
    assert read_back([row], [], {1: 7}) == ReadBack(missing=(1,))


def test_a_cap_that_replaces_nothing_only_lowers() -> None:
    cap = Row(1, 0, profile(11, 32, purpose="ChargePointMaxProfile"))
    assert only_lowers(cap, [])
    # A default the station lacks may raise a session its TxProfile bounds no more.
    assert not only_lowers(Row(2, 1, profile(12, 16)), [])


def test_a_lower_profile_replacing_one_of_the_same_kind_only_lowers() -> None:
    held = as_held(Row(1, 1, profile(11, 16)))
    assert only_lowers(Row(1, 1, profile(11, 10)), [held])
    assert not only_lowers(Row(1, 1, profile(11, 20)), [held])
    # Replaced by stackLevel and purpose on its connector, not only by id.
    assert only_lowers(Row(2, 1, profile(12, 10)), [held])
    # Valid for less time: after it ends the station would apply less than before.
    assert not only_lowers(Row(1, 1, profile(11, 10, validTo="2030-01-08T00:00:00Z")),
                           [held])
    assert not only_lowers(Row(1, 1, profile(11, 10)), [StationProfile(1, 11, None)])


def test_repairs_lower_first_then_raise_each_caps_first() -> None:
    cap = Row(3, 0, profile(13, 32, purpose="ChargePointMaxProfile"))
    lower = Row(1, 1, profile(11, 10))
    raise_ = Row(2, 2, profile(12, 20))
    tx = Row(4, 1, profile(14, 6, purpose="TxProfile", stack=1, transactionId=7))
    held = [as_held(Row(1, 1, profile(11, 16))), as_held(Row(2, 2, profile(12, 16)))]
    lowering, raising = repair_order([tx, raise_, lower, cap], held)
    assert [r.id for r in lowering] == [3, 1]
    assert [r.id for r in raising] == [2, 4]


def profile_201(**changes: Any) -> ChargingProfile201:
    base: dict[str, Any] = {
        "charging_profile_id": 5, "stack_level": 1,
        "purpose": ChargingProfilePurpose201.TX_DEFAULT_PROFILE,
        "kind": ChargingProfileKind.ABSOLUTE,
        "schedules": (ChargingSchedule201(ChargingRateUnit.A,
                                          (ChargingSchedulePeriod201(0, 16.0),),
                                          start_schedule=SENT, id=1),)}
    return ChargingProfile201(**{**base, **changes})


def test_a_reported_profile_has_the_16_form_it_was_sent_in() -> None:
    sent = ChargingProfile.from_ocpp(profile(11, 16, purpose="ChargePointMaxProfile"))
    back = to_v16(from_v16(sent, sent_at=SENT))
    assert back.purpose is sent.purpose and back.schedule.periods == sent.schedule.periods
    assert back.schedule.start_schedule == SENT
    tx = to_v16(profile_201(purpose=ChargingProfilePurpose201.TX_PROFILE,
                            transaction_id="tx-1"), transaction_id=42)
    assert tx.transaction_id == 42


@pytest.mark.parametrize(("changes", "field"), [
    ({"purpose": ChargingProfilePurpose201.CHARGING_STATION_EXTERNAL_CONSTRAINTS},
     "chargingProfilePurpose"),
    ({"schedules": (profile_201().schedule, profile_201().schedule)}, "chargingSchedule"),
    ({"schedules": (ChargingSchedule201(ChargingRateUnit.A,
                                        (ChargingSchedulePeriod201(0, 16.0, 1, 2),),
                                        start_schedule=SENT, id=1),)},
     "chargingSchedule.chargingSchedulePeriod.phaseToUse"),
    # The station's transaction is not known here: no 1.6 id to name it by.
    ({"purpose": ChargingProfilePurpose201.TX_PROFILE, "transaction_id": "tx-9"},
     "transactionId"),
])
def test_a_reported_profile_without_a_16_form_is_refused(changes: dict[str, Any],
                                                         field: str) -> None:
    with pytest.raises(ConversionError) as refused:
        to_v16(profile_201(**changes))
    assert [v.path for v in refused.value.violations] == [field]


def test_drift_is_repaired_up_to_the_limit_then_unresolved_once() -> None:
    from app.domain.states import VerificationState as V
    from app.services.delivery.delivery_rules import DriftDecision, drift_decision

    assert drift_decision(True, 0, 3, None) == DriftDecision(repair=True, repairs=1)
    assert drift_decision(True, 2, 3, V.DRIFT) == DriftDecision(repair=True, repairs=3)
    assert drift_decision(True, 3, 3, V.DRIFT) == DriftDecision(
        repair=False, repairs=3, unresolved=True, newly=True)
    # Counted once per station: a later look at an unresolved station is not news.
    assert drift_decision(True, 3, 3, V.DRIFT_UNRESOLVED).newly is False
    assert drift_decision(True, 0, 0, None).unresolved


def test_a_clean_look_resets_the_count() -> None:
    from app.domain.states import VerificationState as V
    from app.services.delivery.delivery_rules import DriftDecision, drift_decision

    assert drift_decision(False, 3, 3, V.DRIFT_UNRESOLVED) == DriftDecision(
        repair=False, repairs=0)


def held_as(connector_id: int, raw: JsonObject) -> StationProfile:
    return StationProfile(connector_id, int(raw["chargingProfileId"]),
                          ChargingProfile.from_ocpp(raw))


def test_an_extra_blocks_a_row_only_on_its_stack_level_purpose_and_evse() -> None:
    row = Row(1, 1, profile(5, 16.0))
    same_place = held_as(1, profile(9001, 6.0))
    assert blocking([row], [same_place], {9001}, SENT) == [9001]
    # Another stack level, purpose or EVSE: both may be held (K01.FR.06).
    for other in (held_as(1, profile(9001, 6.0, stack=1)),
                  held_as(2, profile(9001, 6.0)),
                  held_as(1, profile(9001, 6.0, purpose="TxProfile", transactionId=3))):
        assert blocking([row], [other], {9001}, SENT) == []
    # One a desired row asks for is no extra, whatever it holds.
    assert blocking([row], [same_place], set(), SENT) == []


def test_an_extra_valid_at_another_time_does_not_block() -> None:
    row = Row(1, 1, profile(5, 16.0, validFrom="2030-01-08T00:00:00Z"))
    before = held_as(1, profile(9001, 6.0, validTo="2030-01-07T12:00:00Z"))
    assert blocking([row], [before], {9001}, SENT) == []


def test_a_tx_profile_is_blocked_by_one_of_its_transaction_on_its_stack_level() -> None:
    row = Row(1, 1, profile(5, 16.0, purpose="TxProfile", transactionId=3))
    assert blocking([row], [held_as(1, profile(9001, 6.0, purpose="TxProfile",
                                               transactionId=3))], {9001}, SENT) == [9001]
    assert blocking([row], [held_as(1, profile(9001, 6.0, purpose="TxProfile",
                                               transactionId=4))], {9001}, SENT) == []
