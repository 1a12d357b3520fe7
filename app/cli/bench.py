"""`chargeplan bench`: the load benchmark against the floor and stock servers."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.bench.config import (
    ALL_SCENARIOS,
    ALL_SERVERS,
    BenchConfig,
    Scenario,
    ServerKind,
    default_workers,
)
from app.bench.limits import raise_open_files_limit
from app.bench.report import format_notes, format_table
from app.bench.runner import run_bench

DEFAULTS = D = BenchConfig()

DESCRIPTION = f"""\
Load benchmark on 127.0.0.1. Starts each server itself: chargeplan (fresh temporary SQLite
database, or a fresh database under --database-url), "floor" (bare websockets + json, fixed
answers) and "stock" (the `ocpp` package's ChargePoint). Drives each from separate load
processes (raw websocket stations, one outstanding CALL each) and prints one table with
chargeplan's ratio to each reference. A msg is one answered CALL.

Scenarios (default: every one; --scenarios to choose):
  heartbeat   {D.stations} stations boot, then send Heartbeats as fast as answered for
              {D.seconds:g} s: msgs_per_s, p50_ms, p99_ms, errors, audit_rows_per_s,
              server_peak_rss_kb (sampled every 100 ms)
  storm       {D.storm_stations:,} stations connect at once (at most --connect-concurrency
              handshakes in flight), boot, report connectors 1 and 2 Available:
              seconds, conns_per_s, errors, rss_kb_per_station
  steady      the storm's stations stay connected and send MeterValues and Heartbeats
              (1 in {D.steady_heartbeat_every}) at {D.steady_rate_per_s:g} msg/s in total for \
{D.steady_seconds:g} s: p50_ms, p99_ms
              (counted from when each CALL was due), audit_rows, audit_queue_depth (rows
              not yet committed as the load ends), audit_queue_peak (the most seen, polled
              every second from /metrics or /health), errors, gc_full_collections
              (full garbage collections during the load), gc_full_pause_max_ms (the
              longest since the server started), tracked_objects_per_station (objects
              the collector tracks as the load ends, per station, from
              /metrics?count_objects=true)
  throughput  {D.throughput_stations} stations send MeterValues as fast as answered for \
{D.seconds:g} s:
              msgs_per_s, p99_ms, errors, cpu_s_per_1000_msgs (server process)
  fanout      chargeplan only (floor and stock have no plans: "-" in the table, null in
              the JSON). {D.fanout_stations:,} stations are registered with the tag "bench-fanout"
              (POST /stations), connect and boot; then one plan for that tag (POST /plans,
              7 kW TxDefaultProfile). From that request, polled every 100 ms:
              seconds (until GET /plans/{{id}}/status shows every station accepted),
              calls_per_s (stations / seconds), audit_seconds (until the audit table holds
              every station's SetChargingProfile answer), errors (stations not accepted
              within 60 s + 1 s per 50 stations)
  fanout_fleet
              chargeplan only, on the storm's connections: one plan naming all
              {D.storm_stations:,} storm stations by id; figures as for fanout
  audit       chargeplan only. The server's audit writer alone (same class and settings)
              takes {D.audit_rows:,} MeterValues frames as fast as it accepts them into the
              run's database, then stops cleanly: rows_per_s (until every row is
              committed), seconds, rows_lost (put minus counted: must be 0)
  allocation  chargeplan only, in process (no server): one load-management solve of
              {D.allocation_sessions:,} sessions on a three-level circuit tree (grid, 10
              feeders, 100 sub-panels; per-phase, kW and imbalance limits), repeated 30
              times: sessions, admitted, solve_p50_ms, solve_max_ms (wall clock),
              solve_cpu_ms (process CPU per solve; target for p50: under 50 ms); and one
              plan ahead of it, every session with a need, 96 slots of 15 minutes:
              plan_s (wall clock; target: under 5 s), plan_cpu_s (process CPU), plan_kwh
              (energy planned by the departures), plan_cost (at the slots' prices),
              plan_by_planner (0: the water level decided), and CPU per step:
              plan_build_cpu_s (the LP), plan_first_tier_cpu_s, plan_other_tiers_cpu_s
              (energy stages), plan_cost_cpu_s, plan_sooner_cpu_s, plan_fairness_cpu_s
              (-: not a stage of that plan)
  replan      chargeplan only: {D.replan_stations} stations on one circuit, each charging
              (most held by their own 8 A, up to 30 sharing at 30 A); one sharing station
              sends StopTransaction: stations, raised (limits that must go up), resent
              (TxProfiles sent), stop_to_accepted_s (until the last raised limit is
              answered Accepted, the server's 2 s debounce included; target: under 5 s),
              errors
  events      chargeplan only: {D.events_stations:,} stations connected, the steady load for
              {D.events_seconds:g} s with nobody listening and {D.events_seconds:g} s with
              {D.events_listeners} SSE clients reading GET /events, in the order quiet,
              listened, listened, quiet (half the time each, so that drift during the run
              weighs on both alike): stations, listeners,
              p99_ms_without, p99_ms_with, p99_ratio (target: at most 1.10),
              events_received, errors
  fleet_page  chargeplan only: {D.fleet_page_stations:,} stations written into the database, then
              GET /ui/api/fleet (the dashboard's fleet table, 50 a page) 30 times each:
              stations, first_p50_ms, first_p99_ms (page 1), last_p99_ms (the last
              page), search_p99_ms (the last station's id)
  fanout_nodes
              chargeplan only, on PostgreSQL (--nodes-database-url, else --database-url;
              make bench starts a throwaway server): {D.fanout_stations:,} stations spread over
              {D.nodes} nodes (serve --node-id, station n to node n mod {D.nodes}, as a round-robin
              TCP balancer spreads them), one plan for all created on the first node;
              then the same with one node, in the same run: stations, one_node_seconds,
              nodes_seconds, one_node_calls_per_s, nodes_calls_per_s (as for fanout),
              errors (stations not accepted, both runs together)
  acn         in process (needs the bench extra: acnportal): ACN-Sim on the Caltech March
              2019 sessions (first --acn-days, default {D.acn_days}) on acnportal's caltech_acn
              network, 5-minute steps, per transformer capacity (--acn-capacities): uncontrolled,
              FCFS, round robin, EDF, LLF, the water level, the planner and the offline
              optimum (the LP relaxation with every session known: planned_pct, its bound);
              and the planner with SCE's demand charge on a 150 kW transformer; table:
              means of delivered %, decision p50/p95 (wall clock) and p95 of CPU,
              violations (must be 0); every algorithm@capacity figure (delivered_pct,
              served_pct, peak_kw, energy_cost, decision_p50_ms, decision_p95_ms,
              decision_cpu_p50_ms/p95_ms for ours, violations) in --json

--quick runs every chosen scenario at a tenth of its size and duration.
Without PostgreSQL, fanout_nodes is skipped: the table says "skipped", the notes and the
JSON ("skipped": {{"fanout_nodes": reason}}) say why, and the other scenarios run.
Exit status: 0 when every server completed every scenario that was not skipped, 1 otherwise.
"""


def add_parser(subparsers: Any) -> None:
    """Register `bench` on the subparsers of the `chargeplan` command."""
    parser = subparsers.add_parser(
        "bench",
        help="benchmark the server against a bare floor and the stock ocpp package",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    configure_parser(parser)
    parser.set_defaults(handler=run)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    choose = parser.add_mutually_exclusive_group()
    choose.add_argument(
        "--scenarios",
        type=_scenarios,
        help=f"comma-separated, from {','.join(ALL_SCENARIOS)} (default: every one)",
    )
    choose.add_argument("--all", action="store_true", help="run every scenario (the default)")
    parser.add_argument(
        "--servers",
        type=_servers,
        default=ALL_SERVERS,
        help=f"comma-separated, from {','.join(ALL_SERVERS)} (default: all three)",
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    for flag, field, kind, help_text in SIZES:
        default = default_workers() if field == "workers" else getattr(DEFAULTS, field)
        parser.add_argument(flag, dest=field, type=kind, default=default, help=help_text,
                            metavar=flag.lstrip("-").replace("-", "_").upper())
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (postgresql+asyncpg://...) under which each chargeplan start "
        "gets a fresh database, dropped afterwards (default: a temporary SQLite file)",
    )
    parser.add_argument(
        "--nodes-database-url",
        help="PostgreSQL URL for fanout_nodes, whose nodes share one database (default: "
        "--database-url)",
    )
    parser.add_argument("--nodes", type=_positive_int, default=DEFAULTS.nodes,
                        help=f"nodes of fanout_nodes (default: {DEFAULTS.nodes})")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR",
        help="record each scenario's server with py-spy (the bench process itself for the "
        "in-process scenarios): DIR/<scenario>-<server>.speedscope.json, a flame graph, "
        "and .top.txt, the functions with the most samples")


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    scenarios: tuple[Scenario, ...] = (
        ALL_SCENARIOS if args.all else (args.scenarios or DEFAULTS.scenarios)
    )
    config = replace(
        DEFAULTS,
        scenarios=scenarios,
        servers=args.servers,
        database_url=args.database_url,
        nodes_database_url=args.nodes_database_url,
        nodes=args.nodes,
        profile_dir=None if args.profile is None else str(args.profile),
        **{field: getattr(args, field) for _, field, _, _ in SIZES},
    )
    return config.quick() if args.quick else config


def run(args: argparse.Namespace) -> int:
    """Run the bench; 0 when every server completed every scenario not skipped, else 1."""
    raise_open_files_limit()
    config = config_from_args(args)
    try:
        result = run_bench(config, progress=lambda message: print(message, file=sys.stderr))
    except KeyboardInterrupt:
        # Every server and load worker has been stopped on the way out.
        print("bench interrupted", file=sys.stderr)
        return 130
    print(format_table(result))
    notes = format_notes(result)
    if notes:
        print(notes)
    if args.json is not None:
        args.json.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return 1 if result.failures else 0


def _scenarios(text: str) -> tuple[Scenario, ...]:
    return _choices(text, Scenario)


def _servers(text: str) -> tuple[ServerKind, ...]:
    return _choices(text, ServerKind)


def _choices(text: str, kind: type[Scenario] | type[ServerKind]) -> tuple[Any, ...]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    try:
        chosen = tuple(dict.fromkeys(kind(name) for name in names))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not chosen:
        raise argparse.ArgumentTypeError("choose at least one")
    return chosen


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _capacities(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("capacities above 0, comma-separated")
    return values


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


# The sizes a run can be given: flag, BenchConfig field, parser, help.
SIZES: tuple[tuple[str, str, Callable[[str], Any], str], ...] = (
    ("--stations", "stations", _positive_int, "heartbeat stations"),
    ("--seconds", "seconds", _positive_float, "heartbeat and throughput duration"),
    ("--storm-stations", "storm_stations", _positive_int, "storm and steady stations"),
    ("--steady-rate", "steady_rate_per_s", _positive_float,
     "steady msgs per second, all stations together"),
    ("--steady-seconds", "steady_seconds", _positive_float, "steady duration"),
    ("--throughput-stations", "throughput_stations", _positive_int, "throughput stations"),
    ("--fanout-stations", "fanout_stations", _positive_int, "fanout stations"),
    ("--audit-rows", "audit_rows", _positive_int, "rows the audit scenario writes"),
    ("--allocation-sessions", "allocation_sessions", _positive_int,
     "sessions of the allocation scenario's depot (--quick keeps it)"),
    ("--workers", "workers", _positive_int,
     "load generator processes (default: CPUs - 1, between 1 and 8)"),
    ("--connect-concurrency", "connect_concurrency", _positive_int,
     "websocket handshakes in flight at once, all workers together"),
    ("--acn-days", "acn_days", _positive_int, "acn: days of March 2019 simulated"),
    ("--acn-capacities", "acn_capacities", _capacities,
     "acn: comma-separated transformer capacities in kW"),
)
