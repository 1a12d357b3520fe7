"""Run the chosen scenarios against each server, a fresh server start per scenario group."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from app.bench import scenarios
from app.bench.config import IN_PROCESS, BenchConfig, Scenario, ServerKind, applies
from app.bench.errors import BenchError
from app.bench.fanout import fanout, fanout_fleet
from app.bench.profile import recording
from app.bench.scenarios import Outcome
from app.bench.servers import RunningServer, running_server

Progress = Callable[[str], None]
ServerRun = Callable[[RunningServer, BenchConfig], dict[Scenario, Outcome]]


@dataclass
class BenchResult:
    machine: dict[str, Any]
    config: dict[str, Any]
    # scenario -> server -> figure -> value; a server that failed, one the scenario does
    # not apply to (see CHARGEPLAN_ONLY), or a skipped scenario maps to None: `failures`
    # and `skipped` tell them apart.
    scenarios: dict[str, dict[str, dict[str, Any] | None]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # scenario -> why it was not run (fanout_nodes without PostgreSQL): not a failure.
    skipped: dict[str, str] = field(default_factory=dict)
    error_samples: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "memory_mb": psutil.virtual_memory().total // (1024 * 1024),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def run_bench(config: BenchConfig, progress: Progress | None = None) -> BenchResult:
    """Every chosen scenario against every chosen server; failures are recorded, not raised."""
    say = progress or (lambda _message: None)
    result = BenchResult(machine=machine_info(), config=_config_json(config))
    for scenario in config.scenarios:
        result.scenarios[scenario.value] = {}
    for group, server_run in _groups(config):
        reason = _skip_reason(group, config)
        if reason is not None:
            for scenario in group:
                result.skipped[scenario.value] = reason
                result.scenarios[scenario.value] = {kind.value: None for kind in config.servers}
            say(f"{'+'.join(s.value for s in group)}: skipped, {reason}")
            continue
        for kind in config.servers:
            label = "+".join(s.value for s in group)
            for scenario in group:
                if not applies(scenario, kind):
                    result.scenarios[scenario.value][kind.value] = None
            if not any(applies(scenario, kind) for scenario in group):
                continue
            say(f"{label}: {kind.value} ...")
            if set(group) <= IN_PROCESS:
                for scenario in group:
                    with profiled(config, scenario, kind, os.getpid()):
                        figures = _in_process(scenario, config).figures
                    result.scenarios[scenario.value][kind.value] = figures
                continue
            try:
                if server_run is None:
                    outcomes = _own_servers(config)
                else:
                    with running_server(kind, config) as server:
                        if server_run is _storm_then_steady:  # profiled scenario by scenario
                            outcomes = server_run(server, config)
                        else:
                            with profiled(config, group[0], kind, server.pid):
                                outcomes = server_run(server, config)
            except BenchError as exc:
                result.failures.append(f"{label} on {kind.value}: {exc}")
                say(f"{label}: {kind.value} failed: {exc}")
                for scenario in group:
                    result.scenarios[scenario.value][kind.value] = None
                continue
            for scenario in group:
                if scenario not in outcomes:
                    continue
                outcome = outcomes[scenario]
                result.scenarios[scenario.value][kind.value] = outcome.figures
                if outcome.error_samples:
                    result.error_samples[f"{scenario.value}/{kind.value}"] = outcome.error_samples
    return result


def profiled(config: BenchConfig, scenario: Scenario, kind: ServerKind, pid: int
             ) -> contextlib.AbstractContextManager[None]:
    """A py-spy recording of ``pid`` while the block runs, with --profile; else nothing."""
    directory = None if config.profile_dir is None else Path(config.profile_dir)
    return recording(directory, f"{scenario.value}-{kind.value}", pid)


def _skip_reason(group: tuple[Scenario, ...], config: BenchConfig) -> str | None:
    """Why a group cannot run on this machine at all (not a failure of any server): the
    other scenarios still run, and the run still counts as complete."""
    if group != (Scenario.FANOUT_NODES,) or ServerKind.CHARGEPLAN not in config.servers:
        return None
    from app.bench.fanout_nodes import missing_postgres

    return missing_postgres(config)


def _own_servers(config: BenchConfig) -> dict[Scenario, Outcome]:
    from app.bench.fanout_nodes import fanout_nodes

    return {Scenario.FANOUT_NODES: fanout_nodes(config)}


def _in_process(scenario: Scenario, config: BenchConfig) -> Outcome:
    if scenario is Scenario.ACN:
        from app.bench.acn import acn_outcome

        return acn_outcome(config.acn_days, config.acn_capacities)
    from app.bench.allocation import allocation_solve

    assert scenario is Scenario.ALLOCATION
    return allocation_solve(config.allocation_sessions)


def _allocation(_server: RunningServer, config: BenchConfig) -> dict[Scenario, Outcome]:
    return {Scenario.ALLOCATION: _in_process(Scenario.ALLOCATION, config)}


def _groups(config: BenchConfig) -> list[tuple[tuple[Scenario, ...], ServerRun | None]]:
    """Scenarios that share one server start: steady runs on the storm's connections."""
    chosen = set(config.scenarios)
    groups: list[tuple[tuple[Scenario, ...], ServerRun | None]] = []
    if Scenario.HEARTBEAT in chosen:
        groups.append(((Scenario.HEARTBEAT,), _heartbeat))
    connected = tuple(s for s in (Scenario.STORM, Scenario.STEADY, Scenario.FANOUT_FLEET)
                      if s in chosen)
    if connected:
        groups.append((connected, _storm_then_steady))
    if Scenario.THROUGHPUT in chosen:
        groups.append(((Scenario.THROUGHPUT,), _throughput))
    if Scenario.FANOUT in chosen:
        groups.append(((Scenario.FANOUT,), _fanout))
    if Scenario.AUDIT in chosen:
        groups.append(((Scenario.AUDIT,), _audit))
    if Scenario.ALLOCATION in chosen:
        groups.append(((Scenario.ALLOCATION,), _allocation))
    if Scenario.ACN in chosen:
        groups.append(((Scenario.ACN,), None))  # in process
    if Scenario.REPLAN in chosen:
        groups.append(((Scenario.REPLAN,), _replan))
    if Scenario.EVENTS in chosen:
        groups.append(((Scenario.EVENTS,), _events))
    if Scenario.FLEET_PAGE in chosen:
        groups.append(((Scenario.FLEET_PAGE,), _fleet_page))
    if Scenario.FANOUT_NODES in chosen:
        groups.append(((Scenario.FANOUT_NODES,), None))  # starts servers of its own
    return groups


