"""Background tasks with an owner: started, kept and logged in one way.

asyncio keeps only a weak reference to a task, so a task nobody holds may be collected
before it ends; and an exception of a task nobody awaits is only reported, late, when the
task is collected. :func:`spawn` keeps the task in its owner's set until it ends and logs
a failure at once, with the task's name. :class:`TaskOwner` is such a set with its
logger, for a part of the server that starts work and cancels what is left when it stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any


def spawn(work: Awaitable[Any], name: str, log: logging.Logger,
          owner: set[asyncio.Task[Any]], *, label: str | None = None) -> asyncio.Task[None]:
    """Run ``work`` as a task named ``name``, held in ``owner`` until it ends (the owner
    cancels what is left when it stops). An exception is logged as "<label> failed"
    (``label`` defaults to ``name``); a cancellation is not a failure."""
    what = name if label is None else label

    async def runner() -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", what)

    task = asyncio.create_task(runner(), name=name)
    owner.add(task)
    task.add_done_callback(owner.discard)
    return task


class TaskOwner:
    """The tasks one part of the server started: each logged if it fails, all cancelled
    by :meth:`close`."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Awaitable[Any], name: str, *,
              label: str | None = None) -> asyncio.Task[None]:
        return spawn(work, name, self._log, self._tasks, label=label)

    @property
    def busy(self) -> bool:
        """Some task it started is still running."""
        return bool(self._tasks)

    async def close(self) -> None:
        """Cancel what is still running and wait for it to end."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
