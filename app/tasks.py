"""Background tasks with an owner: started, kept and logged in one way.

asyncio keeps only a weak reference to a task, so a task nobody holds may be collected
before it ends; and an exception of a task nobody awaits is only reported, late, when the
task is collected. :func:`spawn` keeps the task in its owner's set until it ends and logs
a failure at once, with the task's name.
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