def _heartbeat(server: RunningServer, config: BenchConfig) -> dict[Scenario, Outcome]:
    return {Scenario.HEARTBEAT: scenarios.heartbeat(server, config)}


def _replan(server: RunningServer, config: BenchConfig) -> dict[Scenario, Outcome]:
    from app.bench.replan import replan_after_stop

    return {Scenario.REPLAN: replan_after_stop(server, config)}


def _events(server: RunningServer, config: BenchConfig) -> dict[Scenario, Outcome]:
    from app.bench.events import events_overhead

    return {Scenario.EVENTS: events_overhead(server, config)}


def _fleet_page(server: RunningServer, config: BenchConfig) -> dict[Scenario, Outcome]:
    from app.bench.fleet_page import fleet_page

    return {Scenario.FLEET_PAGE: fleet_page(server, config)}


def _throughput(server: RunningServer, config: BenchConfig) -> dict[Scenario, Outcome]:
    return {Scenario.THROUGHPUT: scenarios.throughput(server, config)}


def _fanout(server: RunningServer, config: BenchConfig) -> dict[Scenario, Outcome]:
    return {Scenario.FANOUT: fanout(server, config)}


def _audit(server: RunningServer, config: BenchConfig) -> dict[Scenario, Outcome]:
    # Imported here: it loads the server's database layer, which the load worker
    # processes (spawned, so they import this package afresh) have no use for.
    from app.bench.audit_rate import audit_rate

    return {Scenario.AUDIT: audit_rate(server, config)}


def _storm_then_steady(server: RunningServer, config: BenchConfig) -> dict[Scenario, Outcome]:
    outcomes: dict[Scenario, Outcome] = {}
    with scenarios.open_pool(server, config.storm_stations, config) as pool:
        # The storm is also how steady's stations get connected.
        with profiled(config, Scenario.STORM, server.kind, server.pid):
            outcomes[Scenario.STORM] = scenarios.storm(server, pool, config)
        if Scenario.STEADY in config.scenarios:
            with profiled(config, Scenario.STEADY, server.kind, server.pid):
                outcomes[Scenario.STEADY] = scenarios.steady(server, pool, config)
        if Scenario.FANOUT_FLEET in config.scenarios and applies(Scenario.FANOUT_FLEET,
                                                                   server.kind):
            with profiled(config, Scenario.FANOUT_FLEET, server.kind, server.pid):
                outcomes[Scenario.FANOUT_FLEET] = fanout_fleet(server, pool, config)
    return outcomes


def _config_json(config: BenchConfig) -> dict[str, Any]:
    raw = asdict(config)
    raw["scenarios"] = [s.value for s in config.scenarios]
    raw["servers"] = [s.value for s in config.servers]
    raw.pop("python", None)
    for key in ("database_url", "nodes_database_url"):
        if raw.get(key):
            raw[key] = "postgresql (given)"
    return raw
