"""A load worker process: holds its share of the stations and runs the load phases."""

from __future__ import annotations

import asyncio
import gc
import signal
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from app.bench.commands import (
    ClosedLoop,
    Command,
    Connect,
    Disconnect,
    LoadAction,
    OpenLoop,
    PhaseReport,
    WorkerFailed,
    WorkerSpec,
)
from app.bench.frames import BOOT_NOTIFICATION, HEARTBEAT, meter_values, status_notification
from app.bench.limits import raise_open_files_limit
from app.bench.station import CallFailed, Station

DISCONNECT_TIMEOUT_S = 15.0
ENERGY_STEP_WH = 10.0


def worker_main(pipe: Connection, spec: WorkerSpec) -> None:
    """Entry point of the worker process."""
    raise_open_files_limit()
    # Ctrl-C reaches the whole process group; the bench process decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(pipe, spec))


async def _serve(pipe: Connection, spec: WorkerSpec) -> None:
    worker = LoadWorker(spec)
    try:
        while True:
            command = await asyncio.to_thread(_receive, pipe)
            if command is None:
                return
            try:
                report: PhaseReport | WorkerFailed = await worker.handle(command)
            except Exception as exc:  # the bench process must learn why, not wait forever
                report = WorkerFailed(f"{type(command).__name__} failed: {exc!r}")
            pipe.send(report)
            if isinstance(command, Disconnect):
                return
    finally:
        await worker.disconnect()


def _receive(pipe: Connection) -> Command | None:
    try:
        command: Command = pipe.recv()
    except (EOFError, OSError):
        return None
    return command


