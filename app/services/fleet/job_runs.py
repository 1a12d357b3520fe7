"""Recording job runs: each run is a row, and every call made inside it is linked to it
in the audit trail (through ``call_context.current_job_run``)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import select

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.fleet_models import JobRun
from app.events import EventBus, EventType
from app.json_types import JsonObject
from app.services.fleet.call_context import current_job_run

log = logging.getLogger("chargeplan.jobs")


@dataclass
class RunCounts:
    run_id: int
    stations: int = 0
    calls: int = 0
    failures: int = 0
    detail: JsonObject = field(default_factory=dict)


@dataclass
class JobStats:
    """In-process figures for /metrics."""

    runs: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)


class JobRunService:
    def __init__(self, db: Database, clock: Clock = utcnow,
                 events: EventBus | None = None) -> None:
        self._db = db
        self.events = events or EventBus(clock=clock)
        self._clock = clock
        self.stats = JobStats()

    @asynccontextmanager
    async def run(self, job: str, trigger: str) -> AsyncIterator[RunCounts]:
        async with self._db.uow() as session:
            row = JobRun(job=job, trigger=trigger, started_at=self._clock(), outcome="running",
                         stations=0, calls=0, failures=0)
            session.add(row)
            await session.flush()
            run_id = row.id
        counts = RunCounts(run_id)
        token = current_job_run.set(run_id)
        started = time.perf_counter()
        outcome = "ok"
        try:
            yield counts
        except Exception as exc:
            outcome = "failed"
            counts.detail["error"] = f"{type(exc).__name__}: {exc}"
            log.exception("job %s (run %d) failed", job, run_id)
        finally:
            current_job_run.reset(token)
            if outcome == "ok" and counts.failures:
                outcome = "partial"
            elapsed = time.perf_counter() - started
            self.stats.runs[job] = self.stats.runs.get(job, 0) + 1
            self.stats.seconds[job] = self.stats.seconds.get(job, 0.0) + elapsed
            if outcome == "failed":
                self.stats.failures[job] = self.stats.failures.get(job, 0) + 1
            async with self._db.uow() as session:
                stored = await session.get(JobRun, run_id)
                if stored is not None:
                    stored.finished_at = self._clock()
                    stored.outcome = outcome
                    stored.stations = counts.stations
                    stored.calls = counts.calls
                    stored.failures = counts.failures
                    stored.detail = counts.detail or None
            self.events.emit(EventType.JOB_FINISHED, job=job, run_id=run_id, trigger=trigger,
                             outcome=outcome, stations=counts.stations, calls=counts.calls,
                             failures=counts.failures)

    async def recent(self, limit: int = 50, job: str | None = None) -> list[JobRun]:
        async with self._db.uow() as session:
            query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
            if job is not None:
                query = query.where(JobRun.job == job)
            return list((await session.scalars(query)).all())
