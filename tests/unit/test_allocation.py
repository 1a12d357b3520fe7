"""Circuit allocation worked out by hand: one rule of app/domain/allocation.py per case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.allocation import (
    CapWindow,
    Circuit,
    LimitWindow,
    Period,
    Session,
    Site,
    allocate,
    grid_phases,
    timeline,
)
from app.domain.demand import (
    DemandState,
    HeldLimit,
    demand_cap,
    held_limit,
    next_demand,
    over_limit,
)

T0 = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
ALL = ("L1", "L2", "L3")


def node(
    node_id: str, amps: float | tuple[float, float, float], parent: str | None = None, **kw: object
) -> Circuit:
    per_phase = amps if isinstance(amps, tuple) else (amps, amps, amps)
    return Circuit(node_id, parent, per_phase, **kw)  # type: ignore[arg-type]


def car(
    car_id: str,
    under: str = "main",
    max_a: float = 32,
    phases: tuple[str, ...] = ALL,
    *,
    minutes: int = 0,
    **kw: object,
) -> Session:
    return Session(
        car_id,
        under,
        phases,
        kw.pop("min_current_a", 6.0),  # type: ignore[arg-type]
        max_a,
        plugged_in_at=T0 - timedelta(minutes=60 - minutes),
        **kw,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Case:
    name: str
    circuits: tuple[Circuit, ...]
    sessions: tuple[Session, ...]
    expected: dict[str, tuple[float, str]]  # session -> (limit, binding)


CASES = [
    Case(
        "weights 1 and 2 on 50 A: the heavier car reaches its cap, the other takes the rest",
        (node("main", 50),),
        (car("A", weight=1), car("B", weight=2)),
        {"A": (18.0, "main L1"), "B": (32.0, "cap")},
    ),
    Case(
        "35 A among three cars: floored to 0.1 A, leftover steps in admission order",
        (node("main", 35),),
        (car("A"), car("B", minutes=1), car("C", minutes=2)),
        {"A": (11.7, "main L1"), "B": (11.7, "main L1"), "C": (11.6, "main L1")},
    ),
    Case(
        "a third minimum does not fit on 16 A: it gets 0 and the reason, the two share",
        (node("main", 16),),
        (car("A"), car("B", minutes=1), car("C", minutes=2)),
        {"A": (8.0, "main L1"), "B": (8.0, "main L1"), "C": (0.0, "not admitted: main L1")},
    ),
    Case(
        "admission follows priority, not arrival",
        (node("main", 10),),
        (car("early"), car("urgent", minutes=30, priority=1)),
        {"urgent": (10.0, "main L1"), "early": (0.0, "not admitted: main L1")},
    ),
    Case(
        "admission ties: weight, then plugged_in_at, then id",
        (node("main", 12),),
        (
            car("b", minutes=5),
            car("a", minutes=5),
            car("heavy", minutes=9, weight=2),
            car("first", minutes=0),
        ),
        {
            "heavy": (6.0, "main L1"),
            "first": (6.0, "main L1"),
            "a": (0.0, "not admitted: main L1"),
            "b": (0.0, "not admitted: main L1"),
        },
    ),
    Case(
        "a higher tier fills first while the lower one holds its minimum",
        (node("main", 20),),
        (car("low"), car("high", priority=1)),
        {"high": (14.0, "main L1"), "low": (6.0, "main L1")},
    ),
    Case(
        "the lower tier shares what the higher one leaves",
        (node("main", 40),),
        (car("low"), car("high", priority=1)),
        {"high": (32.0, "cap"), "low": (8.0, "main L1")},
    ),
    Case(
        "nested: the garage's L1 binds its car, the main feeds the rest to the other",
        (node("main", 40), node("garage", (16, 32, 32), "main")),
        (car("in_garage", "garage"), car("outside", "main", minutes=1)),
        {"in_garage": (16.0, "garage L1"), "outside": (24.0, "main L1")},
    ),
    Case(
        "per phase: single-phase cars on different phases do not share",
        (node("main", 20),),
        (car("l1", phases=("L1",)), car("l2", phases=("L2",), minutes=1)),
        {"l1": (20.0, "main L1"), "l2": (20.0, "main L2")},
    ),
    Case(
        "per phase: a three-phase car shares the phase where the single-phase cars are",
        (node("main", 30),),
        (car("three"), car("one", phases=("L2",), minutes=1), car("other", phases=("L2",))),
        {"three": (10.0, "main L2"), "one": (10.0, "main L2"), "other": (10.0, "main L2")},
    ),
    Case(
        "kW: power is current x voltage x phases drawn on",
        (node("main", 100, max_power_w=11040),),
        (car("three"), car("one", phases=("L1",), minutes=1)),
        {"three": (12.0, "main kW"), "one": (12.0, "main kW")},
    ),
    Case(
        "kW counts the other load's power",
        (node("main", 100, max_power_w=22080, other_load_a=(16, 0, 0)),),
        (car("three"),),
        {"three": (26.6, "main kW")},
    ),
    Case(
        "imbalance binds single-phase cars only, each when its own phase reaches it",
        (node("main", 63, max_imbalance_a=10, other_load_a=(2, 0, 0)),),
        (
            car("on_l1", phases=("L1",)),
            car("on_l2", phases=("L2",), minutes=1),
            car("three", max_a=16, minutes=2),
        ),
        {
            "on_l1": (8.0, "main imbalance"),
            "on_l2": (10.0, "main imbalance"),
            "three": (16.0, "cap"),
        },
    ),
    Case(
        "imbalance refuses a single-phase car on the loaded phase, not a three-phase one",
        (node("main", 63, max_imbalance_a=10, other_load_a=(10, 0, 0)),),
        (car("on_l1", phases=("L1",)), car("three", max_a=16, minutes=1)),
        {"on_l1": (0.0, "not admitted: main imbalance"), "three": (16.0, "cap")},
    ),
    Case(
        "a demand cap frees current for the others",
        (node("main", 32),),
        (car("tapering", demand_cap_a=10), car("hungry", minutes=1)),
        {"tapering": (10.0, "cap"), "hungry": (22.0, "main L1")},
    ),
    Case(
        "a demand cap below the minimum still gives the minimum",
        (node("main", 32),),
        (car("nearly_full", demand_cap_a=2), car("hungry", minutes=1)),
        {"nearly_full": (6.0, "cap"), "hungry": (26.0, "main L1")},
    ),
    Case(
        "the margin is kept free",
        (node("main", 32, margin_a=2),),
        (car("A"),),
        {"A": (30.0, "main L1")},
    ),
    Case(
        "other load above the limit admits nobody on that phase",
        (node("main", 32, other_load_a=(40, 0, 0)),),
        (car("three"), car("on_l2", phases=("L2",), minutes=1)),
        {"three": (0.0, "not admitted: main L1"), "on_l2": (32.0, "cap")},
    ),
    Case(
        "the nearest circuit is named first when both bind",
        (node("main", 20), node("garage", 20, "main")),
        (car("A", "garage"),),
        {"A": (20.0, "garage L1")},
    ),
    Case(
        "a minimum that is not on the 0.1 A grid is rounded up, never offered below it",
        (node("main", 12.1),),
        (car("A", min_current_a=6.05), car("B", min_current_a=6.05, minutes=1)),
        {"A": (12.1, "main L1"), "B": (0.0, "not admitted: main L1")},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case) -> None:
    solved = allocate(Site(case.circuits, case.sessions), T0)
    got = {k: (v.limit_a, v.binding) for k, v in solved.sessions.items()}
    assert got == case.expected


def test_a_cap_equal_to_the_minimum_is_its_binding() -> None:
    solved = allocate(Site((node("main", 100),), (car("A", max_a=6),)), T0)
    assert (solved.sessions["A"].limit_a, solved.sessions["A"].binding) == (6.0, "cap")


def test_not_admitted_names_the_first_failing_circuit_from_the_session_up() -> None:
    site = Site((node("main", 5), node("garage", 5, "main")), (car("A", "garage"),))
    share = allocate(site, T0).sessions["A"]
    assert (share.limit_a, share.binding, share.admitted) == (0.0, "not admitted: garage L1", False)


def test_loads_and_headroom_count_sessions_and_other_load() -> None:
    site = Site(
        (node("main", 63, other_load_a=(20, 10, 10)), node("garage", (25, 32, 32), "main")),
        (car("EV1", "garage"), car("solo", "main", phases=("L3",), max_a=10)),
    )
    circuits = allocate(site, T0).circuits
    assert circuits["garage"].load_a == (25.0, 25.0, 25.0)
    assert circuits["garage"].headroom_a == (0.0, 7.0, 7.0)
    assert circuits["main"].load_a == (45.0, 35.0, 45.0)
    assert circuits["main"].headroom_a == (18.0, 28.0, 18.0)


def test_a_single_phase_car_can_gain_when_another_arrives_on_a_different_phase() -> None:
    # Max-min fairness under per-phase limits is not monotone: the newcomer on L2 lowers the
    # three-phase car, and the L1 car takes the current that frees on L1.
    before = Site(
        (node("main", 30),),
        (car("one", phases=("L1",)), car("three", minutes=1), car("l2", phases=("L2",))),
    )
    after = Site(before.circuits, (*before.sessions, car("new", phases=("L2",), minutes=2)))
    assert allocate(before, T0).sessions["one"].limit_a == 15.0
    assert allocate(after, T0).sessions["one"].limit_a == 20.0
    assert allocate(after, T0).sessions["three"].limit_a == 10.0


# --- safe share --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("circuits", "expected"),
    [
        ((node("main", 63, connector_count=6),), 10.5),
        ((node("main", (40, 63, 63), connector_count=6),), 6.6),
        ((node("main", 63, connector_count=6, margin_a=3),), 10.0),
        ((node("main", 63, connector_count=12),), 0.0),  # 5.25 A is below the 6 A minimum
        ((node("main", 63),), None),
        (
            (node("main", 100, connector_count=4), node("garage", 32, "main", connector_count=3)),
            10.6,
        ),
        ((node("main", 64, connector_count=8), node("garage", 32, "main", connector_count=2)), 8.0),
    ],
)
def test_safe_share_is_the_smallest_per_connector_share_above(
    circuits: tuple[Circuit, ...], expected: float | None
) -> None:
    under = circuits[-1].id
    solved = allocate(Site(circuits, (car("A", under),)), T0)
    assert solved.sessions["A"].safe_share_a == expected


def test_safe_share_ignores_other_load() -> None:
    site = Site((node("main", 63, connector_count=6, other_load_a=(50, 50, 50)),), (car("A"),))
    assert allocate(site, T0).sessions["A"].safe_share_a == 10.5


# --- phase rotation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rotation", "station_phases", "grid"),
    [
        ("RST", (1,), ("L1",)),
        ("RTS", (1, 2), ("L1", "L3")),
        ("SRT", (1,), ("L2",)),
        ("STR", (1,), ("L2",)),
        ("STR", (3,), ("L1",)),
        ("TRS", (1,), ("L3",)),
        ("TSR", (2,), ("L2",)),
        ("TSR", (1, 2, 3), ("L1", "L2", "L3")),
    ],
)
def test_phase_rotation_maps_station_phases_to_grid_phases(
    rotation: str, station_phases: tuple[int, ...], grid: tuple[str, ...]
) -> None:
    assert grid_phases(rotation, station_phases) == grid


def test_rotated_single_phase_cars_spread_over_the_grid() -> None:
    cars = tuple(
        car(f"c{n}", phases=grid_phases(rotation, (1,)), minutes=n)
        for n, rotation in enumerate(("RST", "STR", "TRS"))
    )
    solved = allocate(Site((node("main", 16),), cars), T0)
    assert [s.limit_a for s in solved.sessions.values()] == [16.0, 16.0, 16.0]


# --- windows and timeline ----------------------------------------------------------------


def window(start_h: float, end_h: float, amps: float) -> LimitWindow:
    return LimitWindow(
        T0 + timedelta(hours=start_h), T0 + timedelta(hours=end_h), (amps, amps, amps)
    )


def test_issue_example_timeline() -> None:
    main = node(
        "main", 63, other_load_a=(20, 10, 10), connector_count=6, limits=(window(1, 4, 30),)
    )
    site = Site((main, node("garage", (25, 32, 32), "main")), (car("EV1", "garage"),))
    solved, periods = timeline(site, T0, 86400)
    ev1 = solved.sessions["EV1"]
    assert (ev1.limit_a, ev1.binding, ev1.safe_share_a) == (25.0, "garage L1", 10.5)
    assert periods["EV1"] == (Period(0, 25.0), Period(3600, 10.0), Period(14400, 25.0))


def test_window_in_force_at_the_start_replaces_the_limit() -> None:
    site = Site((node("main", 63, limits=(window(-1, 1, 20),)),), (car("A"),))
    solved, periods = timeline(site, T0, 7200)
    assert (solved.sessions["A"].limit_a, solved.sessions["A"].binding) == (20.0, "main L1")
    assert periods["A"] == (Period(0, 20.0), Period(3600, 32.0))


def test_overlapping_windows_the_lowest_wins() -> None:
    site = Site((node("main", 63, limits=(window(0, 2, 20), window(1, 3, 10))),), (car("A"),))
    _, periods = timeline(site, T0, 4 * 3600)
    assert periods["A"] == (Period(0, 20.0), Period(3600, 10.0), Period(10800, 32.0))


def test_boundaries_beyond_the_horizon_are_left_out_and_equal_periods_merge() -> None:
    site = Site((node("main", 63, limits=(window(1, 2, 40), window(3, 30, 10))),), (car("A"),))
    _, periods = timeline(site, T0, 4 * 3600)
    assert periods["A"] == (Period(0, 32.0), Period(10800, 10.0))


def test_a_window_can_pause_a_session() -> None:
    site = Site((node("main", 63, limits=(window(1, 2, 4),)),), (car("A"),))
    _, periods = timeline(site, T0, 3 * 3600)
    assert periods["A"] == (Period(0, 32.0), Period(3600, 0.0), Period(7200, 32.0))


def test_a_window_may_also_limit_power() -> None:
    limited = LimitWindow(T0, T0 + timedelta(hours=1), (63, 63, 63), max_power_w=6900)
    site = Site((node("main", 63, limits=(limited,)),), (car("A"),))
    share = allocate(site, T0).sessions["A"]
    assert (share.limit_a, share.binding) == (10.0, "main kW")


# --- the model refuses what it cannot solve ----------------------------------------------


@pytest.mark.parametrize(
    ("circuits", "sessions", "message"),
    [
        ((node("a", 10), node("a", 10)), (), "unique"),
        ((node("a", 10, "nope"),), (), "unknown parent"),
        ((node("a", 10, "b"), node("b", 10, "a")), (), "cycle"),
        ((node("a", 10),), (car("x", "zzz"),), "unknown circuit"),
        ((node("main", 10),), (car("x"), car("x")), "unique"),
    ],
)
def test_site_refuses_a_broken_tree(
    circuits: tuple[Circuit, ...], sessions: tuple[Session, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Site(circuits, sessions)


def test_session_refuses_a_maximum_below_its_minimum() -> None:
    with pytest.raises(ValueError, match="min_current_a"):
        car("x", max_a=5)


# --- unused capacity -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draws", "limit", "suspended", "cap"),
    [
        ([5.0, 5.2, 4.8], 16.0, False, 6.3),  # three samples 1 A or more below: 5.2 x 1.2
        ([5.0, 15.2, 4.8], 16.0, False, None),  # one came within 1 A of the limit
        ([5.0, 5.0], 16.0, False, None),  # not three samples yet
        ([9.0, 2.0, 2.0, 2.0], 16.0, False, 2.4),  # only the last three count
        ([5.0, 5.0, 5.0], None, False, None),  # no limit of ours to compare with
        ([5.0, 5.9, 5.9], 6.0, False, None),  # capped at 6 A, it draws 5.9: released
        ([], 16.0, True, 0.0),  # SuspendedEV: it then holds its minimum
    ],
)
def test_a_car_that_leaves_capacity_unused_is_capped_near_its_draw(
    draws: list[float], limit: float | None, suspended: bool, cap: float | None
) -> None:
    assert demand_cap(draws, limit, suspended) == cap


def test_a_suspended_car_holds_its_minimum_and_frees_the_rest() -> None:
    cars = (car("full", demand_cap_a=demand_cap([], 16.0, True)), car("hungry", minutes=1))
    solved = allocate(Site((node("main", 32),), cars), T0)
    assert {k: v.limit_a for k, v in solved.sessions.items()} == {"full": 6.0, "hungry": 26.0}


def test_a_cap_holds_until_the_car_draws_up_to_it_and_those_draws_do_not_cap_it_again() -> None:
    def at(seconds: int) -> datetime:
        return T0 + timedelta(seconds=seconds)

    capped = next_demand(DemandState(), [(at(1), 5.0), (at(2), 5.2), (at(3), 4.8)], 16.0,
                         False, at(4))
    assert capped == DemandState(6.3, at(4))
    # Below the cap by 1 A or more: the cap stays.
    assert next_demand(capped, [(at(5), 5.1)], 6.3, False, at(6)) == capped
    released = next_demand(capped, [(at(5), 5.1), (at(7), 5.6)], 6.3, False, at(8))
    assert released == DemandState(None, at(8))
    # The draws that released it (and older ones) do not cap it again.
    assert next_demand(released, [(at(1), 5.0), (at(2), 5.2), (at(7), 5.6)], 16.0, False,
                       at(9)) == released


def test_the_same_limit_sent_again_keeps_the_time_its_value_was_set() -> None:
    set_at = T0 + timedelta(seconds=10)
    held = held_limit(None, 9.0, set_at)
    assert held == HeldLimit(9.0, set_at)
    # A lease renewal: the same value with a later startSchedule.
    assert held_limit(held, 9.0, T0 + timedelta(seconds=40)) == held
    # A new value counts from when it is in force; until the charger acknowledges it, no
    # draw answers it (the renewal above needs no acknowledgement: the value is there).
    assert held_limit(held, 7.8, None) is None
    assert held_limit(held, 7.8, T0 + timedelta(seconds=70)) == HeldLimit(
        7.8, T0 + timedelta(seconds=70))


def test_a_suspended_car_is_capped_until_it_charges_again() -> None:
    suspended = next_demand(DemandState(), [], None, True, T0)
    assert suspended.cap == 0.0
    assert next_demand(suspended, [], 6.0, True, T0 + timedelta(seconds=5)) == suspended
    assert next_demand(suspended, [], 6.0, False, T0 + timedelta(seconds=9)).cap is None


# --- what other owners allow ---------------------------------------------------------------


def test_other_profiles_cap_a_session_and_their_boundaries_are_breakpoints() -> None:
    tariff = (CapWindow(T0 + timedelta(hours=1), T0 + timedelta(hours=2), 10.0),
              CapWindow(T0 + timedelta(hours=3), T0 + timedelta(hours=4), 4.0))
    site = Site((node("main", 32),),
                (car("capped", cap_windows=tariff), car("other", minutes=1)))
    solved, periods = timeline(site, T0, 5 * 3600)
    assert {k: v.limit_a for k, v in solved.sessions.items()} == {"capped": 16.0, "other": 16.0}
    assert periods["capped"] == (Period(0, 16.0), Period(3600, 10.0), Period(7200, 16.0),
                                 Period(10800, 0.0), Period(14400, 16.0))
    # What the capped session cannot take goes to the other; paused, it leaves it all.
    assert periods["other"] == (Period(0, 16.0), Period(3600, 22.0), Period(7200, 16.0),
                                Period(10800, 32.0), Period(14400, 16.0))
    paused = allocate(site, T0 + timedelta(hours=3)).sessions["capped"]
    assert (paused.limit_a, paused.binding) == (0.0, "not admitted: cap")


def test_a_session_capped_by_another_profile_is_bound_by_that_profile() -> None:
    plan = (CapWindow(T0, T0 + timedelta(hours=1), 10.0, "profile 7 (plan 12)"),
            CapWindow(T0 + timedelta(hours=1), T0 + timedelta(hours=2), 4.0,
                      "profile 7 (plan 12)"),
            CapWindow(T0 + timedelta(hours=2), T0 + timedelta(hours=3), 20.0,
                      "profile 7 (plan 12)"))
    site = Site((node("main", 32),),
                (car("capped", max_a=16, cap_windows=plan), car("other", minutes=1)))
    capped = allocate(site, T0).sessions["capped"]
    assert (capped.limit_a, capped.binding) == (10.0, "profile 7 (plan 12)")
    paused = allocate(site, T0 + timedelta(hours=1)).sessions["capped"]
    assert (paused.limit_a, paused.binding) == (0.0, "not admitted: profile 7 (plan 12)")
    # Above the car's own maximum the profile does not bind: its own cap does.
    own = allocate(site, T0 + timedelta(hours=2)).sessions["capped"]
    assert (own.limit_a, own.binding) == (16.0, "cap")


@pytest.mark.parametrize(
    ("draws", "limit", "flagged"),
    [
        ([17.5, 17.2, 18.0], 16.0, True),  # three samples over the limit + 1 A
        ([17.5, 16.9, 18.0], 16.0, False),  # one within the tolerance
        ([17.5, 18.0], 16.0, False),  # not three samples yet
        ([30.0, 30.0, 30.0], None, False),  # no limit of ours
    ],
)
def test_a_charger_that_ignores_its_limit_is_flagged(
    draws: list[float], limit: float | None, flagged: bool
) -> None:
    assert over_limit(draws, limit) is flagged
