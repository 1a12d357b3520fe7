"""A depot described in one file: stations, the circuits they hang from, cars, base load.

Read by ``chargeplan simulate --site FILE`` (JSON, or TOML for a ``.toml`` file)::

    {"url": "ws://127.0.0.1:9000", "http_url": "http://127.0.0.1:8000",
     "voltage": 230, "meter_interval_s": 10,
     "circuits": [{"id": "depot", "base_load_a": [30, 30, 30]}],
     "stations": [{"id": "DEPOT-01", "circuit": "depot", "phases": 3, "ocpp": "1.6",
                   "phase_rotation": "RST", "max_current_a": 32, "connectors": 1,
                   "faults": ["ignore-profile"]}],
     "cars": [{"id": "EV1", "station": "DEPOT-01", "connector": 1, "max_current_a": 16,
               "phases": 1, "battery_kwh": 60, "soc": 0.2, "taper_soc": 0.8,
               "arrive_s": 0, "depart_s": 3600}]}

A car may give ``departure`` ("HH:MM", wall time in the site's ``timezone``, UTC by
default) instead of ``depart_s``: it leaves at the first such time after it arrives, and,
given ``http_url``, its id tag (its id) is registered with ``default_needs`` saying so:
the energy to fill its battery from ``soc``, by that departure.

Pure: parsing only, every problem reported with the field it is about.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.allocation import PHASE_ROTATIONS
from app.simulator.car import Car
from app.simulator.config import OCPP_VERSIONS

FAULTS = ("ignore-profile", "reject-profile")
DEFAULT_URL = "ws://127.0.0.1:9000"
DEFAULT_VOLTAGE = 230.0
DEFAULT_METER_INTERVAL_S = 10.0


class SiteError(ValueError):
    """The site file is wrong: one line per problem, each naming its field."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class SiteCircuit:
    id: str
    base_load_a: tuple[float, float, float] = (0.0, 0.0, 0.0)
    meter: bool = True  # push the circuit's total (cars + base load) to the server


@dataclass(frozen=True, slots=True)
class SiteStation:
    id: str
    circuit: str | None = None
    phases: int = 3
    phase_rotation: str = "RST"
    max_current_a: float = 32.0
    connectors: int = 1
    faults: tuple[str, ...] = ()
    ocpp: str = "1.6"  # the OCPP version it speaks: 1.6 or 2.0.1


@dataclass(frozen=True, slots=True)
class SiteCar:
    car: Car
    station: str
    connector: int = 1
    departure: str | None = None  # "HH:MM" in the site's timezone


_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True, slots=True)
class Site:
    url: str = DEFAULT_URL
    http_url: str | None = None
    api_key: str | None = None
    voltage: float = DEFAULT_VOLTAGE
    meter_interval_s: float = DEFAULT_METER_INTERVAL_S
    timezone: str = "UTC"  # of the cars' departure wall times
    circuits: tuple[SiteCircuit, ...] = ()
    stations: tuple[SiteStation, ...] = ()
    cars: tuple[SiteCar, ...] = ()


def load_site(text: str, *, toml: bool = False) -> Site:
    """Parse a site file's text; :class:`SiteError` lists every problem."""
    try:
        data = tomllib.loads(text) if toml else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise SiteError([f"site: not valid {'TOML' if toml else 'JSON'}: {error}"]) from None
    if not isinstance(data, dict):
        raise SiteError(["site: must be an object"])
    return parse_site(data)


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def number(self, item: Mapping[str, Any], key: str, where: str, default: float | None,
               *, minimum: float | None = None) -> float | None:
        value = item.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append(f"{where}.{key}: must be a number")
            return default
        if minimum is not None and value < minimum:
            self.problems.append(f"{where}.{key}: must be {minimum:g} or more")
            return default
        return float(value)

    def text(self, item: Mapping[str, Any], key: str, where: str,
             default: str | None = None) -> str | None:
        value = item.get(key, default)
        if value is not None and (not isinstance(value, str) or not value):
            self.problems.append(f"{where}.{key}: must be a non-empty string")
            return default
        return value

    def items(self, data: Mapping[str, Any], key: str) -> list[tuple[str, Mapping[str, Any]]]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problems.append(f"{key}: must be a list")
            return []
        found: list[tuple[str, Mapping[str, Any]]] = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                found.append((f"{key}[{index}]", item))
            else:
                self.problems.append(f"{key}[{index}]: must be an object")
        return found


def _triple(reader: _Reader, item: Mapping[str, Any], key: str,
            where: str) -> tuple[float, float, float]:
    value = item.get(key, 0.0)
    values = value if isinstance(value, list) else [value] * 3
    if len(values) != 3 or any(isinstance(v, bool) or not isinstance(v, int | float) or v < 0
                               for v in values):
        reader.problems.append(f"{where}.{key}: must be a number of 0 or more, or three "
                               "(L1, L2, L3)")
        return (0.0, 0.0, 0.0)
    return (float(values[0]), float(values[1]), float(values[2]))


