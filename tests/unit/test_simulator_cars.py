"""Simulated cars and the site file: what a car draws for an offer, its taper, the file's
problems each named by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.simulator.car import Car, PluggedCar, acceptance_a, charged_soc, draw_a
from app.simulator.site import SiteError, load_site

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def test_a_car_draws_its_offer_up_to_its_own_maximum() -> None:
    car = Car("EV", max_current_a=16.0)
    assert draw_a(car, 10.0, 0.5) == 10.0
    assert draw_a(car, 32.0, 0.5) == 16.0


def test_below_six_amperes_offered_a_car_does_not_charge() -> None:
    # IEC 61851-1: an offer under 6 A is a pause.
    assert draw_a(Car("EV"), 5.9, 0.5) == 0.0
    assert draw_a(Car("EV"), 6.0, 0.5) == 6.0


def test_a_car_tapers_linearly_from_its_taper_soc_to_nothing_when_full() -> None:
    car = Car("EV", max_current_a=32.0, taper_soc=0.8)
    assert acceptance_a(car, 0.8) == 32.0
    assert acceptance_a(car, 0.9) == pytest.approx(16.0)
    assert acceptance_a(car, 0.95) == pytest.approx(8.0)
    assert acceptance_a(car, 1.0) == 0.0
    assert draw_a(car, 32.0, 0.95) == pytest.approx(8.0)


def test_the_battery_fills_with_what_the_car_drew_on_its_phases() -> None:
    one_phase = Car("EV", phases=1, battery_wh=23_000.0, soc=0.0)
    # 10 A x 230 V x 1 phase for an hour: 2.3 kWh of 23 kWh.
    assert charged_soc(one_phase, 0.0, 10.0, 3600.0, 230.0) == pytest.approx(0.1)
    three = Car("EV", phases=3, battery_wh=23_000.0)
    assert charged_soc(three, 0.0, 10.0, 3600.0, 230.0) == pytest.approx(0.3)
    assert charged_soc(three, 0.95, 32.0, 3600.0, 230.0) == 1.0


def test_a_plugged_car_charges_at_its_previous_draw_then_follows_the_new_offer() -> None:
    plugged = PluggedCar(Car("EV", max_current_a=32.0, phases=1, battery_wh=2300.0), 0.0)
    assert plugged.draw(T0, 10.0, 230.0) == 10.0
    assert plugged.draw(T0 + timedelta(minutes=30), 16.0, 230.0) == 16.0
    assert plugged.soc == pytest.approx(0.5)  # 10 A x 230 V for half an hour of 2.3 kWh


@given(offer=st.floats(0, 80), soc=st.floats(0, 1), maximum=st.floats(1, 80),
       taper=st.floats(0, 1))
def test_a_car_never_draws_above_its_offer_nor_between_zero_and_six(
        offer: float, soc: float, maximum: float, taper: float) -> None:
    drawn = draw_a(Car("EV", max_current_a=maximum, taper_soc=taper), offer, soc)
    assert 0.0 <= drawn <= offer
    assert drawn <= maximum
    assert drawn == 0.0 or offer >= 6.0


SITE = """
{"circuits": [{"id": "depot", "base_load_a": 30}],
 "stations": [{"id": "D-1", "circuit": "depot", "faults": ["ignore-profile"]},
              {"id": "D-2", "circuit": "depot", "phase_rotation": "STR", "connectors": 2}],
 "cars": [{"id": "EV1", "station": "D-1", "phases": 1, "taper_soc": 0.8, "arrive_s": 5,
           "depart_s": 60},
          {"id": "EV2", "station": "D-2", "connector": 2, "battery_kwh": 40}]}
"""


def test_a_site_file_gives_stations_circuits_and_cars() -> None:
    site = load_site(SITE)
    assert site.circuits[0].base_load_a == (30.0, 30.0, 30.0)
    assert [(s.id, s.circuit, s.phase_rotation, s.faults) for s in site.stations] == [
        ("D-1", "depot", "RST", ("ignore-profile",)), ("D-2", "depot", "STR", ())]
    first, second = site.cars
    assert (first.car.phases, first.car.taper_soc, first.car.arrive_s, first.car.depart_s) \
        == (1, 0.8, 5.0, 60.0)
    assert (second.station, second.connector, second.car.battery_wh) == ("D-2", 2, 40_000.0)


def test_a_site_file_in_toml_reads_the_same() -> None:
    site = load_site('[[stations]]\nid = "D-1"\n[[cars]]\nid = "EV1"\nstation = "D-1"\n',
                     toml=True)
    assert [c.station for c in site.cars] == ["D-1"]


def test_every_problem_of_a_site_file_names_its_field() -> None:
    with pytest.raises(SiteError) as raised:
        load_site("""{"circuits": [{"id": "depot", "base_load_a": [1, 2]}],
            "stations": [{"id": "D-1", "circuit": "garage", "phases": 2,
                          "phase_rotation": "XYZ", "faults": ["explode"]}],
            "cars": [{"id": "EV1", "station": "D-9"},
                     {"id": "EV2", "station": "D-1", "connector": 2},
                     {"id": "EV3", "station": "D-1", "phases": 2},
                     {"id": "EV4", "station": "D-1", "battery_kwh": 0}]}""")
    assert raised.value.problems == [
        "circuits[0].base_load_a: must be a number of 0 or more, or three (L1, L2, L3)",
        "stations[0].circuit: 'garage' is not one of the site's circuits",
        "stations[0].phases: must be 1 or 3",
        "stations[0].phase_rotation: must be one of RST, RTS, SRT, STR, TRS, TSR",
        "stations[0].faults: a list of ignore-profile, reject-profile",
        "cars[0].station: 'D-9' is not one of the site's stations",
        "cars[1].connector: station D-1 has 1 connector(s)",
        "cars[2].phases: must be 1 or 3",
        "cars[3].battery_kwh: must be greater than 0",
    ]


def test_a_site_file_that_is_not_json_says_so() -> None:
    with pytest.raises(SiteError, match="site: not valid JSON"):
        load_site("{stations")


def test_a_car_may_leave_at_a_wall_time_of_the_sites_zone() -> None:
    site = load_site('{"timezone": "Europe/Berlin", "stations": [{"id": "D-1"}],'
                     ' "cars": [{"id": "VAN-1", "station": "D-1", "departure": "06:30"}]}')
    assert (site.timezone, site.cars[0].departure, site.cars[0].car.depart_s) == (
        "Europe/Berlin", "06:30", None)


def test_a_departure_must_be_a_wall_time_and_not_beside_depart_s() -> None:
    with pytest.raises(SiteError) as raised:
        load_site('{"timezone": "Mars/Olympus", "stations": [{"id": "D-1"}],'
                  ' "cars": [{"id": "A", "station": "D-1", "departure": "25:00"},'
                  '          {"id": "B", "station": "D-1", "departure": "07:00",'
                  '           "depart_s": 60}]}')
    assert raised.value.problems == [
        "cars[0].departure: must be HH:MM, 00:00 to 23:59",
        "cars[1].departure: give departure or depart_s, not both",
        "site.timezone: must be an IANA time zone, e.g. Europe/Berlin",
    ]
