"""A whole depot from a site file: stations, cars arriving and leaving, circuit meters.

Each circuit of the site with ``meter`` reads, every ``meter_interval_s``, the sum of what
the cars of its stations draw per grid phase (through each station's phase rotation) plus
its base load, and, given ``http_url``, pushes it to the server as the circuit's total
(``PUT /circuits/{id}/measurement {"total_a": [...]}``). Given ``http_url``, each station
is also hung from its circuit once it has booted (``PATCH /stations/{id}``), and a
car with a ``departure`` has its id tag registered with ``default_needs`` (the energy to
fill it, by that departure) before it plugs in.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.allocation import PHASE_ROTATIONS
from app.domain.needs import next_local
from app.simulator.clock import VirtualClock
from app.simulator.config import SimulatorConfig
from app.simulator.fleet import Simulator, Station, make_station
from app.simulator.site import Site, SiteCar, SiteStation

logger = logging.getLogger("chargeplan.simulator")


@dataclass(frozen=True, slots=True)
class MeterReading:
    """What a circuit meter read: the total per grid phase L1, L2, L3."""

    circuit_id: str
    at: datetime
    total_a: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Departure:
    """A car leaving: when (and when it came), and how full (0 to 1) against how full
    it came."""

    car_id: str
    arrived: datetime
    at: datetime
    soc: float
    arrival_soc: float
    battery_kwh: float

    @property
    def charged_kwh(self) -> float:
        return (self.soc - self.arrival_soc) * self.battery_kwh


@dataclass(frozen=True, slots=True)
class DrawChange:
    """A car's draw (per station phase) as it was decided, and its circuit's total then:
    every instant the sum below a circuit may change, unlike the meter's periodic reads."""

    at: datetime
    station_id: str
    connector_id: int
    phase_a: tuple[float, float, float]
    circuit: MeterReading | None


def station_config(site: Site, station: SiteStation, base: SimulatorConfig) -> SimulatorConfig:
    faults = set(station.faults)
    return dataclasses.replace(
        base, connectors=station.connectors, phases=station.phases,
        max_power_w=station.max_current_a * site.voltage * station.phases,
        ocpp_version=station.ocpp,
        ignore_profile_rate=1.0 if "ignore-profile" in faults else 0.0,
        reject_rate=1.0 if "reject-profile" in faults else 0.0)