def parse_site(data: Mapping[str, Any]) -> Site:
    reader = _Reader()
    circuits = [SiteCircuit(reader.text(item, "id", where) or where,
                            _triple(reader, item, "base_load_a", where),
                            bool(item.get("meter", True)))
                for where, item in reader.items(data, "circuits")]
    circuit_ids = {c.id for c in circuits}
    stations = [_station(reader, where, item, circuit_ids)
                for where, item in reader.items(data, "stations")]
    connectors = {s.id: s.connectors for s in stations}
    cars = [car for where, item in reader.items(data, "cars")
            if (car := _car(reader, where, item, connectors)) is not None]
    _check_unique(reader, "circuits", [c.id for c in circuits])
    _check_unique(reader, "stations", [s.id for s in stations])
    _check_unique(reader, "cars", [c.car.id for c in cars])
    timezone = reader.text(data, "timezone", "site", "UTC") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        reader.problems.append("site.timezone: must be an IANA time zone, e.g. Europe/Berlin")
        timezone = "UTC"
    site = Site(
        url=reader.text(data, "url", "site", DEFAULT_URL) or DEFAULT_URL,
        http_url=reader.text(data, "http_url", "site"),
        api_key=reader.text(data, "api_key", "site"),
        voltage=reader.number(data, "voltage", "site", DEFAULT_VOLTAGE, minimum=1)
        or DEFAULT_VOLTAGE,
        meter_interval_s=reader.number(data, "meter_interval_s", "site",
                                       DEFAULT_METER_INTERVAL_S, minimum=0.01)
        or DEFAULT_METER_INTERVAL_S,
        timezone=timezone, circuits=tuple(circuits), stations=tuple(stations), cars=tuple(cars))
    if not stations:
        reader.problems.append("stations: give at least one station")
    if reader.problems:
        raise SiteError(reader.problems)
    return site


def _station(reader: _Reader, where: str, item: Mapping[str, Any],
             circuit_ids: set[str]) -> SiteStation:
    circuit = reader.text(item, "circuit", where)
    if circuit is not None and circuit not in circuit_ids:
        reader.problems.append(f"{where}.circuit: {circuit!r} is not one of the site's circuits")
    phases = reader.number(item, "phases", where, 3)
    if phases not in (1, 3):
        reader.problems.append(f"{where}.phases: must be 1 or 3")
    rotation = reader.text(item, "phase_rotation", where, "RST") or "RST"
    if rotation not in PHASE_ROTATIONS:
        reader.problems.append(f"{where}.phase_rotation: must be one of "
                               f"{', '.join(PHASE_ROTATIONS)}")
    faults = item.get("faults", [])
    if not isinstance(faults, list) or any(f not in FAULTS for f in faults):
        reader.problems.append(f"{where}.faults: a list of {', '.join(FAULTS)}")
        faults = []
    ocpp = item.get("ocpp", "1.6")
    if ocpp not in OCPP_VERSIONS:
        reader.problems.append(f"{where}.ocpp: must be one of {', '.join(OCPP_VERSIONS)}")
        ocpp = "1.6"
    return SiteStation(
        id=reader.text(item, "id", where) or where, circuit=circuit, ocpp=ocpp,
        phases=int(phases or 3), phase_rotation=rotation,
        max_current_a=reader.number(item, "max_current_a", where, 32.0, minimum=6) or 32.0,
        connectors=int(reader.number(item, "connectors", where, 1, minimum=1) or 1),
        faults=tuple(faults))


def _car(reader: _Reader, where: str, item: Mapping[str, Any],
         connectors: Mapping[str, int]) -> SiteCar | None:
    station = reader.text(item, "station", where)
    if station is None:
        reader.problems.append(f"{where}.station: required")
    elif station not in connectors:
        reader.problems.append(f"{where}.station: {station!r} is not one of the site's stations")
    connector = int(reader.number(item, "connector", where, 1, minimum=1) or 1)
    if station is not None and station in connectors and connector > connectors[station]:
        reader.problems.append(f"{where}.connector: station {station} has "
                               f"{connectors[station]} connector(s)")
    battery = reader.number(item, "battery_kwh", where, 60.0)
    departure = reader.text(item, "departure", where)
    if departure is not None and _HH_MM.match(departure) is None:
        reader.problems.append(f"{where}.departure: must be HH:MM, 00:00 to 23:59")
        departure = None
    if departure is not None and item.get("depart_s") is not None:
        reader.problems.append(f"{where}.departure: give departure or depart_s, not both")
    try:
        car = Car(
            id=reader.text(item, "id", where) or where,
            max_current_a=reader.number(item, "max_current_a", where, 16.0) or 0.0,
            phases=int(reader.number(item, "phases", where, 3) or 0),
            battery_wh=(battery or 0.0) * 1000.0,
            soc=reader.number(item, "soc", where, 0.2) or 0.0,
            taper_soc=reader.number(item, "taper_soc", where, 1.0) or 0.0,
            arrive_s=reader.number(item, "arrive_s", where, 0.0) or 0.0,
            depart_s=reader.number(item, "depart_s", where, None))
    except ValueError as error:
        problem = str(error).replace("battery_wh", "battery_kwh").replace(" must", ": must", 1)
        reader.problems.append(f"{where}.{problem}")
        return None
    return SiteCar(car, station or "", connector, departure)


def _check_unique(reader: _Reader, key: str, ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            reader.problems.append(f"{key}: id {item_id!r} given twice")
        seen.add(item_id)
