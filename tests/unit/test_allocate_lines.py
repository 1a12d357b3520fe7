"""``chargeplan allocate --lines``: one answer per line, a bad line does not end it."""

from __future__ import annotations

import json
import subprocess
import sys

SITE = {
    "at": "2026-06-01T16:00:00Z", "supply_voltage_v": 120,
    "nodes": [{"id": "tx", "parent": None, "max_current_a": 30, "transformer": {"ratio": 4}},
              {"id": "sec", "parent": "tx", "max_current_a": 80}],
    "sessions": [{"id": "a", "node": "sec", "phases": ["L1", "L2"], "wiring": "line-to-line",
                  "min_current_a": 6, "max_current_a": 32, "energy_kwh": 10,
                  "departure": "2026-06-01T20:00:00Z"}],
    "prices": [{"from": "2026-06-01T16:00:00Z", "to": "2026-06-02T16:00:00Z",
                "price_per_kwh": 0.3}],
}


def test_lines_answers_each_line_and_survives_bad_ones() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "allocate", "--lines"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdin is not None and process.stdout is not None
    # Each answer arrives before the next line is written: flushed per line.
    process.stdin.write(json.dumps(SITE) + "\n")
    process.stdin.flush()
    first = json.loads(process.stdout.readline())
    process.stdin.write("not json\n")
    process.stdin.flush()
    second = json.loads(process.stdout.readline())
    bad = dict(SITE, sessions=[dict(SITE["sessions"][0], wiring="delta")])  # type: ignore[arg-type]
    process.stdin.write(json.dumps(bad) + "\n")
    process.stdin.close()
    third = json.loads(process.stdout.readline())
    assert process.wait() == 0
    assert first["decided_by"] == "planner"
    assert set(first["sessions"]["a"]) >= {"limit_a", "periods", "planned_kwh", "shortfall_kwh",
                                           "need_source"}
    assert first["sessions"]["a"]["need_source"] == "request"
    assert first["sessions"]["a"]["shortfall_kwh"] < 0.05
    assert "planned_cost" in first and "planned_peak_kw" in first
    assert list(second) == ["error"]
    assert third == {"error": ['sessions[0].wiring: must be "line-to-neutral" or "line-to-line"']}


def test_graded_slots_are_read_from_the_site() -> None:
    from datetime import UTC, datetime

    from app.cli.allocate import read_request

    data = dict(SITE, fine_step_s=300, fine_horizon_s=3600, horizon_s=7200)
    request, _ = read_request(data, now=datetime(2026, 6, 1, 16, 0, tzinfo=UTC))
    assert [length for _, length in request.horizon.slots()] == [300] * 12 + [900] * 4
