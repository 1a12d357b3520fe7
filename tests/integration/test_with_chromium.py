"""make test brings the browser the browser tests drive, as it brings PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "with_chromium.sh"


def run_script(*command: str, chromium: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHARGEPLAN_TEST_CHROMIUM"}
    if chromium is not None:
        env["CHARGEPLAN_TEST_CHROMIUM"] = chromium
    return subprocess.run(["bash", str(SCRIPT), *command], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_runs_the_suite_behind_both_installers() -> None:
    planned = subprocess.run(["make", "-n", "test", "PYTEST_ARGS=-q"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=True).stdout
    (line,) = [cmd for cmd in planned.splitlines() if "pytest" in cmd]
    assert line.startswith("bash tests/with_chromium.sh bash tests/with_postgres.sh ")


def test_the_command_runs_when_chromium_is_there(tmp_path: Path) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    done = run_script("sh", "-c", "exit 7", chromium=str(browser))
    assert done.returncode == 7  # the command's own status, nothing installed
    assert done.stderr == ""


def test_a_named_chromium_that_is_missing_is_an_error_not_an_install(tmp_path: Path) -> None:
    done = run_script("true", chromium=str(tmp_path / "none"))
    assert done.returncode == 1
    assert "CHARGEPLAN_TEST_CHROMIUM" in done.stderr
    assert "installing" not in done.stderr
