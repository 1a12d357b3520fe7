"""`chargeplan serve` as its own process, for tests that kill it as an operator (or a
crash) would: SIGKILL, SIGTERM, restart on the same database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


class ServeProcess:
    """One `chargeplan serve` on a SQLite file (or the PostgreSQL ``url``, its log then
    next to ``database``); start() again after a kill restarts it."""

    def __init__(self, database: Path, *, url: str | None = None, args: tuple[str, ...] = (),
                 **settings: str) -> None:
        self.database = database
        self.args = args
        self.http_port = free_port()
        self.ocpp_port = free_port()
        # Only the settings given here: serve refuses CHARGEPLAN_ variables it does not
        # know (the suite's own, such as CHARGEPLAN_SOAK).
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CHARGEPLAN_")},
            "CHARGEPLAN_DATABASE_URL": url or f"sqlite+aiosqlite:///{database}",
            "CHARGEPLAN_AUTO_MIGRATE": "true",
            "CHARGEPLAN_ADMIT_UNKNOWN_STATIONS": "true",
            "CHARGEPLAN_DEMO_STATION": "false",
            "CHARGEPLAN_HTTP_HOST": "127.0.0.1",
            "CHARGEPLAN_HTTP_PORT": str(self.http_port),
            "CHARGEPLAN_OCPP_HOST": "127.0.0.1",
            "CHARGEPLAN_OCPP_PORT": str(self.ocpp_port),
            "CHARGEPLAN_LOG_LEVEL": "WARNING",
            "CHARGEPLAN_API_AUTH": "off",  # loopback only, as make run
            **{f"CHARGEPLAN_{name.upper()}": value for name, value in settings.items()},
        }
        self.process: subprocess.Popen[str] | None = None
        self.log = database.with_suffix(".log")

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def station_url(self, station_id: str) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/{station_id}"

    def start(self, timeout: float = 180.0) -> None:
        # The timeout only bounds a failure: three nodes starting side by side on a
        # loaded machine (another test process beside them) took more than a minute.
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", *self.args], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        # One client for every poll: httpx.get makes a client each time, and each loads the
        # CA bundle (20 ms of CPU), which at this rate took half a CPU from the start-up
        # being waited for.
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"serve exited with {self.process.returncode}: "
                                       f"{self.log.read_text()[-2000:]}")
                try:
                    if client.get(f"{self.http_url}/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError("serve did not become healthy")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float = 60.0) -> float:
        """SIGTERM; the seconds until the process had exited."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.http_url}{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Read the database file directly (works while the server is down)."""
        with sqlite3.connect(self.database) as conn:
            return list(conn.execute(sql, params).fetchall())
