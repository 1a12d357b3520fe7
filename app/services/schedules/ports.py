"""What plans and tariffs need from the job scheduler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol


class JobScheduler(Protocol):
    """What services need from the job scheduler (implemented in ``jobs.scheduler``):
    scheduling only. What follows a happening is in ``app/reactions.py``."""

    def request_reconcile(self, station_ids: Iterable[str], reason: str) -> None:
        """Reconcile (and then verify) these stations as soon as possible."""
        ...

    def run_job(self, job: str, station_ids: Iterable[str] | None, trigger: str) -> None:
        """Start a run of ``job`` (reconcile or verify) now, for these stations or all."""
        ...

    def schedule_daily(self, key: str, timezone: str, hour: int, minute: int,
                       func: Callable[[], Awaitable[None]]) -> None:
        """Run ``func`` every day at hour:minute local time in ``timezone`` (IANA), replacing
        any job scheduled under ``key``."""
        ...

    def unschedule(self, key: str) -> None: ...
