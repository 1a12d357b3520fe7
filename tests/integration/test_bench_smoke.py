"""A small heartbeat bench against the floor server and chargeplan reports plausible figures."""

from __future__ import annotations

import pytest

from app.bench import BenchConfig, Scenario, ServerKind, run_bench
from app.bench.report import format_table
from app.bench.runner import BenchResult
from app.bench.scenarios import FIGURES

SMOKE = BenchConfig(
    scenarios=(Scenario.HEARTBEAT,),
    servers=(ServerKind.FLOOR, ServerKind.CHARGEPLAN),
    # Enough stations that each stays far below the per-station inbound rate limit.
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


@pytest.mark.timeout(60)
def test_every_server_completes_without_errors(result: BenchResult) -> None:
    assert result.failures == []
    assert result.error_samples == {}
    assert result.machine["cpu_count"] >= 1


@pytest.mark.parametrize("server", [ServerKind.FLOOR, ServerKind.CHARGEPLAN])
def test_heartbeat_figures_are_plausible(result: BenchResult, server: ServerKind) -> None:
    figures = heartbeat_figures(result, server)

    assert figures["errors"] == 0
    assert figures["msgs_per_s"] > 50
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] < 5_000
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
