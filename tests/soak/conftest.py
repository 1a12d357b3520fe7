"""The soak and fault suite: scenarios of a hostile or unlucky station, and of a crash,
against `chargeplan serve` as its own process, each asserting its figure.

`make soak` runs them at full size (CHARGEPLAN_SOAK=full: minutes); `make test` runs the
same scenarios once in a short form that asserts behaviour only, never the machine's
speed. A scenario is one file here; it sizes itself with the ``size`` fixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_sqlite_template
from tests.serve_process import ServeProcess


@dataclass(frozen=True)
class Size:
    full: bool
    # The crash-after-answer scenario's rounds, the junk frames of one station, the
    # stations connected when the server is killed.
    kill_rounds: int
    junk_frames: int
    stations: int


FULL = Size(full=True, kill_rounds=10, junk_frames=10_000, stations=200)
SHORT = Size(full=False, kill_rounds=1, junk_frames=200, stations=3)


@pytest.fixture(scope="session")
def size() -> Size:
    return FULL if os.environ.get("CHARGEPLAN_SOAK") == "full" else SHORT


@pytest.fixture
def serve(tmp_path: Path, sqlite_template: Path) -> Iterator[ServeProcess]:
    """`chargeplan serve` on a database of its own at the latest migration."""
    database = tmp_path / "chargeplan.db"
    copy_sqlite_template(sqlite_template, database)
    process = ServeProcess(database)
    process.start()
    try:
        yield process
    finally:
        process.stop()
