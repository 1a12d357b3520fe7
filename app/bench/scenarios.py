"""The bench scenarios: each drives one running server and returns its figures.

Figure names carry their unit. A "msg" is one answered CALL (CALL + CALLRESULT).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from app.bench import stats
from app.bench.commands import ClosedLoop, OpenLoop, PhaseReport
from app.bench.config import BenchConfig, Scenario
from app.bench.database import settled_audit_count
from app.bench.pool import WorkerPool
from app.bench.probes import (
    PeakPoller,
    PeakRssSampler,
    audit_queue_depth,
    cpu_seconds,
    read_gauge,
    rss_bytes,
)
from app.bench.servers import RunningServer

Figure = float | int | None
# Slack on top of a phase's own duration before a silent worker counts as failed.
PHASE_SLACK_S: Final = 60.0
CONNECT_BASE_S: Final = 60.0

FIGURES: Final[dict[Scenario, tuple[str, ...]]] = {
    Scenario.HEARTBEAT: (
        "msgs_per_s",
        "p50_ms",
        "p99_ms",
        "errors",
        "audit_rows_per_s",
        "server_peak_rss_kb",
    ),
    Scenario.STORM: ("seconds", "conns_per_s", "errors", "rss_kb_per_station"),
    Scenario.STEADY: ("p50_ms", "p99_ms", "audit_rows", "audit_queue_depth",
                      "audit_queue_peak", "errors", "gc_full_collections",
                      "gc_full_pause_max_ms", "tracked_objects_per_station"),
    Scenario.THROUGHPUT: ("msgs_per_s", "p99_ms", "errors", "cpu_s_per_1000_msgs"),
    Scenario.FANOUT: ("seconds", "calls_per_s", "audit_seconds", "errors"),
    Scenario.AUDIT: ("rows_per_s", "seconds", "rows_lost"),
    Scenario.FANOUT_FLEET: ("seconds", "calls_per_s", "audit_seconds", "errors"),
    Scenario.ALLOCATION: ("sessions", "admitted", "solve_p50_ms", "solve_max_ms",
                           "solve_cpu_ms", "plan_sessions", "plan_slots", "plan_s",
                           "plan_cpu_s", "plan_build_cpu_s", "plan_first_tier_cpu_s",
                           "plan_other_tiers_cpu_s", "plan_cost_cpu_s", "plan_sooner_cpu_s",
                           "plan_fairness_cpu_s", "plan_kwh", "plan_cost", "plan_by_planner"),
    Scenario.REPLAN: ("stations", "raised", "resent", "stop_to_accepted_s", "errors"),
    Scenario.FANOUT_NODES: ("stations", "one_node_seconds", "nodes_seconds",
                            "one_node_calls_per_s", "nodes_calls_per_s", "errors"),
    Scenario.EVENTS: ("stations", "listeners", "p99_ms_without", "p99_ms_with", "p99_ratio",
                      "events_received", "errors"),
    Scenario.FLEET_PAGE: ("stations", "first_p50_ms", "first_p99_ms", "last_p99_ms",
                          "search_p99_ms"),
    # Means over the capacities; every algorithm@capacity figure is in the JSON.
    Scenario.ACN: ("planner_delivered_pct", "llf_delivered_pct", "offline_delivered_pct",
                   "water_level_delivered_pct", "planner_decision_p50_ms",
                   "planner_decision_p95_ms", "planner_decision_cpu_p95_ms", "violations"),
}


@dataclass
class Outcome:
    figures: dict[str, Figure]
    error_samples: list[str] = field(default_factory=list)


def open_pool(server: RunningServer, stations: int, config: BenchConfig) -> WorkerPool:
    return WorkerPool(
        server.ocpp_url,
        stations=stations,
        workers=config.workers,
        call_timeout_s=config.call_timeout_s,
        connect_concurrency=config.connect_concurrency,
    )


def connect_within_s(stations: int) -> float:
    """How long stations may take to come up; later ones count as errors.

    A server slower than 25 stations/s fails a storm of thousands instead of stalling the run.
    """
    return CONNECT_BASE_S + stations / 25


def heartbeat(server: RunningServer, config: BenchConfig) -> Outcome:
    """Boot `stations`, then Heartbeats as fast as answered, one outstanding CALL each."""
    with (
        PeakRssSampler(server.pid) as rss,
        open_pool(server, config.stations, config) as pool,
    ):
        connected = pool.connect(with_status=False, within_s=connect_within_s(config.stations))
        rows_before = audit_rows(server)
        load = pool.run(
            ClosedLoop("Heartbeat", config.seconds),
            config.seconds + config.call_timeout_s + PHASE_SLACK_S,
        )
        rows_after = audit_rows(server)
    audit_rate = None
    if rows_before is not None and rows_after is not None:
        audit_rate = (rows_after - rows_before) / stats.wall_seconds(load)
    return _outcome(
        [*connected, *load],
        msgs_per_s=stats.rounded(stats.rate_per_s(load), 1),
        **_latency(load),
        errors=stats.errors(connected) + stats.errors(load),
        audit_rows_per_s=stats.rounded(audit_rate, 1),
        server_peak_rss_kb=rss.peak_bytes // 1024,
    )


def storm(server: RunningServer, pool: WorkerPool, config: BenchConfig) -> Outcome:
    """Every station at once: connect, BootNotification, StatusNotification for 1 and 2."""
    stations = config.storm_stations
    rss_before = rss_bytes(server.pid)
    reports = pool.connect(with_status=True, within_s=connect_within_s(stations))
    rss_after = rss_bytes(server.pid)
    seconds = stats.wall_seconds(reports)
    accepted = stats.completed(reports)
    return _outcome(
        reports,
        seconds=stats.rounded(seconds),
        conns_per_s=stats.rounded(accepted / seconds if seconds > 0 else None, 1),
        errors=stats.errors(reports),
        rss_kb_per_station=stats.rounded((rss_after - rss_before) / 1024 / stations, 2),
    )


def steady(server: RunningServer, pool: WorkerPool, config: BenchConfig) -> Outcome:
    """The storm's stations stay; MeterValues and Heartbeats at a fixed total rate."""
    rows_before = audit_rows(server)
    command = OpenLoop(
        rate_per_s=config.steady_rate_per_s / pool.size,
        seconds=config.steady_seconds,
        heartbeat_every=config.steady_heartbeat_every,
    )
    timeout = config.steady_seconds + config.call_timeout_s + PHASE_SLACK_S
    http_url = server.http_url
    queue_depth = queue_peak = None
    collector = CollectorReading(http_url)
    if http_url is None:
        reports = pool.run(command, timeout)
    else:
        with PeakPoller(lambda: audit_queue_depth(http_url)) as depth:
            reports = pool.run(command, timeout)
        # Read as the load ends: rows of the last flush interval at most, when the writer
        # keeps up.
        queue_depth = audit_queue_depth(http_url)
        queue_peak = depth.peak
    rows_after = audit_rows(server)
    written = None
    if rows_before is not None and rows_after is not None:
        written = rows_after - rows_before
    return _outcome(
        reports,
        **_latency(reports),
        audit_rows=written,
        audit_queue_depth=queue_depth,
        audit_queue_peak=queue_peak,
        errors=stats.errors(reports),
        **collector.since(config.storm_stations),
    )


