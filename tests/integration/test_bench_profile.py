"""`chargeplan bench --profile DIR`: a flame graph of the server per scenario, recorded by
py-spy while the scenario's load runs, and a summary of where its time went."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(120)
def test_profile_records_the_server_while_the_scenario_runs(tmp_path: Path) -> None:
    out = tmp_path / "profiles"
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--scenarios", "throughput", "--servers",
         "chargeplan", "--throughput-stations", "4", "--seconds", "3", "--workers", "1",
         "--profile", str(out)],
        capture_output=True, text=True, timeout=110, check=False)
    assert run.returncode == 0, run.stderr[-2000:]

    profile = json.loads((out / "throughput-chargeplan.speedscope.json").read_text())
    files = {str(frame.get("file")) for frame in profile["shared"]["frames"]}
    # The samples are of the server answering its stations, not of the bench process
    # (which functions a loaded machine lets py-spy catch in a few seconds varies).
    assert any("/app/ocpp/" in file for file in files)
    assert not any("/app/bench/" in file for file in files)
    assert sum(len(thread["samples"]) for thread in profile["profiles"]) > 0

    top = (out / "throughput-chargeplan.top.txt").read_text()
    assert top.startswith("CPU while recorded: ")
    assert "MainThread" in top
    assert "\nself (% of " in top and "\ntotal (% of " in top
    # Which of the server's functions lead depends on how many samples a loaded machine
    # leaves the second of load: some of chargeplan's own code is among them.
    total = top[top.index("\ntotal (% of "):]
    assert any("/app/" in line for line in total.splitlines()[1:])
