"""The APScheduler 3.x scheduler of one server process.

Each process schedules work only for the stations whose websocket it holds (a job store
is never shared between processes: APScheduler 3 does not support that); jobs are
in memory and re-created from the database at start (tariffs) or are intervals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app import tasks
from app.services.container import Services
from jobs.reconcile import JOBS, after_boot, reconcile_stations, verify_stations


async def replan_circuits(services: Services, trigger: str) -> None:
    """Re-plan every circuit tree: limits follow the clock's windows, leases are renewed.
    One node at a time does it for the fleet."""
    await services.peers.once("circuits", lambda: services.load.replan_all(trigger))

log = logging.getLogger("chargeplan.jobs")

# Boots and first connections are collected this long and handled together: a reconnect
# storm costs one query per batch of stations, not one per station.
BATCH_WINDOW_S = 0.05


class _Batch:
    """Station ids collected for a short window, then handed to ``work`` in one task."""

    def __init__(self, name: str, work: Callable[[list[str]], Awaitable[None]],
                 spawn: Callable[[Awaitable[Any], str], object],
                 window_s: float = BATCH_WINDOW_S) -> None:
        self._name = name
        self._window_s = window_s
        self._work = work
        self._spawn = spawn
        self._ids: dict[str, None] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, station_id: str) -> None:
        self._ids[station_id] = None
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window_s, self._fire)

    def _fire(self) -> None:
        ids, self._ids, self._timer = list(self._ids), {}, None
        self._spawn(self._work(ids), self._name)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class Scheduler:
    """Implements ``app.services.ports.JobScheduler``."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
        self._tasks: set[asyncio.Task[Any]] = set()
        self._booted = _Batch("after-boot", self._after_boot, self.spawn)
        self._registered = _Batch("new-stations", self._sync_new, self.spawn)
        # Transactions that start or stop re-plan their circuit tree, debounced.
        self._replans = _Batch("circuit-replan", self._replan, self.spawn,
                               services.settings.circuit_debounce_s)
        # A charging session's meter samples re-plan its tree too (unused capacity,
        # a charger over its limit), collected for longer: they come every few seconds.
        self._meter_replans = _Batch("circuit-replan-meter", self._replan_metered, self.spawn,
                                     services.settings.circuit_meter_replan_s)
        self._interval_replan: asyncio.Task[Any] | None = None

    def start(self) -> None:
        settings = self._services.settings
        if settings.scheduler_enabled:
            self._scheduler.add_job(
                reconcile_stations, IntervalTrigger(seconds=settings.reconcile_interval_s),
                args=[self._services, None, "interval"], id="reconcile")
            self._scheduler.add_job(
                verify_stations, IntervalTrigger(seconds=settings.verify_interval_s),
                args=[self._services, None, "interval"], id="verify")
            # Spawned, not awaited by APScheduler: stop() cancels a re-plan in flight.
            self._scheduler.add_job(
                self._replan_interval,
                IntervalTrigger(seconds=settings.circuit_replan_interval_s), id="circuits")
        self._scheduler.start()

    async def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        self._booted.cancel()
        self._registered.cancel()
        self._replans.cancel()
        self._meter_replans.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def busy(self) -> bool:
        """Work it spawned (reconciles, verifications, boots) is still running."""
        return bool(self._tasks)

    @property
    def enabled(self) -> bool:
        """CHARGEPLAN_SCHEDULER_ENABLED=false: no job runs on its own (interval, after a
        boot, after a plan or tariff changed); runs asked for over REST still go."""
        return self._services.settings.scheduler_enabled

    def request_reconcile(self, station_ids: Iterable[str], reason: str) -> None:
        if not self.enabled:
            return
        self.run_job("reconcile", station_ids, reason)

    def run_job(self, job: str, station_ids: Iterable[str] | None, trigger: str) -> None:
        """Run ``job`` here for the stations this process holds, and ask the nodes holding
        the others (on one PostgreSQL) to run it for theirs."""
        work = JOBS[job]
        gateway = self._services.gateway
        ids = None if station_ids is None else list(station_ids)
        self.spawn(work(self._services, ids, trigger), f"{job}-{trigger}")
        elsewhere = None if ids is None else [s for s in ids if not gateway.is_connected(s)]
        if elsewhere is None or elsewhere:
            self.spawn(self._services.peers.run_elsewhere(job, elsewhere, trigger),
                       f"{job}-{trigger}-elsewhere")

    def station_booted(self, station_id: str) -> None:
        if self.enabled:
            self._booted.add(station_id)

    def transaction_changed(self, station_id: str) -> None:
        self._replans.add(station_id)

    def needs_changed(self, station_id: str) -> None:
        self.spawn(self._services.load.replan_stations([station_id], "needs changed"),
                   "circuit-replan-needs")

    def session_metered(self, station_id: str) -> None:
        self._meter_replans.add(station_id)

    async def _replan_interval(self) -> None:
        if self._interval_replan is not None and not self._interval_replan.done():
            return  # the last one is still at work: skip this tick
        self._interval_replan = self.spawn(replan_circuits(self._services, "interval"),
                                           "circuit-replan-interval")

    def circuit_changed(self, circuit_id: str) -> None:
        self.spawn(self._services.load.replan(circuit_id, "circuit changed"), "circuit-replan")

    def stations_left_circuit(self, station_ids: Sequence[str]) -> None:
        self.spawn(self._services.load.release(station_ids), "circuit-release")

    async def _replan(self, station_ids: list[str]) -> None:
        await self._services.load.replan_stations(station_ids, "transaction")

    async def _replan_metered(self, station_ids: list[str]) -> None:
        await self._services.load.replan_stations(station_ids, "meter")

    def station_registered(self, station_id: str) -> None:
        self._registered.add(station_id)

    async def _after_boot(self, station_ids: list[str]) -> None:
        await after_boot(self._services, station_ids)

    async def _sync_new(self, station_ids: list[str]) -> None:
        # Plans and tariffs that target these stations by id or tag.
        await self._services.plans.sync_stations(station_ids)
        await self._services.tariffs.sync_stations(station_ids)

    def spawn(self, work: Awaitable[Any], name: str) -> asyncio.Task[None]:
        """Run work now, owned by the scheduler (cancelled on shutdown)."""
        return tasks.spawn(work, name, log, self._tasks)

    def schedule_daily(self, key: str, timezone: str, hour: int, minute: int,
                       func: Callable[[], Awaitable[None]]) -> None:
        async def once() -> None:
            # Every node schedules it; one runs it.
            await self._services.peers.once(key, func)

        self._scheduler.add_job(once, CronTrigger(hour=hour, minute=minute, timezone=timezone),
                                id=key, replace_existing=True)

    def unschedule(self, key: str) -> None:
        if self._scheduler.get_job(key) is not None:
            self._scheduler.remove_job(key)