class CollectorReading:
    """The server's full collections (``chargeplan_gc_*`` of /metrics): how many ran
    since this reading, the longest since the server started (the storm's included), and
    the objects the collector tracks as the load ends, per connected station. None for a
    server without these gauges."""

    def __init__(self, http_url: str | None) -> None:
        self._metrics = None if http_url is None else f"{http_url}/metrics"
        self._collections = self._read("chargeplan_gc_full_collections_total")

    def _read(self, name: str) -> float | None:
        return None if self._metrics is None else read_gauge(self._metrics, name)

    def since(self, stations: int) -> dict[str, Figure]:
        collections = self._read("chargeplan_gc_full_collections_total")
        pause = self._read("chargeplan_gc_full_pause_seconds_max")
        # Counted once, after the load: counting pauses the server.
        tracked = (None if self._metrics is None else
                   read_gauge(f"{self._metrics}?count_objects=true",
                              "chargeplan_gc_tracked_objects", timeout_s=30.0))
        return {
            "gc_full_collections": None if collections is None or self._collections is None
            else int(collections - self._collections),
            "gc_full_pause_max_ms": stats.rounded(None if pause is None else pause * 1000),
            "tracked_objects_per_station": stats.rounded(
                tracked / stations if tracked and stations else None, 1),
        }


def throughput(server: RunningServer, config: BenchConfig) -> Outcome:
    """Realistic MeterValues as fast as answered, one outstanding CALL per station."""
    stations = config.throughput_stations
    with open_pool(server, stations, config) as pool:
        connected = pool.connect(with_status=False, within_s=connect_within_s(stations))
        audit_rows(server)
        cpu_before = cpu_seconds(server.pid)
        load = pool.run(
            ClosedLoop("MeterValues", config.seconds),
            config.seconds + config.call_timeout_s + PHASE_SLACK_S,
        )
        # The audit rows of this load are part of its cost: wait for them to be written.
        audit_rows(server)
        cpu_after = cpu_seconds(server.pid)
    answered = stats.completed(load)
    cpu_per_1000 = (cpu_after - cpu_before) / (answered / 1000) if answered else None
    return _outcome(
        [*connected, *load],
        msgs_per_s=stats.rounded(stats.rate_per_s(load), 1),
        p99_ms=_latency(load)["p99_ms"],
        errors=stats.errors(connected) + stats.errors(load),
        cpu_s_per_1000_msgs=stats.rounded(cpu_per_1000, 4),
    )


def audit_rows(server: RunningServer) -> int | None:
    """The server's audit row count once its audit queue has been written out."""
    http_url = server.http_url
    if server.database is None or http_url is None:
        return None
    return settled_audit_count(server.database, queued=lambda: audit_queue_depth(http_url))


def _latency(reports: list[PhaseReport]) -> dict[str, Figure]:
    values = stats.merged_latencies(reports)
    return {
        "p50_ms": stats.rounded(stats.percentile(values, 0.50)),
        "p99_ms": stats.rounded(stats.percentile(values, 0.99)),
    }


def _outcome(reports: list[PhaseReport], **figures: Figure) -> Outcome:
    return Outcome(figures=dict(figures), error_samples=stats.error_samples(reports))
