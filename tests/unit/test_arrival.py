"""Arrival allowances (app/domain/arrival.py): one rule per test, the invariant by
hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.allocation import PHASES, Circuit, LimitWindow, Session, Site, allocate
from app.domain.arrival import ArrivalStation, allowances, allowances_at

AT = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
LEASE = AT + timedelta(minutes=15)
MIN_A = 6.0
THREE = ("L1", "L2", "L3")


def cars(n: int, circuit: str = "site", cap: float = 32.0) -> tuple[Session, ...]:
    return tuple(Session(f"tx{i}", circuit, THREE, MIN_A, cap) for i in range(n))


def one_connector_stations(sessions: int, free: int, cap: float = 32.0
                           ) -> list[ArrivalStation]:
    busy = [ArrivalStation(f"S{i}", "site", 1, (f"tx{i}",), cap) for i in range(sessions)]
    idle = [ArrivalStation(f"F{i}", "site", 1, (), cap) for i in range(free)]
    return busy + idle


def test_a_full_circuit_gives_an_arriving_car_nothing() -> None:
    site = Site((Circuit("site", None, (40.0,) * 3, margin_a=4.0),), cars(4))
    assert allowances(site, one_connector_stations(4, 1), AT, LEASE, MIN_A) == {
        "S0": 0.0, "S1": 0.0, "S2": 0.0, "S3": 0.0, "F0": 0.0}


def test_the_headroom_is_divided_among_every_free_connector() -> None:
    # Two cars capped at 20 A on 83 A: 43 A for three free connectors, 14.3 A each.
    site = Site((Circuit("site", None, (83.0,) * 3),), cars(2, cap=20.0))
    found = allowances(site, one_connector_stations(2, 3, cap=32.0), AT, LEASE, MIN_A)
    assert found["F0"] == found["F1"] == found["F2"] == 14.3


def test_a_connector_whose_session_may_end_counts_beyond_its_limit() -> None:
    # 63 A, two cars at 16 A (their cap), one free connector: a + 2 x max(0, a - 16) <= 31.
    site = Site((Circuit("site", None, (63.0,) * 3),), cars(2, cap=16.0))
    found = allowances(site, one_connector_stations(2, 1, cap=32.0), AT, LEASE, MIN_A)
    assert found["F0"] == 21.0


def test_below_the_minimum_it_is_zero() -> None:
    # 11 A left for two free connectors: 5.5 A each would be below 6 A.
    site = Site((Circuit("site", None, (11.0,) * 3),))
    assert allowances(site, one_connector_stations(0, 2), AT, LEASE, MIN_A) == {
        "F0": 0.0, "F1": 0.0}


def test_it_never_exceeds_the_stations_own_cap() -> None:
    site = Site((Circuit("site", None, (63.0,) * 3),))
    assert allowances(site, one_connector_stations(0, 1, cap=10.5), AT, LEASE,
                      MIN_A) == {"F0": 10.5}


def test_the_lowest_circuit_above_a_station_decides() -> None:
    site = Site((Circuit("main", None, (63.0,) * 3), Circuit("garage", "main", (20.0,) * 3)))
    stations = [ArrivalStation("G", "garage", 2, (), 32.0),
                ArrivalStation("M", "main", 1, (), 32.0)]
    found = allowances(site, stations, AT, LEASE, MIN_A)
    assert found == {"G": 10.0, "M": 21.0}


def test_a_limit_window_within_the_span_lowers_it() -> None:
    window = LimitWindow(AT + timedelta(minutes=5), AT + timedelta(hours=1), (12.0,) * 3)
    site = Site((Circuit("site", None, (63.0,) * 3, limits=(window,)),))
    stations = one_connector_stations(0, 1)
    assert allowances(site, stations, AT, LEASE, MIN_A) == {"F0": 12.0}
    assert allowances(site, stations, AT, AT + timedelta(minutes=5), MIN_A) == {"F0": 32.0}


def test_a_power_limit_counts_a_three_phase_car() -> None:
    # 13,800 W: 20 A on three phases at 230 V.
    site = Site((Circuit("site", None, (63.0,) * 3, max_power_w=13_800.0),))
    assert allowances(site, one_connector_stations(0, 1), AT, LEASE, MIN_A) == {"F0": 20.0}


def test_an_imbalance_limit_counts_a_one_phase_car() -> None:
    site = Site((Circuit("site", None, (63.0,) * 3, max_imbalance_a=16.0),))
    assert allowances(site, one_connector_stations(0, 2), AT, LEASE, MIN_A) == {
        "F0": 8.0, "F1": 8.0}


def test_a_station_needs_connectors() -> None:
    with pytest.raises(ValueError, match="connectors"):
        ArrivalStation("S", "site", -1)


@st.composite
def depots(draw: st.DrawFn) -> tuple[Site, list[ArrivalStation]]:
    limit = draw(st.floats(min_value=0.0, max_value=100.0))
    margin = draw(st.floats(min_value=0.0, max_value=10.0))
    other = tuple(draw(st.floats(min_value=0.0, max_value=40.0)) for _ in range(3))
    nested = draw(st.booleans())
    circuits = [Circuit("site", None, (limit,) * 3, margin_a=margin,
                        other_load_a=(other[0], other[1], other[2]))]
    if nested:
        circuits.append(Circuit("sub", "site", (draw(st.floats(0.0, 60.0)),) * 3))
    sessions: list[Session] = []
    stations: list[ArrivalStation] = []
    for index in range(draw(st.integers(min_value=1, max_value=6))):
        circuit = "sub" if nested and draw(st.booleans()) else "site"
        connectors = draw(st.integers(min_value=1, max_value=3))
        running: list[str] = []
        for c in range(draw(st.integers(min_value=0, max_value=connectors))):
            phases = draw(st.sampled_from([THREE, ("L1",), ("L2",), ("L3",)]))
            sid = f"tx{index}.{c}"
            sessions.append(Session(sid, circuit, phases, MIN_A,
                                    draw(st.floats(min_value=MIN_A, max_value=32.0))))
            running.append(sid)
        stations.append(ArrivalStation(f"S{index}", circuit, connectors, tuple(running),
                                       draw(st.floats(min_value=MIN_A, max_value=32.0))))
    return Site(tuple(circuits), tuple(sessions)), stations


@settings(max_examples=300, deadline=None)
@given(depots())
def test_every_free_connector_at_its_allowance_fits_every_circuit(
    depot: tuple[Site, list[ArrivalStation]],
) -> None:
    site, stations = depot
    solved = allocate(site, AT)
    found = allowances_at(site, solved, stations, AT, MIN_A)
    phases = {s.id: s.phases for s in site.sessions}
    for circuit in site.circuits:
        for p, phase in enumerate(PHASES):
            load = circuit.other_load_a[p] + sum(
                solved.sessions[s.id].limit_a for s in site.sessions
                if phase in phases[s.id] and circuit.id in site.ancestors(s.circuit))
            arriving = sum(found[s.id] * (s.connectors - len(s.sessions)) for s in stations
                           if circuit.id in site.ancestors(s.circuit))
            room = circuit.max_current_a[p] - circuit.margin_a
            # An allocation already over its limit (the other load alone passes it)
            # leaves nothing to arrivals.
            assert arriving <= max(0.0, room - load) + 1e-6
    for station in stations:
        # Floored to 0.1 A, a float hair below a tenth counts as the tenth (7 - 4e-15 is 7).
        assert found[station.id] == 0.0 or (
            MIN_A <= found[station.id] <= station.max_current_a + 1e-6)
