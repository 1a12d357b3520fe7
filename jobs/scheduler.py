"""The APScheduler 3.x scheduler of one server process.

Each process schedules work only for the stations whose websocket it holds (a job store
is never shared between processes: APScheduler 3 does not support that); jobs are
in memory and re-created from the database at start (tariffs) or are intervals. What a
job does is a reaction to the message it publishes (``app/reactions.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.services.messagebus import Outbox
from app.services.messages import AllCircuitsDue, JobRequested
from app.services.ports import Peers
from app.settings import Settings
from app.tasks import TaskOwner

log = logging.getLogger("chargeplan.jobs")


class Scheduler:
    """Implements ``app.services.schedules.ports.JobScheduler``."""

    def __init__(self, settings: Settings, bus: Outbox, tasks: TaskOwner,
                 peers: Peers) -> None:
        self._settings = settings
        self._bus = bus
        self._tasks = tasks
        self._peers = peers
        self._scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
        self._interval_replan: Any = None

    def start(self) -> None:
        settings = self._settings
        if settings.scheduler_enabled:
            self._scheduler.add_job(
                self._bus.handle, IntervalTrigger(seconds=settings.reconcile_interval_s),
                args=[JobRequested("reconcile", None, "interval", elsewhere=False)],
                id="reconcile")
            self._scheduler.add_job(
                self._bus.handle, IntervalTrigger(seconds=settings.verify_interval_s),
                args=[JobRequested("verify", None, "interval", elsewhere=False)], id="verify")
            # Spawned, not awaited by APScheduler: stop() cancels a re-plan in flight.
            self._scheduler.add_job(
                self._replan_interval,
                IntervalTrigger(seconds=settings.circuit_replan_interval_s), id="circuits")
        self._scheduler.start()

    async def stop(self) -> None:
        self._scheduler.shutdown(wait=False)

    @property
    def busy(self) -> bool:
        """Work it asked for (reconciles, verifications, boots, re-plans) is still
        running, or waits to be taken out of the outbox."""
        return self._tasks.busy or self._bus.pending > 0

    @property
    def enabled(self) -> bool:
        """CHARGEPLAN_SCHEDULER_ENABLED=false: no job runs on its own (interval, after a
        boot, after a plan or tariff changed); runs asked for over REST still go."""
        return self._settings.scheduler_enabled

    def request_reconcile(self, station_ids: Iterable[str], reason: str) -> None:
        if not self.enabled:
            return
        self.run_job("reconcile", station_ids, reason)

    def run_job(self, job: str, station_ids: Iterable[str] | None, trigger: str) -> None:
        """Run ``job`` here for the stations this process holds, and ask the nodes holding
        the others (on one PostgreSQL) to run it for theirs."""
        ids = None if station_ids is None else tuple(station_ids)
        self._bus.publish(JobRequested(job, ids, trigger))

    async def _replan_interval(self) -> None:
        if self._interval_replan is not None and not self._interval_replan.done():
            return  # the last one is still at work: skip this tick
        self._interval_replan = self._tasks.spawn(
            self._bus.handle(AllCircuitsDue("interval")), "circuit-replan-interval")

    def schedule_daily(self, key: str, timezone: str, hour: int, minute: int,
                       func: Callable[[], Awaitable[None]]) -> None:
        async def once() -> None:
            # Every node schedules it; one runs it.
            await self._peers.once(key, func)

        self._scheduler.add_job(once, CronTrigger(hour=hour, minute=minute, timezone=timezone),
                                id=key, replace_existing=True)

    def unschedule(self, key: str) -> None:
        if self._scheduler.get_job(key) is not None:
            self._scheduler.remove_job(key)
