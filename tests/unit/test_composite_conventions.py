"""How chargers answer GetCompositeSchedule where OCPP 1.6 is silent (one convention
rule per test), and what verification reads from an answer: only the instants a profile
bounds are compared, the rest is the charger's own value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.composite import NO_LIMIT, ActiveTransaction, Convention, composite_answer
from app.domain.installation import InstalledProfile
from app.domain.profiles import ChargingProfileKind, RecurrencyKind, render_limit
from app.domain.schedule_comparison import explains, explanation, unconstrained_in
from app.domain.states import DeliveryState
from app.domain.units import SupplyConfig, convert
from app.services.delivery.delivery_rules import to_push
from tests.unit.test_composite_schedule import CPMAX, T0, TX, TXDEFAULT, A, W, profile


def limits(answer: dict[str, object]) -> list[tuple[int, float]]:
    schedule = answer["chargingSchedule"]
    assert isinstance(schedule, dict)
    return [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedulePeriod"]]


HOUR_7KW = InstalledProfile(1, profile(1, TXDEFAULT, [(0, 7000)], duration=3600))


def test_strict_fills_unbounded_time_with_the_station_maximum() -> None:
    answer = composite_answer([HOUR_7KW], 1, T0, 7200, W, station_max_w=22080)
    assert limits(answer.to_ocpp()) == [(0, 7000), (3600, 22080)]
    assert [p.limit for p in answer.periods] == [7000, None]


def test_libocpp_fills_unbounded_time_with_48_amperes() -> None:
    answer = composite_answer([HOUR_7KW], 1, T0, 7200, W, convention=Convention.LIBOCPP,
                              station_max_w=22080)
    assert limits(answer.to_ocpp()) == [(0, 7000), (3600, 33120)]


def test_microocpp_reports_no_limit_as_minus_one() -> None:
    tx = ActiveTransaction(5, 1, T0)
    answer = composite_answer([HOUR_7KW], 1, T0, 7200, W, convention=Convention.MICROOCPP,
                              transactions=[tx])
    assert limits(answer.to_ocpp()) == [(0, 7000), (3600, NO_LIMIT)]


def test_microocpp_counts_a_default_only_during_a_transaction() -> None:
    answer = composite_answer([HOUR_7KW], 1, T0, 7200, W, convention=Convention.MICROOCPP)
    assert not answer.bounded


def test_open_ocpp_covers_only_the_bounded_instants() -> None:
    answer = composite_answer([HOUR_7KW], 1, T0, 7200, W, convention=Convention.OPEN_OCPP)
    body = answer.to_ocpp()
    assert body["chargingSchedule"]["duration"] == 3600
    assert body["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 7000, "numberPhases": 3}]


def test_open_ocpp_rejects_a_gap_between_profiles() -> None:
    later = InstalledProfile(1, profile(2, TXDEFAULT, [(0, 5000)], stack=1,
                                        start=T0 + timedelta(hours=2)))
    answer = composite_answer([HOUR_7KW, later], 1, T0, 4 * 3600, W,
                              convention=Convention.OPEN_OCPP)
    assert answer.to_ocpp() == {"status": "Rejected"}


def test_open_ocpp_leaves_the_charge_point_maximum_out() -> None:
    cap = InstalledProfile(0, profile(3, CPMAX, [(0, 4000)]))
    strict = composite_answer([HOUR_7KW, cap], 1, T0, 3600, W)
    open_ocpp = composite_answer([HOUR_7KW, cap], 1, T0, 3600, W,
                                 convention=Convention.OPEN_OCPP)
    assert limits(strict.to_ocpp()) == [(0, 4000)]
    assert limits(open_ocpp.to_ocpp()) == [(0, 7000)]


def test_libocpp_applies_a_tx_profile_without_a_transaction() -> None:
    tx = InstalledProfile(1, profile(4, TX, [(0, 3000)], transaction_id=9))
    assert not composite_answer([tx], 1, T0, 60, W).bounded
    assert limits(composite_answer([tx], 1, T0, 60, W, convention=Convention.LIBOCPP)
                  .to_ocpp()) == [(0, 3000)]


def test_libocpp_runs_a_recurrence_backwards_before_its_start() -> None:
    daily = InstalledProfile(1, profile(5, TXDEFAULT, [(0, 6000)], duration=3600,
                                        kind=ChargingProfileKind.RECURRING,
                                        recurrency=RecurrencyKind.DAILY,
                                        start=T0 + timedelta(days=2)))
    assert not composite_answer([daily], 1, T0, 60, W).bounded
    assert limits(composite_answer([daily], 1, T0, 60, W, convention=Convention.LIBOCPP)
                  .to_ocpp()) == [(0, 6000)]


def test_libocpp_converts_with_230_volts_and_the_lowest_active_phases() -> None:
    one_phase = InstalledProfile(1, profile(6, TXDEFAULT, [(0, 16, 1)], unit=A))
    answer = composite_answer([one_phase], 1, T0, 60, W, convention=Convention.LIBOCPP,
                              supply=SupplyConfig(voltage=240))
    assert limits(answer.to_ocpp()) == [(0, 3680)]  # 16 A x 230 V x 1 phase


def test_a_converted_limit_is_rounded_down_never_up() -> None:
    assert render_limit(convert(20000, W, A)) == 28.9
    assert render_limit(convert(29, A, A)) == 29.0
    capped = InstalledProfile(1, profile(7, TXDEFAULT, [(0, 20000)]))
    assert limits(composite_answer([capped], 1, T0, 60, A).to_ocpp()) == [(0, 28.9)]


def test_only_bounded_instants_are_compared() -> None:
    expected = composite_answer([HOUR_7KW], 1, T0, 7200, W, station_max_w=33120)
    reported = composite_answer([HOUR_7KW], 1, T0, 7200, W, station_max_w=22080).to_ocpp()
    assert explains(expected, reported)
    assert unconstrained_in(expected, reported) == 22080


def test_a_limit_not_applied_is_not_explained() -> None:
    expected = composite_answer([HOUR_7KW], 1, T0, 7200, W)
    ignored = composite_answer([], 1, T0, 7200, W, station_max_w=22080).to_ocpp()
    assert not explains(expected, ignored)


def test_a_station_maximum_below_the_limit_is_the_limit_applied() -> None:
    high = InstalledProfile(1, profile(8, TXDEFAULT, [(0, 30000)]))
    expected = composite_answer([high], 1, T0, 60, W)
    reported = composite_answer([], 1, T0, 60, W, station_max_w=22080).to_ocpp()
    assert not explains(expected, reported)
    assert explains(expected, reported, unconstrained=22080)


def test_microocpp_does_not_explain_a_value_where_it_would_say_no_limit() -> None:
    expected = composite_answer([HOUR_7KW], 1, T0, 7200, W, convention=Convention.MICROOCPP)
    idle = composite_answer([], 1, T0, 7200, W, station_max_w=22080).to_ocpp()
    assert not explains(expected, idle)
    minus_one = composite_answer([], 1, T0, 7200, W, convention=Convention.MICROOCPP).to_ocpp()
    assert explains(expected, minus_one)


def test_microocpp_does_not_explain_an_answer_that_leaves_the_window_out() -> None:
    # An idle MicroOcpp charger does not count a TxDefaultProfile, and says so with -1 over
    # the whole window. An answer covering none of it (open-ocpp's when it holds no
    # profile: a charger that ignored the one it accepted) is not that.
    expected = composite_answer([HOUR_7KW], 1, T0, 7200, W, convention=Convention.MICROOCPP)
    assert not expected.bounded
    nothing = composite_answer([], 1, T0, 7200, W, station_max_w=22080).to_ocpp()
    nothing["chargingSchedule"]["duration"] = 0  # type: ignore[index]
    assert not explains(expected, nothing)
    candidates = [composite_answer([HOUR_7KW], 1, T0, 7200, W, convention=c)
                  for c in Convention]
    assert explanation(candidates, nothing, known=None) is None


def test_connector_0_is_compared_only_where_a_profile_bounds_every_connector() -> None:
    # Connector 2 has no profile of its own: without a cap the sum depends on what it
    # draws (the charger's own value); a cap bounds every connector, so then it does not.
    default_1 = InstalledProfile(1, profile(2, TXDEFAULT, [(0, 7000)]))
    assert not composite_answer([default_1], 0, T0, 60, W, number_of_connectors=2).bounded
    cap = InstalledProfile(0, profile(1, CPMAX, [(0, 9000)]))
    capped = composite_answer([cap, default_1], 0, T0, 60, W, number_of_connectors=2)
    assert [p.limit for p in capped.periods] == [9000]
    ignored = composite_answer([default_1], 0, T0, 60, W, number_of_connectors=2,
                               station_max_w=22080).to_ocpp()
    assert not explains(capped, ignored)


TX_WITHOUT_TRANSACTION = InstalledProfile(1, profile(4, TX, [(0, 3000)], transaction_id=9))


def test_of_two_conventions_explaining_an_answer_the_more_specific_is_recorded() -> None:
    # Strict bounds nothing while no transaction runs, so it explains anything; libocpp
    # bounds the whole minute and explains this answer too: libocpp says more.
    reported = composite_answer([TX_WITHOUT_TRANSACTION], 1, T0, 60, W,
                                convention=Convention.LIBOCPP).to_ocpp()
    candidates = [composite_answer([TX_WITHOUT_TRANSACTION], 1, T0, 60, W, convention=c)
                  for c in (Convention.STRICT, Convention.LIBOCPP)]
    assert all(explains(c, reported) for c in candidates)
    found = explanation(candidates, reported, known=None)
    assert found is not None and found.convention is Convention.LIBOCPP


def test_the_stations_recorded_convention_wins_when_it_explains_the_answer() -> None:
    reported = composite_answer([TX_WITHOUT_TRANSACTION], 1, T0, 60, W,
                                convention=Convention.LIBOCPP).to_ocpp()
    candidates = [composite_answer([TX_WITHOUT_TRANSACTION], 1, T0, 60, W, convention=c)
                  for c in (Convention.STRICT, Convention.LIBOCPP)]
    found = explanation(candidates, reported, known=Convention.STRICT)
    assert found is not None and found.convention is Convention.STRICT
    assert explanation(candidates[:1], {"status": "Rejected"}, known=None) is None


@dataclass
class Row:
    id: int
    charging_profile_id: int
    connector_id: int
    profile: dict[str, Any]
    purpose: str
    state: DeliveryState = DeliveryState.PENDING
    next_attempt_at: datetime | None = None


def test_a_tx_profile_goes_only_for_the_connectors_running_transaction() -> None:
    old = Row(1, 1, 1, {"transactionId": 7}, "TxProfile")
    current = Row(2, 2, 1, {"transactionId": 8}, "TxProfile")
    default = Row(3, 3, 1, {}, "TxDefaultProfile")
    chosen = to_push([old, current, default], {}, T0, force=False, push_all=False,
                     running={1: 8})
    assert [r.id for r in chosen] == [3, 2]
