"""GET /metrics in the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

from typing import Annotated

from litestar import MediaType, Response, get
from litestar.params import Parameter

from app import gc_stats
from app.api.access import METRICS
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.services.container import Services


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str,
               samples: list[tuple[dict[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            self.lines.append(f"{name}{{{rendered}}} {value:g}" if rendered
                              else f"{name} {value:g}")


async def render(services: Services, *, count_objects: bool = False) -> str:
    status = services.status
    out = _Text()
    out.metric("chargeplan_connected_stations", "gauge",
               "Stations whose websocket this process holds",
               [({}, status.connected_stations())])
    out.metric("chargeplan_ocpp_calls_total", "counter",
               "Server-initiated OCPP calls by action and outcome",
               [({"action": a, "outcome": o}, n) for (a, o), n in
                sorted(status.call_counts().items())])
    out.metric("chargeplan_node_requests_total", "counter",
               "Requests between nodes on one PostgreSQL: routed (calls sent to the node "
               "holding the station, by outcome), served (carried out for another node, by "
               "kind)",
               [({"side": side, "outcome": o}, n) for (side, o), n in
                sorted(status.node_requests().items())])
    out.metric("chargeplan_node_events_total", "counter",
               "Events between nodes on one PostgreSQL: published (this node's, for the "
               "others), received (the others'), lost (not published)",
               [({"direction": d}, n) for d, n in sorted(status.node_events().items())])
    out.metric("chargeplan_events_wanted_elsewhere", "gauge",
               "1 while a listener of another node wants this node's events",
               [({}, 1 if status.events_wanted_elsewhere() else 0)])
    counts = await services.smart_charging.delivery_counts()
    out.metric("chargeplan_deliveries", "gauge", "Desired profiles by delivery state",
               [({"state": s.value}, n) for s, n in sorted(counts.items())])
    out.metric("chargeplan_delivery_retries_total", "counter",
               "Deliveries that were a retry of a failed one",
               [({}, services.smart_charging.retries)])
    drift = services.verification.stats
    out.metric("chargeplan_drift_found_total", "counter",
               "Connectors whose reported composite differed from the expected one",
               [({}, drift.found)])
    out.metric("chargeplan_drift_repaired_total", "counter",
               "Drifts gone after a repair", [({}, drift.repaired)])
    out.metric("chargeplan_drift_unresolved_total", "counter",
               "Stations marked drift_unresolved", [({}, drift.unresolved)])
    jobs = services.job_runs.stats
    out.metric("chargeplan_job_runs_total", "counter", "Job runs by job",
               [({"job": j}, n) for j, n in sorted(jobs.runs.items())])
    out.metric("chargeplan_job_failures_total", "counter", "Job runs that raised",
               [({"job": j}, n) for j, n in sorted(jobs.failures.items())])
    out.metric("chargeplan_job_duration_seconds_total", "counter",
               "Time spent in job runs by job",
               [({"job": j}, s) for j, s in sorted(jobs.seconds.items())])
    out.metric("chargeplan_audit_rows_written_total", "counter",
               "Audit rows written to the database", [({}, status.audit_rows_written())])
    out.metric("chargeplan_ocpp_handshakes_in_progress", "gauge",
               "Websocket handshakes accepted, authentication not decided yet",
               [({}, status.handshakes_in_progress())])
    out.metric("chargeplan_audit_queue_depth", "gauge",
               "Audit rows waiting to be written", [({}, status.audit_queue_depth())])
    pauses = gc_stats.PAUSES
    out.metric("chargeplan_gc_full_collections_total", "counter",
               "Full (generation 2) collections of the cycle collector since start",
               [({}, pauses.full_collections)])
    out.metric("chargeplan_gc_full_pause_seconds_total", "counter",
               "Time the event loop stood still in full collections",
               [({}, pauses.full_pause_total_s)])
    out.metric("chargeplan_gc_full_pause_seconds_max", "gauge",
               "The longest full collection since start", [({}, pauses.full_pause_max_s)])
    if count_objects:
        out.metric("chargeplan_gc_tracked_objects", "gauge",
                   "Objects the cycle collector tracks, those frozen at start-up left out "
                   "(only with ?count_objects=true: counting them pauses the server as a "
                   "full collection would)", [({}, gc_stats.tracked_objects())])
    load = services.load
    out.metric("chargeplan_circuit_replans_total", "counter",
               "Re-plans of circuit trees (solve and push)", [({}, load.solves)])
    out.metric("chargeplan_circuit_replan_seconds_total", "counter",
               "Time spent re-planning circuit trees", [({}, load.solve_seconds)])
    latest = sorted(load.last.values(), key=lambda r: r.root_id)
    out.metric("chargeplan_circuit_headroom_amperes", "gauge",
               "Headroom per circuit and phase in its tree's last re-plan",
               [({"circuit": circuit, "phase": f"L{p + 1}"}, room[p])
                for replan in latest for circuit, room in sorted(replan.headroom.items())
                for p in range(3)])
    out.metric("chargeplan_circuit_sessions_paused", "gauge",
               "Sessions not admitted (limit 0) in each tree's last re-plan",
               [({"root": r.root_id}, r.paused) for r in latest])
    return "\n".join(out.lines) + "\n"


@get("/metrics", summary="Prometheus metrics", tags=["operations"], dependencies=dependencies,
     opt=METRICS, responses=error_responses(),
     media_type=MediaType.TEXT)
async def metrics(
    services: ServicesDep,
    count_objects: Annotated[bool, Parameter(
        description="Also count the objects the garbage collector tracks (what a full "
        "collection walks); the count stops the server for tens of milliseconds at a "
        "million objects")] = False,
) -> Response[str]:
    return Response(await render(services, count_objects=count_objects),
                    media_type="text/plain; version=0.0.4")
