"""Small bench runs report plausible figures: heartbeat on floor and chargeplan, fanout on
chargeplan alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.bench import BenchConfig, Scenario, ServerKind, run_bench
from app.bench.report import format_notes, format_table
from app.bench.runner import BenchResult
from app.bench.scenarios import FIGURES

SMOKE = BenchConfig(
    scenarios=(Scenario.HEARTBEAT,),
    servers=(ServerKind.FLOOR, ServerKind.CHARGEPLAN),
    # The bench server lifts the per-station rate limit (app/bench/servers.py), so the
    # closed loop runs as fast as the machine allows without errors.
    stations=30,
    seconds=1.0,
    workers=1,
    call_timeout_s=5.0,
    server_start_timeout_s=30.0,
)


@pytest.fixture(scope="module")
def result() -> BenchResult:
    return run_bench(SMOKE)


def heartbeat_figures(result: BenchResult, server: ServerKind) -> dict[str, float]:
    figures = result.scenarios["heartbeat"][server.value]
    assert figures is not None, result.failures
    assert set(figures) == set(FIGURES[Scenario.HEARTBEAT])
    return figures


def rate_matches(rate: float, count: int, seconds: float) -> bool:
    """A rate figure agrees with its count and seconds figures. The seconds are rounded to
    the millisecond, which on a fast machine is several per cent of a short run, so the
    rate lies anywhere the rounding allows (and itself to a tenth)."""
    low, high = seconds - 0.0005, seconds + 0.0005
    return count / high - 0.05 <= rate <= count / max(low, 1e-9) + 0.05


@pytest.mark.timeout(60)
def test_every_server_completes_without_errors(result: BenchResult) -> None:
    assert result.failures == []
    assert result.error_samples == {}
    assert result.machine["cpu_count"] >= 1


@pytest.mark.parametrize("server", [ServerKind.FLOOR, ServerKind.CHARGEPLAN])
def test_heartbeat_figures_are_plausible(result: BenchResult, server: ServerKind) -> None:
    figures = heartbeat_figures(result, server)

    assert figures["errors"] == 0
    # How fast is the machine's business (make bench reports it); that it answered is ours.
    assert figures["msgs_per_s"] > 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["server_peak_rss_kb"] > 1_000


def test_only_chargeplan_reports_audit_rows_for_every_frame(result: BenchResult) -> None:
    floor = heartbeat_figures(result, ServerKind.FLOOR)
    chargeplan = heartbeat_figures(result, ServerKind.CHARGEPLAN)

    assert floor["audit_rows_per_s"] is None
    # Every Heartbeat CALL and its CALLRESULT is one audit row each.
    assert chargeplan["audit_rows_per_s"] >= 1.8 * chargeplan["msgs_per_s"]


def test_table_has_a_row_per_figure_and_the_ratio_to_the_floor(result: BenchResult) -> None:
    lines = format_table(result).splitlines()
    header, rows = lines[0].split(), [line.split() for line in lines[2:]]

    assert header == [
        "scenario",
        "figure",
        "chargeplan",
        "floor",
        "stock",
        "chargeplan/floor",
        "chargeplan/stock",
    ]
    assert [row[1] for row in rows] == list(FIGURES[Scenario.HEARTBEAT])
    msgs = next(row for row in rows if row[1] == "msgs_per_s")
    assert msgs[4] == "-"  # stock was not run
    assert msgs[5].endswith("x") and float(msgs[5][:-1]) > 0
    errors = next(row for row in rows if row[1] == "errors")
    assert errors[2:5] == ["0", "0", "-"]


FANOUT = BenchConfig(
    scenarios=(Scenario.FANOUT,),
    servers=(ServerKind.CHARGEPLAN, ServerKind.FLOOR),
    fanout_stations=20,
    workers=1,
    call_timeout_s=5.0,
    server_start_timeout_s=30.0,
)


@pytest.fixture(scope="module")
def fanout_result() -> BenchResult:
    return run_bench(FANOUT)


@pytest.mark.timeout(60)
def test_fanout_plan_reaches_every_station_and_the_audit_table(
    fanout_result: BenchResult,
) -> None:
    assert fanout_result.failures == []
    assert fanout_result.error_samples == {}
    figures = fanout_result.scenarios["fanout"]["chargeplan"]
    assert figures is not None
    assert set(figures) == set(FIGURES[Scenario.FANOUT])

    assert figures["errors"] == 0
    assert figures["seconds"] > 0
    assert rate_matches(figures["calls_per_s"], 20, figures["seconds"])
    assert figures["audit_seconds"] > 0


def test_fanout_is_not_applicable_to_servers_without_plans(fanout_result: BenchResult) -> None:
    assert fanout_result.scenarios["fanout"]["floor"] is None
    assert not any("floor" in failure for failure in fanout_result.failures)
    rows = [line.split() for line in format_table(fanout_result).splitlines()[2:]]

    assert [row[1] for row in rows] == list(FIGURES[Scenario.FANOUT])
    assert all(row[3:] == ["-", "-", "-", "-"] for row in rows)


@pytest.mark.timeout(120)
def test_audit_scenario_commits_every_row_it_puts() -> None:
    result = run_bench(BenchConfig(scenarios=(Scenario.AUDIT,),
                                   servers=(ServerKind.CHARGEPLAN, ServerKind.STOCK),
                                   audit_rows=3_000, workers=1, server_start_timeout_s=30.0))

    assert result.failures == []
    figures = result.scenarios["audit"]["chargeplan"]
    assert figures is not None
    assert set(figures) == set(FIGURES[Scenario.AUDIT])
    assert figures["rows_lost"] == 0
    assert rate_matches(figures["rows_per_s"], 3_000, figures["seconds"])
    assert result.scenarios["audit"]["stock"] is None


@pytest.mark.timeout(120)
def test_fleet_fanout_reaches_every_storm_station_by_id() -> None:
    result = run_bench(BenchConfig(scenarios=(Scenario.STORM, Scenario.FANOUT_FLEET),
                                   servers=(ServerKind.CHARGEPLAN, ServerKind.FLOOR),
                                   storm_stations=30, workers=1, call_timeout_s=5.0,
                                   server_start_timeout_s=30.0))

    assert result.failures == []
    assert result.error_samples == {}
    figures = result.scenarios["fanout_fleet"]["chargeplan"]
    assert figures is not None
    assert figures["errors"] == 0
    assert rate_matches(figures["calls_per_s"], 30, figures["seconds"])
    # The floor has no plans, but its storm still ran on the same connections.
    assert result.scenarios["fanout_fleet"]["floor"] is None
    assert result.scenarios["storm"]["floor"] is not None


def test_allocation_solves_the_depot_in_process_with_no_server() -> None:
    config = BenchConfig(scenarios=(Scenario.ALLOCATION,), servers=tuple(ServerKind),
                         allocation_sessions=100)
    result = run_bench(config)
    assert result.failures == []
    by_server = result.scenarios["allocation"]
    assert by_server["floor"] is None and by_server["stock"] is None
    figures = by_server["chargeplan"]
    assert figures is not None and set(figures) == set(FIGURES[Scenario.ALLOCATION])
    # 100 sessions on 100 sub-panels of 63 A: every minimum fits.
    assert (figures["sessions"], figures["admitted"]) == (100, 100)
    assert figures["solve_cpu_ms"] > 0
    assert "allocation  solve_p50_ms" in format_table(result)


@pytest.mark.timeout(180)
def test_replan_scenario_times_a_stop_until_every_raised_limit_is_accepted() -> None:
    config = BenchConfig(scenarios=(Scenario.REPLAN,), servers=(ServerKind.CHARGEPLAN,),
                         replan_stations=10, workers=1, server_start_timeout_s=60.0)
    result = run_bench(config)
    assert result.failures == []
    figures = result.scenarios["replan"]["chargeplan"]
    assert figures is not None and set(figures) == set(FIGURES[Scenario.REPLAN])
    assert result.error_samples == {}
    # Five of ten share the level; one leaves, and each of the four others is raised.
    assert (figures["stations"], figures["raised"], figures["errors"]) == (10, 4, 0)
    assert figures["resent"] >= 4
    assert figures["stop_to_accepted_s"] > 0
    assert any(line.split()[:2] == ["replan", "stop_to_accepted_s"]
               for line in format_table(result).splitlines())


@pytest.mark.timeout(120)
def test_events_scenario_measures_the_same_load_with_and_without_listeners() -> None:
    result = run_bench(BenchConfig(scenarios=(Scenario.EVENTS,), servers=tuple(ServerKind),
                                   events_stations=20, events_seconds=1.0,
                                   steady_rate_per_s=40.0, workers=1,
                                   server_start_timeout_s=30.0))

    assert result.failures == []
    figures = result.scenarios["events"]["chargeplan"]
    assert figures is not None and set(figures) == set(FIGURES[Scenario.EVENTS])
    assert figures["stations"] == 20 and figures["listeners"] == 5
    assert figures["errors"] == 0
    # The listeners read the middle phases' events (their first meter samples, at least).
    assert figures["events_received"] > 0
    assert figures["p99_ratio"] is not None
    assert result.scenarios["events"]["floor"] is None


@pytest.mark.timeout(120)
def test_fanout_over_nodes_reaches_every_station_on_one_node_and_on_several(
        postgres_url: str) -> None:
    result = run_bench(BenchConfig(scenarios=(Scenario.FANOUT_NODES,),
                                   servers=(ServerKind.CHARGEPLAN, ServerKind.FLOOR),
                                   fanout_stations=12, nodes=2, workers=1,
                                   call_timeout_s=5.0, server_start_timeout_s=60.0,
                                   nodes_database_url=postgres_url))

    assert result.failures == []
    assert result.error_samples == {}
    figures = result.scenarios["fanout_nodes"]["chargeplan"]
    assert figures is not None
    assert set(figures) == set(FIGURES[Scenario.FANOUT_NODES])
    assert figures["stations"] == 12
    assert figures["errors"] == 0
    assert rate_matches(figures["one_node_calls_per_s"], 12, figures["one_node_seconds"])
    assert rate_matches(figures["nodes_calls_per_s"], 12, figures["nodes_seconds"])
    assert result.scenarios["fanout_nodes"]["floor"] is None


def test_fanout_over_nodes_without_postgresql_is_skipped_saying_what_it_needs() -> None:
    result = run_bench(BenchConfig(scenarios=(Scenario.FANOUT_NODES,),
                                   servers=(ServerKind.CHARGEPLAN, ServerKind.FLOOR)))

    assert result.failures == []
    assert result.scenarios["fanout_nodes"] == {"chargeplan": None, "floor": None}
    assert set(result.skipped) == {"fanout_nodes"}
    assert "needs PostgreSQL" in result.skipped["fanout_nodes"]
    assert "--nodes-database-url" in result.skipped["fanout_nodes"]
    rows = [line.split() for line in format_table(result).splitlines()[2:]]
    # Skipped where it would have run; not applicable ("-") where it never runs.
    assert all(row[2:5] == ["skipped", "-", "-"] for row in rows)
    assert format_notes(result).startswith("skipped: fanout_nodes needs PostgreSQL")


@pytest.mark.timeout(120)
def test_bench_without_postgresql_runs_the_rest_writes_json_and_exits_0(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CHARGEPLAN_TEST_POSTGRES_URL", "CHARGEPLAN_DATABASE_URL")}
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--quick", "--servers", "chargeplan",
         "--scenarios", "allocation,fanout_nodes", "--allocation-sessions", "100",
         "--json", str(out)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=110, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["failures"] == []
    assert figures["scenarios"]["allocation"]["chargeplan"]["sessions"] == 100
    assert figures["scenarios"]["fanout_nodes"] == {"chargeplan": None}
    assert "needs PostgreSQL" in figures["skipped"]["fanout_nodes"]
    table = [line.split() for line in done.stdout.splitlines()]
    assert ["fanout_nodes", "stations", "skipped", "-", "-", "-", "-"] in table
    assert "skipped: fanout_nodes needs PostgreSQL" in done.stdout


@pytest.mark.timeout(120)
def test_fleet_page_scenario_times_the_fleet_table_on_the_stations_it_wrote() -> None:
    result = run_bench(BenchConfig(scenarios=(Scenario.FLEET_PAGE,),
                                   servers=(ServerKind.CHARGEPLAN,), fleet_page_stations=120,
                                   workers=1, server_start_timeout_s=30.0))

    assert result.failures == []
    figures = result.scenarios["fleet_page"]["chargeplan"]
    assert figures is not None and set(figures) == set(FIGURES[Scenario.FLEET_PAGE])
    assert figures["stations"] == 120
    assert all(figures[f] > 0 for f in FIGURES[Scenario.FLEET_PAGE])
