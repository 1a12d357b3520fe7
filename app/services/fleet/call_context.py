"""Why a CALL is being made, carried to the audit trail without threading it through
every signature: the job run that is making calls in this task."""

from __future__ import annotations

from contextvars import ContextVar

current_job_run: ContextVar[int | None] = ContextVar("current_job_run", default=None)