class Depot:
    """Runs a :class:`Site`: its stations over websockets, its cars' schedule, its meters."""

    def __init__(self, site: Site, *, start_time: datetime | None = None,
                 reconnect_delay: float = 1.0, clock: VirtualClock | None = None) -> None:
        self.site = site
        base = SimulatorConfig(url=site.url, voltage=site.voltage, start_time=start_time,
                               meter_interval=site.meter_interval_s,
                               reconnect_delay=reconnect_delay)
        self.clock = clock or VirtualClock(start_time)
        gate = asyncio.Semaphore(base.connect_concurrency)
        stations = {
            s.id: make_station(s.id, index, station_config(site, s, base), self.clock,
                               connect_gate=gate)
            for index, s in enumerate(site.stations)}
        self.simulator = Simulator(base, stations)
        self.readings: list[MeterReading] = []
        self.draws: list[DrawChange] = []
        self.departures: list[Departure] = []
        for spec in site.stations:
            stations[spec.id].draw_listeners.append(functools.partial(self._record_draw, spec))
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def stations(self) -> dict[str, Station]:
        return self.simulator.stations

    def circuit_total(self, circuit_id: str) -> tuple[float, float, float]:
        """What the circuit's meter reads now: its base load plus its stations' cars."""
        circuit = next(c for c in self.site.circuits if c.id == circuit_id)
        total = list(circuit.base_load_a)
        for spec in self.site.stations:
            if spec.circuit != circuit_id:
                continue
            rotation = PHASE_ROTATIONS[spec.phase_rotation]
            for connector in self.stations[spec.id].connectors.values():
                for phase, amps in enumerate(connector.phase_a or (0.0, 0.0, 0.0)):
                    total[rotation[phase]] += amps
        return (round(total[0], 1), round(total[1], 1), round(total[2], 1))

    def _record_draw(self, spec: SiteStation, connector_id: int, at: datetime) -> None:
        connector = self.stations[spec.id].connectors[connector_id]
        total = None if spec.circuit is None else MeterReading(
            spec.circuit, at, self.circuit_total(spec.circuit))
        self.draws.append(DrawChange(at, spec.id, connector_id,
                                     connector.phase_a or (0.0, 0.0, 0.0), total))

    async def start(self) -> None:
        """Connect every station, then run the cars' schedule and the circuit meters."""
        await self.simulator.start()
        began = self.clock.now()
        if self.site.http_url is not None:
            for spec in self.site.stations:
                self._spawn(self._assign(spec), f"assign {spec.id}")
        for site_car in self.site.cars:
            self._spawn(self._drive(site_car, began), f"car {site_car.car.id}")
        for circuit in self.site.circuits:
            if circuit.meter:
                self._spawn(self._meter(circuit.id), f"meter {circuit.id}")

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.simulator.stop()

    async def __aenter__(self) -> Depot:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def _spawn(self, work: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def _assign(self, spec: SiteStation) -> None:
        station = self.stations[spec.id]
        await station.booted.wait()
        body: dict[str, Any] = {"phase_rotation": spec.phase_rotation,
                                "max_current_a": spec.max_current_a}
        if spec.circuit is not None:
            body["circuit_id"] = spec.circuit
        await self._http("PATCH", f"/stations/{spec.id}", body)

    async def _drive(self, site_car: SiteCar, began: datetime) -> None:
        """Plug the car in at its arrival, unplug it at its departure (both by the
        depot's clock)."""
        car = site_car.car
        station = self.stations[site_car.station]
        await self.clock.sleep_until(began + timedelta(seconds=car.arrive_s))
        await station.booted.wait()
        if site_car.departure is not None and self.site.http_url is not None:
            await self._register_needs(site_car)
        logger.info("%s: car %s arrives on connector %s", station.station_id, car.id,
                    site_car.connector)
        arrived = self.clock.now()
        leaves: datetime | None = None
        if site_car.departure is not None:
            leaves = next_local(arrived, site_car.departure, self.site.timezone)
            # The car knows when it leaves: a 2.0.1 station's NotifyEVChargingNeeds says
            # that departure (its dwell from the whole second it plugs in at), not the
            # station's default dwell.
            dwell = leaves - arrived.replace(microsecond=0)
            car = dataclasses.replace(car, depart_s=car.arrive_s + dwell.total_seconds())
        elif car.depart_s is not None:
            leaves = arrived + timedelta(seconds=car.depart_s - car.arrive_s)
        await station.plug_in(site_car.connector, car)
        if leaves is None:
            return
        await self.clock.sleep_until(leaves)
        logger.info("%s: car %s leaves", station.station_id, car.id)
        plugged = station.cars.get(site_car.connector)
        if plugged is not None:
            plugged.draw(self.clock.now(), plugged.amps, self.site.voltage)
            self.departures.append(Departure(car.id, arrived, self.clock.now(), plugged.soc,
                                             car.soc, car.battery_wh / 1000))
        await station.unplug(site_car.connector)

    async def _register_needs(self, site_car: SiteCar) -> None:
        """The car's id tag, saying the energy to fill it by its departure."""
        car = site_car.car
        await self._http("POST", "/id_tags", {"id_tag": car.id})
        await self._http("PATCH", f"/id_tags/{car.id}", {"default_needs": {
            "energy_kwh": round((1.0 - car.soc) * car.battery_wh / 1000, 3),
            "departure_local": site_car.departure, "timezone": self.site.timezone}})

    async def _meter(self, circuit_id: str) -> None:
        """Each tick, the circuit's stations report their cars' draw (MeterValues) and the
        circuit's meter its total, so the server takes out the draw the total counted."""
        below = [self.stations[s.id] for s in self.site.stations if s.circuit == circuit_id]
        while True:
            await asyncio.sleep(self.site.meter_interval_s)
            await asyncio.gather(*(station.send_meter_values(connector_id)
                                   for station in below for connector_id in station.cars
                                   if connector_id in station.transactions))
            reading = MeterReading(circuit_id, self.clock.now(), self.circuit_total(circuit_id))
            self.readings.append(reading)
            if self.site.http_url is not None:
                await self._http("PUT", f"/circuits/{circuit_id}/measurement",
                                 {"total_a": list(reading.total_a)})

    async def _http(self, method: str, path: str, body: dict[str, Any]) -> None:
        assert self.site.http_url is not None
        request = urllib.request.Request(
            self.site.http_url.rstrip("/") + path, method=method,
            data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        if self.site.api_key is not None:
            request.add_header("Authorization", f"Bearer {self.site.api_key}")

        def send() -> None:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                answer.read()

        try:
            await asyncio.to_thread(send)
        except urllib.error.HTTPError as error:
            logger.warning("%s %s: HTTP %s %s", method, path, error.code,
                           error.read().decode(errors="replace")[:300])
        except OSError as error:
            logger.warning("%s %s: %s", method, path, error)


async def run_depot(site: Site, stop: asyncio.Event, *,
                    start_time: datetime | None = None) -> None:
    """Run ``site`` until ``stop`` is set."""
    depot = Depot(site, start_time=start_time)
    try:
        await depot.start()
        await stop.wait()
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await depot.stop()
