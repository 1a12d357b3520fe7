"""/jobs (recent job runs, run one now) and /stations/{id}/verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED
from msgspec import Meta

from app.api.access import OPERATOR, READER
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.db.fleet_models import JobRun, Verification
from app.domain.states import VerificationOutcome, VerificationState
from app.json_types import JsonObject


class JobRunView(msgspec.Struct, kw_only=True):
    id: Annotated[int, Meta(description="Run id; audit_log.job_run_id links its calls")]
    job: Annotated[str, Meta(description="reconcile or verify")]
    trigger: Annotated[str, Meta(description="interval, boot, after-reconcile, api, plan...")]
    started_at: Annotated[datetime, Meta(description="When the run started (UTC)")]
    finished_at: Annotated[datetime | None, Meta(description="null while running")]
    outcome: Annotated[str, Meta(description="running, ok, partial (some calls failed), "
                                             "failed (the job raised)")]
    stations: Annotated[int, Meta(description="Stations touched")]
    calls: Annotated[int, Meta(description="OCPP calls made")]
    failures: Annotated[int, Meta(description="Calls that failed")]
    detail: Annotated[JsonObject | None, Meta(
        description="Per-run details: stations changed, states, stations leased elsewhere")]


class RunRequested(msgspec.Struct, kw_only=True):
    job: Annotated[str, Meta(description="reconcile or verify")]
    station_ids: Annotated[list[str] | None, Meta(description="null = every station")]
    message: Annotated[str, Meta(description="What happens next, for a person")]


class ComparisonView(msgspec.Struct, kw_only=True):
    connector_id: Annotated[int, Meta(description="0 = the whole station")]
    at: Annotated[datetime, Meta(description="When the comparison was made (UTC)")]
    outcome: Annotated[VerificationOutcome, Meta(
        description="match; drift: a limit the station accepted is not applied; "
        "unverifiable: the station cannot report it; error: no answer")]
    matches: Annotated[bool | None, Meta(description="null when there was nothing to "
                                                     "compare")]
    expected: Annotated[JsonObject | None, Meta(
        description="Composite computed from the profiles the station acknowledged")]
    reported: Annotated[JsonObject | None, Meta(
        description="GetCompositeSchedule.conf as the station sent it")]
    error: Annotated[str | None, Meta(description="Why the station gave no answer")]
    job_run_id: Annotated[int | None, Meta(description="The verify run that made it")]


class VerificationView(msgspec.Struct, kw_only=True):
    station_id: Annotated[str, Meta(description="Charge point identity")]
    state: Annotated[VerificationState | None, Meta(
        description="The last verification's verdict; null = never verified")]
    last_verified_at: Annotated[datetime | None, Meta(description="Last verification")]
    drift_repairs: Annotated[int, Meta(description="Repairs since it last verified clean")]
    read_back_repairs: Annotated[int, Meta(
        description="Repairs of read-back drift since a read-back last found it clean")]
    connectors: Annotated[list[ComparisonView], Meta(
        description="The last comparison of each connector (0 = whole station)")]


def job_run_view(row: JobRun) -> JobRunView:
    return JobRunView(id=row.id, job=row.job, trigger=row.trigger, started_at=row.started_at,
                      finished_at=row.finished_at, outcome=row.outcome, stations=row.stations,
                      calls=row.calls, failures=row.failures, detail=row.detail)


def comparison_view(row: Verification) -> ComparisonView:
    matches = {VerificationOutcome.MATCH: True, VerificationOutcome.DRIFT: False}.get(
        row.outcome)
    return ComparisonView(connector_id=row.connector_id, at=row.at, outcome=row.outcome,
                          matches=matches, expected=row.expected, reported=row.reported,
                          error=row.error, job_run_id=row.job_run_id)


class JobsController(Controller):
    path = "/jobs"
    tags = ["jobs"]
    dependencies = dependencies

    @get("/", opt=READER, summary="Recent job runs, newest first", responses=error_responses())
    async def list_runs(
        self, services: ServicesDep,
        limit: Annotated[int, Parameter(ge=1, le=500, description="How many")] = 50,
        job: Annotated[Literal["reconcile", "verify"] | None, Parameter(
            description="Only this job")] = None,
    ) -> list[JobRunView]:
        return [job_run_view(r) for r in await services.job_runs.recent(limit, job)]

    @post("/{job:str}/run", opt=OPERATOR, status_code=HTTP_202_ACCEPTED,
          summary="Run reconcile or verify now (for all stations or the ones listed)",
          responses=error_responses())
    async def run_now(
        self, services: ServicesDep,
        job: Annotated[Literal["reconcile", "verify"], Parameter(description="Which job")],
        station_id: Annotated[list[str] | None, Parameter(
            description="Stations to include (repeat the parameter); default all")] = None,
    ) -> RunRequested:
        services.scheduler.run_job(job, station_id, "api")
        return RunRequested(job=job, station_ids=station_id,
                            message=f"{job} started; see GET /jobs")


class VerificationController(Controller):
    path = "/stations/{station_id:str}/verification"
    tags = ["jobs"]
    dependencies = dependencies

    @get("/", opt=READER, summary="The last composite-schedule comparison of a station",
         responses=error_responses(404))
    async def verification(
        self, services: ServicesDep,
        station_id: Annotated[str, Parameter(description="Charge point identity")],
    ) -> VerificationView:
        station, rows = await services.verification.latest(station_id)
        return VerificationView(
            station_id=station.id, state=station.verification_state,
            last_verified_at=station.last_verified_at, drift_repairs=station.drift_repairs,
            read_back_repairs=station.read_back_repairs,
            connectors=[comparison_view(r) for r in rows])
