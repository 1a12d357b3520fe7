"""A fleet of simulated charge points started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

from app.simulator.clock import VirtualClock
from app.simulator.config import SimulatorConfig
from app.simulator.profile_store import ProfileStore
from app.simulator.station import SimulatedStation
from app.simulator.station_v201 import SimulatedStation201
from app.simulator.tls import client_context

#: A simulated station of either OCPP version.
Station = SimulatedStation | SimulatedStation201

logger = logging.getLogger("chargeplan.simulator")


def make_station(station_id: str, index: int, config: SimulatorConfig, clock: VirtualClock, *,
                 store: ProfileStore | None = None, connect_gate: asyncio.Semaphore | None = None,
                 tls: ssl.SSLContext | None = None) -> Station:
    """A station of ``config.ocpp_version`` (a 2.0.1 station keeps no profile store)."""
    if config.ocpp_version == "2.0.1":
        return SimulatedStation201(station_id, index, config, clock, connect_gate=connect_gate,
                                   tls=tls)
    return SimulatedStation(station_id, index, config, clock, store=store,
                            connect_gate=connect_gate, tls=tls)


class Simulator:
    """Owns every station of a :class:`SimulatorConfig` and the task that runs each."""

    def __init__(
        self, config: SimulatorConfig, stations: dict[str, Station] | None = None
    ) -> None:
        """The stations of ``config``, or ``stations`` built by the caller (a site file)."""
        self.config = config
        if stations is None:
            clock = VirtualClock(config.start_time)
            store = ProfileStore(config.profile_store) if config.profile_store else None
            # Bounds how many stations are in their websocket handshake and boot at once.
            gate = asyncio.Semaphore(config.connect_concurrency)
            tls = client_context(config)  # one for the fleet: loading it costs ~100 KiB
            stations = {
                station_id: make_station(station_id, index, config, clock, store=store,
                                         connect_gate=gate, tls=tls)
                for index, station_id in enumerate(config.station_ids())
            }
        self.stations: dict[str, Station] = stations
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start every station; return once each has made its first connection attempt.

        A station whose attempt failed keeps retrying in the background.
        """
        if self._tasks:
            raise RuntimeError("the simulator is already running")
        self._tasks = [
            asyncio.create_task(station.run(), name=f"station {station_id}")
            for station_id, station in self.stations.items()
        ]
        logger.info("starting %d station(s) against %s", len(self.stations), self.config.url)
        waits = [self._first_attempt(station) for station in self.stations.values()]
        await asyncio.gather(*waits)
        booted = sum(station.boot_accepted for station in self.stations.values())
        logger.info("%d of %d station(s) booted", booted, len(self.stations))

    @staticmethod
    async def _first_attempt(station: Station) -> None:
        # Done when booted, or when the first connection attempt ended without a boot.
        booted = asyncio.create_task(station.booted.wait())
        failed = asyncio.create_task(station.first_attempt_done.wait())
        try:
            await asyncio.wait({booted, failed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            booted.cancel()
            failed.cancel()

    async def stop(self) -> None:
        """Close every connection and end every station task."""
        tasks, self._tasks = self._tasks, []
        for station in self.stations.values():
            station.request_stop()
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for task, result in zip(tasks, results, strict=True):
            if isinstance(result, Exception):
                logger.error("%s ended with an error", task.get_name(), exc_info=result)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()


async def run_simulator(config: SimulatorConfig, stop: asyncio.Event) -> None:
    """Run the stations of ``config`` until ``stop`` is set."""
    simulator = Simulator(config)
    try:
        await simulator.start()
        await stop.wait()
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await simulator.stop()
