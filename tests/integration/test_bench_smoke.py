"""The bench runs a small heartbeat load end to end and reports plausible figures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.bench import BenchConfig, Scenario, ServerKind, run_bench
from app.bench.report import format_table
from app.bench.scenarios import FIGURES

SMOKE = BenchConfig(
    scenarios=(Scenario.HEARTBEAT,),
    stations=20,
    seconds=1.0,
    workers=1,
    call_timeout_s=5.0,
    server_start_timeout_s=30.0,
)


@pytest.mark.timeout(30)
def test_heartbeat_against_the_floor_server_reports_every_figure() -> None:
    result = run_bench(replace(SMOKE, servers=(ServerKind.FLOOR,)))

    assert result.failures == []
    figures = result.scenarios["heartbeat"]["floor"]
    assert figures is not None
    assert set(figures) == set(FIGURES[Scenario.HEARTBEAT])
    assert figures["errors"] == 0
    assert figures["msgs_per_s"] > 100
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] < 5_000
    assert figures["server_peak_rss_kb"] > 1_000
    # Only chargeplan writes an audit log.
    assert figures["audit_rows_per_s"] is None
    assert result.machine["cpu_count"] >= 1


@pytest.mark.timeout(30)
def test_table_shows_one_row_per_heartbeat_figure_with_the_floor_value() -> None:
    result = run_bench(replace(SMOKE, servers=(ServerKind.FLOOR,)))

    lines = format_table(result).splitlines()
    header, rows = lines[0].split(), lines[2:]
    assert header == [
        "scenario",
        "figure",
        "chargeplan",
        "floor",
        "stock",
        "chargeplan/floor",
        "chargeplan/stock",
    ]
    assert [row.split()[1] for row in rows] == list(FIGURES[Scenario.HEARTBEAT])
    errors_row = next(row.split() for row in rows if row.split()[1] == "errors")
    assert errors_row[2:] == ["-", "0", "-", "-", "-"]
