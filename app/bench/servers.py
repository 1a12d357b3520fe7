"""Start the servers under test as subprocesses on 127.0.0.1, wait until ready, stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from app.bench.config import BenchConfig, ServerKind
from app.bench.database import BenchDatabase, PostgresDatabase, SqliteDatabase
from app.bench.errors import BenchError
from app.bench.probes import http_get

HOST: Final = "127.0.0.1"
# CALLs a second one bench station may send before the server answers "rate limit": a
# round trip would have to take a microsecond.
BENCH_INBOUND_RATE_PER_S: Final = 1_000_000
STOP_TIMEOUT_S: Final = 20.0
POLL_S: Final = 0.1
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RunningServer:
    kind: ServerKind
    pid: int
    ocpp_url: str
    http_url: str | None
    database: BenchDatabase | None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(kind: ServerKind, config: BenchConfig) -> Iterator[RunningServer]:
    """A freshly started server with a fresh database; stopped with SIGTERM on exit."""
    with tempfile.TemporaryDirectory(prefix=f"chargeplan-bench-{kind}-") as tmp:
        workdir = Path(tmp)
        database: BenchDatabase | None = None
        if kind is ServerKind.CHARGEPLAN:
            database = _fresh_database(config, workdir)
        try:
            with _started(kind, config, workdir, database) as server:
                yield server
        finally:
            if database is not None:
                database.drop()


def _fresh_database(config: BenchConfig, workdir: Path) -> BenchDatabase:
    if not config.database_url:
        return SqliteDatabase(workdir)
    return _fresh_postgres(config.database_url)


def _fresh_postgres(url: str) -> PostgresDatabase:
    try:
        return PostgresDatabase(url)
    except Exception as exc:  # asyncpg raises many kinds; the user needs the reason
        raise BenchError(f"cannot create a bench database: {exc!r}") from exc


@contextlib.contextmanager
def running_nodes(config: BenchConfig, postgres_url: str, count: int
                  ) -> Iterator[list[RunningServer]]:
    """`count` chargeplan nodes (serve --node-id) on one fresh PostgreSQL database. The
    first migrates the database; the others start once it is ready."""
    with tempfile.TemporaryDirectory(prefix="chargeplan-bench-nodes-") as tmp:
        database = _fresh_postgres(postgres_url)
        try:
            with contextlib.ExitStack() as stack:
                servers = []
                for index in range(count):
                    workdir = Path(tmp) / f"node-{index}"
                    workdir.mkdir()
                    servers.append(stack.enter_context(_started(
                        ServerKind.CHARGEPLAN, config, workdir, database,
                        node_id=f"bench-node-{index}")))
                yield servers
        finally:
            database.drop()


@contextlib.contextmanager
def _started(
    kind: ServerKind, config: BenchConfig, workdir: Path, database: BenchDatabase | None,
    node_id: str | None = None,
) -> Iterator[RunningServer]:
    ocpp_port = free_port()
    http_port = free_port() if kind is ServerKind.CHARGEPLAN else None
    command, env = _command(kind, config, ocpp_port, http_port, database)
    if node_id is not None:
        env["CHARGEPLAN_NODE_ID"] = node_id
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches the bench, which then stops
            # the server with SIGTERM so that it can flush its audit queue.
            start_new_session=True,
        )
        try:
            http_url = None if http_port is None else f"http://{HOST}:{http_port}"
            _wait_ready(process, ocpp_port, http_url, config.server_start_timeout_s, log_path)
            yield RunningServer(
                kind=kind,
                pid=process.pid,
                ocpp_url=f"ws://{HOST}:{ocpp_port}",
                http_url=http_url,
                database=database,
            )
        finally:
            stop_process(process)


def _command(
    kind: ServerKind,
    config: BenchConfig,
    ocpp_port: int,
    http_port: int | None,
    database: BenchDatabase | None,
) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if kind is ServerKind.FLOOR:
        return [config.python, "-m", "app.bench.floor_server", "--port", str(ocpp_port)], env
    if kind is ServerKind.STOCK:
        return [config.python, "-m", "app.bench.stock_server", "--port", str(ocpp_port)], env
    assert database is not None and http_port is not None
    env.update(
        CHARGEPLAN_DATABASE_URL=database.url,
        CHARGEPLAN_HTTP_HOST=HOST,
        CHARGEPLAN_HTTP_PORT=str(http_port),
        CHARGEPLAN_OCPP_HOST=HOST,
        CHARGEPLAN_OCPP_PORT=str(ocpp_port),
        CHARGEPLAN_AUTO_MIGRATE="true",
        CHARGEPLAN_ADMIT_UNKNOWN_STATIONS="true",
        CHARGEPLAN_UNKNOWN_ID_TAG_STATUS="Accepted",
        CHARGEPLAN_DEMO_STATION="false",
        CHARGEPLAN_LOG_LEVEL="WARNING",
        # The bench measures the message path, not the per-station rate limit: a station
        # in a closed loop sends its next CALL as soon as the last is answered, which on a
        # fast machine is well over the default 100 a second. Neither reference server
        # limits anything either; no loop reaches this many.
        CHARGEPLAN_INBOUND_RATE_PER_S=str(BENCH_INBOUND_RATE_PER_S),
        CHARGEPLAN_INBOUND_BURST=str(BENCH_INBOUND_RATE_PER_S),
        # Loopback only: the bench drives the REST API without keys.
        CHARGEPLAN_API_AUTH="off",
    )
    return [config.python, "-m", "app.cli", "serve"], env


def _wait_ready(
    process: subprocess.Popen[bytes],
    ocpp_port: int,
    http_url: str | None,
    timeout_s: float,
    log_path: Path,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(
                f"server exited with code {process.returncode} before it was ready:\n"
                f"{_tail(log_path)}"
            )
        if _accepts(ocpp_port) and (http_url is None or _healthy(http_url)):
            return
        time.sleep(POLL_S)
    raise BenchError(f"server not ready within {timeout_s:.0f} s:\n{_tail(log_path)}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def _healthy(http_url: str) -> bool:
    answer = http_get(f"{http_url}/health")
    return answer is not None and answer[0] == 200


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
                 timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Ask ``process`` to stop with ``sig``; killed when it has not within ``timeout_s``."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5.0)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty server log)"