class LoadWorker:
    def __init__(self, spec: WorkerSpec) -> None:
        self._spec = spec
        self._stations: list[Station] = []

    async def handle(self, command: Command) -> PhaseReport:
        match command:
            case Connect(with_status=with_status, within_s=within_s):
                return await self.connect(with_status, within_s)
            case ClosedLoop(action=action, seconds=seconds):
                return await self.closed_loop(action, seconds)
            case OpenLoop(rate_per_s=rate, seconds=seconds, heartbeat_every=every):
                return await self.open_loop(rate, seconds, every)
            case Disconnect():
                started = time.monotonic()
                await self.disconnect()
                return PhaseReport(started=started, finished=time.monotonic())
        raise TypeError(f"unknown command {command!r}")

    async def connect(self, with_status: bool, within_s: float) -> PhaseReport:
        """Connect, BootNotification, and (storm) StatusNotification for connectors 1 and 2."""
        spec = self._spec
        handshakes = asyncio.Semaphore(spec.connect_concurrency)
        report = PhaseReport(started=time.monotonic(), finished=0.0)
        opened: list[Station] = []
        urls = dict(zip(spec.station_ids, spec.station_urls, strict=True)) \
            if spec.station_urls else {}

        async def bring_up(station_id: str) -> None:
            url = urls.get(station_id, spec.ocpp_url)
            try:
                async with handshakes:
                    station = await Station.connect(url, station_id, spec.open_timeout_s)
            except Exception as exc:  # refused, timed out, bad handshake: all one error
                report.record_error(f"connect: {exc!r}")
                return
            opened.append(station)
            try:
                await self._boot(station, with_status)
            except CallFailed as exc:
                report.record_error(str(exc))
                return
            # Only booted stations take part in later load (OCPP 1.6 §4.2).
            self._stations.append(station)
            report.completed += 1

        # Thousands of long-lived connections make every full garbage collection in the
        # load generator a pause of a second or more, which would show up as server latency.
        # Collect once the stations are up and move them out of the collector's sight.
        gc.disable()
        try:
            tasks = [asyncio.create_task(bring_up(station_id)) for station_id in spec.station_ids]
            _, late = await asyncio.wait(tasks, timeout=within_s)
            for task in late:
                task.cancel()
                report.record_error(f"not up within {within_s:.0f} s")
            if late:
                await asyncio.wait(late)
            report.finished = time.monotonic()
            booted = {id(station) for station in self._stations}
            await _close_all([station for station in opened if id(station) not in booted])
        finally:
            gc.collect()
            gc.freeze()
            gc.enable()
        return report

    async def _boot(self, station: Station, with_status: bool) -> None:
        timeout = self._spec.call_timeout_s
        answer = await station.call("BootNotification", dict(BOOT_NOTIFICATION), timeout)
        # OCPP 1.6 §4.2: only an Accepted charge point may send other requests.
        if not isinstance(answer, dict) or answer.get("status") != "Accepted":
            raise CallFailed(f"BootNotification not accepted: {answer!r}", fatal=True)
        if with_status:
            # OCPP 1.6 §4.9: after boot a charge point reports each connector's status.
            for connector_id in (1, 2):
                payload = status_notification(connector_id, datetime.now(UTC))
                await station.call("StatusNotification", payload, timeout)

    async def closed_loop(self, action: LoadAction, seconds: float) -> PhaseReport:
        report = PhaseReport(started=time.monotonic(), finished=0.0)
        deadline = report.started + seconds
        send = self._sender(action, report)

        async def drive(station: Station) -> None:
            while time.monotonic() < deadline and not station.closed:
                if not await send(station, time.perf_counter()):
                    return

        await asyncio.gather(*(drive(station) for station in self._live_stations()))
        report.finished = time.monotonic()
        return report

    async def open_loop(
        self, rate_per_s: float, seconds: float, heartbeat_every: int
    ) -> PhaseReport:
        """Send at a fixed rate, round robin over the stations.

        Latency counts from the moment a CALL was due, so a slow server cannot hide its
        queueing by slowing the sender down.
        """
        report = PhaseReport(started=time.monotonic(), finished=0.0)
        stations = self._live_stations()
        total = int(rate_per_s * seconds)
        heartbeat = self._sender("Heartbeat", report)
        meter = self._sender("MeterValues", report)
        in_flight: set[asyncio.Task[bool]] = set()
        origin_perf = time.perf_counter()
        index = 0
        while index < total and stations:
            now = time.perf_counter()
            while index < total and origin_perf + index / rate_per_s <= now:
                station = stations[index % len(stations)]
                due = origin_perf + index / rate_per_s
                if station.busy or station.closed:
                    report.record_error("station still waiting for its previous answer")
                else:
                    send = heartbeat if heartbeat_every and index % heartbeat_every == 0 else meter
                    task = asyncio.create_task(send(station, due))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                index += 1
            if index < total:
                await asyncio.sleep(
                    max(0.0, origin_perf + index / rate_per_s - time.perf_counter())
                )
        if in_flight:
            await asyncio.wait(in_flight, timeout=self._spec.call_timeout_s + 1.0)
        report.finished = time.monotonic()
        return report

    def _sender(
        self, action: LoadAction, report: PhaseReport
    ) -> Callable[[Station, float], Coroutine[Any, Any, bool]]:
        """A coroutine function sending one CALL; it answers whether the station may go on."""
        timeout = self._spec.call_timeout_s
        latencies = report.latencies_ms

        async def send(station: Station, since: float) -> bool:
            payload = self._payload(action, station)
            try:
                await station.call(action, payload, timeout)
            except CallFailed as exc:
                report.record_error(str(exc))
                return not exc.fatal
            latencies.append((time.perf_counter() - since) * 1000.0)
            report.completed += 1
            return True

        return send

    @staticmethod
    def _payload(action: LoadAction, station: Station) -> dict[str, Any]:
        if action == "Heartbeat":
            return HEARTBEAT
        station.energy_wh += ENERGY_STEP_WH
        return meter_values(1, datetime.now(UTC), station.energy_wh)

    def _live_stations(self) -> list[Station]:
        return [station for station in self._stations if not station.closed]

    async def disconnect(self) -> None:
        stations, self._stations = self._stations, []
        await _close_all(stations)


async def _close_all(stations: list[Station]) -> None:
    if stations:
        await asyncio.wait(
            [asyncio.create_task(station.close()) for station in stations],
            timeout=DISCONNECT_TIMEOUT_S,
        )
