"""What a bench run measures, and its defaults."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from enum import StrEnum


class Scenario(StrEnum):
    HEARTBEAT = "heartbeat"
    STORM = "storm"
    STEADY = "steady"
    THROUGHPUT = "throughput"
    FANOUT = "fanout"
    AUDIT = "audit"
    FANOUT_FLEET = "fanout_fleet"
    ALLOCATION = "allocation"
    REPLAN = "replan"
    EVENTS = "events"
    FANOUT_NODES = "fanout_nodes"
    FLEET_PAGE = "fleet_page"
    ACN = "acn"


class ServerKind(StrEnum):
    CHARGEPLAN = "chargeplan"
    FLOOR = "floor"
    STOCK = "stock"


ALL_SCENARIOS = tuple(Scenario)
ALL_SERVERS = tuple(ServerKind)
# Scenarios that need what only chargeplan has (plans, a REST API, an audit table); on the
# reference servers they are not applicable, not failed.
CHARGEPLAN_ONLY: frozenset[Scenario] = frozenset(
    {Scenario.FANOUT, Scenario.FANOUT_FLEET, Scenario.AUDIT, Scenario.ALLOCATION,
     Scenario.EVENTS, Scenario.FANOUT_NODES, Scenario.REPLAN, Scenario.FLEET_PAGE,
     Scenario.ACN})
# Scenarios that measure chargeplan's own code in process: no server is started.
IN_PROCESS: frozenset[Scenario] = frozenset({Scenario.ALLOCATION, Scenario.ACN})
QUICK_FACTOR = 10


def applies(scenario: Scenario, kind: ServerKind) -> bool:
    """Whether `scenario` can run against servers of `kind` at all."""
    return kind is ServerKind.CHARGEPLAN or scenario not in CHARGEPLAN_ONLY


def default_workers() -> int:
    """One load process per core the server does not need, at least one, at most eight."""
    return max(1, min(8, (os.cpu_count() or 2) - 1))


@dataclass(frozen=True)
class BenchConfig:
    scenarios: tuple[Scenario, ...] = ALL_SCENARIOS
    servers: tuple[ServerKind, ...] = ALL_SERVERS
    stations: int = 500
    seconds: float = 10.0
    storm_stations: int = 10_000
    steady_rate_per_s: float = 1_000.0
    steady_seconds: float = 30.0
    # One Heartbeat for every this many steady CALLs; the rest are MeterValues.
    steady_heartbeat_every: int = 4
    throughput_stations: int = 200
    fanout_stations: int = 1_000
    audit_rows: int = 200_000
    # Sessions of the allocation bench's three-level tree (the same in a quick run).
    allocation_sessions: int = 1_000
    # Stations of one circuit, each charging, for the re-plan after a StopTransaction.
    replan_stations: int = 200
    # Live events: connected stations, SSE listeners, seconds of steady load per phase.
    events_stations: int = 1_000
    events_listeners: int = 5
    events_seconds: float = 30.0
    # The dashboard's fleet table: stations in the database.
    fleet_page_stations: int = 10_000
    # ACN-Sim scoreboard: days of March 2019 simulated, transformer capacities (kW).
    acn_days: int = 7
    acn_capacities: tuple[float, ...] = (10, 20, 30, 40, 50, 70, 100)
    workers: int = field(default_factory=default_workers)
    connect_concurrency: int = 100
    call_timeout_s: float = 30.0
    server_start_timeout_s: float = 60.0
    # None: a fresh SQLite file per server start; else a PostgreSQL URL under which a fresh
    # database is created for each start and dropped afterwards.
    database_url: str | None = None
    # fanout_nodes: the nodes sharing one PostgreSQL (a fresh database under this URL; None:
    # database_url), against one node on the same server.
    nodes: int = 3
    nodes_database_url: str | None = None
    python: str = sys.executable
    # --profile: a py-spy recording of the server (of this process, for the in-process
    # scenarios) per scenario and server, written into this directory.
    profile_dir: str | None = None

    def quick(self) -> BenchConfig:
        """Every scenario at a tenth of its size and duration."""
        return replace(
            self,
            stations=max(1, self.stations // QUICK_FACTOR),
            seconds=max(0.5, self.seconds / QUICK_FACTOR),
            storm_stations=max(1, self.storm_stations // QUICK_FACTOR),
            steady_rate_per_s=max(1.0, self.steady_rate_per_s / QUICK_FACTOR),
            steady_seconds=max(0.5, self.steady_seconds / QUICK_FACTOR),
            throughput_stations=max(1, self.throughput_stations // QUICK_FACTOR),
            fanout_stations=max(1, self.fanout_stations // QUICK_FACTOR),
            audit_rows=max(1, self.audit_rows // QUICK_FACTOR),
            events_stations=max(1, self.events_stations // QUICK_FACTOR),
            replan_stations=max(4, self.replan_stations // QUICK_FACTOR),
            events_seconds=max(0.5, self.events_seconds / QUICK_FACTOR),
            fleet_page_stations=max(1, self.fleet_page_stations // QUICK_FACTOR),
        )
