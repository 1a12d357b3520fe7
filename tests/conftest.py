"""Fixtures shared by the suite: real SQLite files, a real PostgreSQL when configured,
and a real server (REST over uvicorn, OCPP over websockets) on loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import sqlite3
import threading
import types
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from app.clock import Clock, utcnow
from app.db.migrate import upgrade
from app.db.models import AuditFrame
from app.services.container import Services
from app.settings import Settings

POSTGRES_URL_ENV = "CHARGEPLAN_TEST_POSTGRES_URL"
# One TLS context for the suite's HTTP clients: each httpx client would otherwise load the
# CA bundle into a context of its own, 20 ms of CPU, for servers that speak plain HTTP.
HTTP_TLS = httpx.create_ssl_context()


def free_port() -> int:
    """A port for a server this test starts in another process, picked below the
    ephemeral range (32768 and up on Linux): client sockets take their ports from that
    range, so one could grab a port picked there before the server binds it."""
    for _ in range(200):
        port = random.randint(10000, 24999)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 10000 and 24999")


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=database_url,
        http_host="127.0.0.1",
        http_port=free_port(),
        ocpp_host="127.0.0.1",
        ocpp_port=0,
        admit_unknown_stations=True,
        call_timeout_s=5.0,
        audit_flush_interval_s=0.05,
        presence_flush_s=0.2,
        log_level="WARNING",
        # The REST API without keys (loopback only); tests/integration/test_api_access.py
        # runs with keys.
        api_auth=False,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that takes a PostgreSQL fixture is marked ``postgres``, so
    ``-m "not postgres"`` runs the suite without a server. (A fixture parametrised over
    both databases marks its postgresql case itself, with ``pytest.param``.)"""
    for item in items:
        if {"postgres_url", "postgres_server_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity, bounded by a cgroup's CPU quota (a
    container limited to two CPUs of a larger host)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return cpus


# The suite's heaviest tests start several server processes each; more test processes
# than this only make them wait on one another (and on the one PostgreSQL server).
MAX_TEST_PROCESSES = 4


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (``make test``): a test process per usable CPU, at most
    ``MAX_TEST_PROCESSES``; on one CPU none besides this one (the tests run here, without
    the cost of a worker). ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cpus = usable_cpus()
    return 0 if cpus < 2 else min(cpus, MAX_TEST_PROCESSES)


# Under -n (pytest-xdist) the tests of each of these files run in one process, one after
# the other, as one unit of work; every other test is a unit of its own. The files whose
# tests share a module-scoped fixture (a server, a bench run), so that it is built once;
# and, as one group, the files that start several `chargeplan serve` nodes heartbeating
# every second, so that two such clusters never starve each other of CPU (a node that
# misses its heartbeats loses its stations). A new file of either kind belongs here.
# (pytest-xdist's xdist_group marks do not reach its scheduler with pytest 9.)
TOGETHER = {
    "tests/integration/test_api_schema_fuzz.py": "tests/integration/test_api_schema_fuzz.py",
    "tests/integration/test_bench_smoke.py": "tests/integration/test_bench_smoke.py",
    "tests/ocpp/test_arbitrary_frames.py": "tests/ocpp/test_arbitrary_frames.py",
    "tests/integration/test_node_events.py": "nodes",
    "tests/integration/test_node_fleet.py": "nodes",
    "tests/integration/test_nodes.py": "nodes",
}


# The long units of work, in the order they go out under -n, with roughly how long each
# takes (seconds of `--durations` with two test processes): a TOGETHER unit by its name, any
# other by its test's id. Every other unit follows them, larger (in tests) first. Long
# first, so that the run ends on short tests in every process rather than with one process
# running a long unit while the others have nothing left; and the tests that run a depot on
# a clock 200 to 1000 times real time only once the `nodes` cluster (three servers and 300
# stations) is done: beside it, such a clock outran the server (a TransactionEvent answered
# too late). A long test missing here still runs, only later than it should.
SLOW_UNITS_S: dict[str, float] = {
    "nodes": 110.0,
    "tests/integration/test_api_schema_fuzz.py": 70.0,
    "tests/integration/test_bench_smoke.py": 55.0,
    "tests/soak/test_failed_handshakes.py::"
    "test_failed_handshakes_give_their_memory_back": 24.0,
    "tests/unit/test_acn_feasibility.py::"
    "test_quick_scoreboard_is_feasible_and_planner_beats_the_water_level": 12.6,
    "tests/browser/test_no_outside_host.py::test_no_page_requests_an_outside_host": 10.4,
    "tests/e2e/test_readme.py::test_every_sh_block_of_the_docs_runs_against_make_run": 9.5,
    "tests/integration/test_bench_profile.py::"
    "test_profile_records_the_server_while_the_scenario_runs": 6.8,
    # From here on, accelerated clocks: after the cluster (110 s against 70 + 55 + ...).
    "tests/e2e/test_depot_planned.py::"
    "test_a_planned_depot_fills_every_van_that_can_be_full_by_its_departure": 60.0,
    "tests/e2e/test_ev_needs_overnight.py::"
    "test_a_circuit_that_allows_it_gives_the_car_its_30_kwh_by_0600": 30.0,
    "tests/e2e/test_ev_needs_overnight.py::"
    "test_a_circuit_too_small_says_the_shortfall_and_what_binds_it": 19.0,
    "tests/e2e/test_load_management_depot.py::"
    "test_a_depot_is_shared_within_its_limit_and_falls_back_to_safe_shares": 13.0,
    "tests/e2e/test_plan_fanout.py::"
    "test_each_station_of_a_mixed_fleet_shows_its_own_outcome": 7.8,
}
SEND_ORDER = {scope: rank for rank, scope in enumerate(SLOW_UNITS_S)}


def send_rank(scope: str, tests: int) -> tuple[int, int]:
    """Where a unit of work (``scope``, of ``tests`` tests) goes out: the long ones in
    ``SLOW_UNITS_S``'s order, then the rest, larger first."""
    return (SEND_ORDER.get(scope, len(SEND_ORDER)), -tests)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """The scheduling of ``TOGETHER`` for ``-n`` (``--dist load``, its default); another
    ``--dist`` is left as it is. Units of work go out by ``send_rank``."""
    if config.getoption("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Together(LoadScopeScheduling):  # type: ignore[misc]
        ordered = False

        def add_node_collection(self, node: object, collection: list[str]) -> None:
            # Several tests may share an id (schemathesis: one per operation), and a unit
            # of work keeps its tests by id: the second and later get their rank added,
            # or all but one of them would never run.
            seen: Counter[str] = Counter()
            unique = []
            for nodeid in collection:
                seen[nodeid] += 1
                unique.append(nodeid if seen[nodeid] == 1 else f"{nodeid}#{seen[nodeid]}")
            super().add_node_collection(node, unique)

        def _split_scope(self, nodeid: str) -> str:
            return TOGETHER.get(nodeid.split("::", 1)[0], nodeid)

        def _assign_work_unit(self, node: object) -> None:
            # The queue is complete by the first assignment: in send_rank's order from
            # then on (a stable sort: equal units keep their collection order).
            if not self.ordered:
                units = sorted(self.workqueue.items(),
                               key=lambda unit: send_rank(unit[0], len(unit[1])))
                self.workqueue.clear()
                self.workqueue.update(units)
                self.ordered = True
            super()._assign_work_unit(node)

    return Together(config, log)


def worker_id() -> str:
    """The pytest-xdist worker this process is (``gw0``, ...), ``main`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the latest migration, made once per test process (per xdist
    worker): tests get copies of it instead of running every migration again."""
    template = tmp_path_factory.mktemp("template") / "chargeplan.db"
    upgrade(f"sqlite+aiosqlite:///{template}")
    # The file is in WAL mode: fold the log into the main file so that copying the main
    # file alone copies the whole database.
    with closing(sqlite3.connect(template)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return template


def copy_sqlite_template(template: Path, database: Path) -> str:
    """A copy of ``template`` at ``database`` (only the main file: the template has no
    log); its SQLAlchemy URL."""
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, database)
    return f"sqlite+aiosqlite:///{database}"


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A SQLite file of this test's own at the latest migration."""
    return copy_sqlite_template(sqlite_template, tmp_path / "chargeplan.db")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.fail(f"{POSTGRES_URL_ENV} is not set: PostgreSQL tests need a server "
                    "(bash .ci/run starts one)")
    return url


def admin_dsn(postgres_server_url: str) -> str:
    """The server's maintenance database as asyncpg takes it."""
    return postgres_server_url.replace("postgresql+asyncpg://", "postgresql://")


def database_url_on(postgres_server_url: str, name: str) -> str:
    base, _, _ = postgres_server_url.rpartition("/")
    return f"{base}/{name}"


def run_admin_sql(postgres_server_url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(admin_dsn(postgres_server_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def postgres_database(postgres_server_url: str, *, template: str | None = None
                      ) -> Iterator[str]:
    """A new database (a copy of ``template`` if given), dropped afterwards; its URL.
    Named per xdist worker, so that workers on one server never collide."""
    name = f"cp_test_{worker_id()}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    run_admin_sql(postgres_server_url, f'CREATE DATABASE "{name}"{copy}')
    try:
        yield database_url_on(postgres_server_url, name)
    finally:
        run_admin_sql(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL server, dropped afterwards."""
    with postgres_database(postgres_server_url) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> Iterator[str]:
    """The name of a database at the latest migration, made once per test process (per
    xdist worker) for ``postgres_head_url`` to copy. Nothing stays connected to it:
    PostgreSQL copies a database only while no one else is connected to it."""
    with postgres_database(postgres_server_url) as url:
        upgrade(url)  # its engine is disposed when it is done
        yield url.rpartition("/")[2]


@pytest.fixture
def postgres_head_url(postgres_server_url: str, postgres_template: str) -> Iterator[str]:
    """A fresh database at the latest migration (a copy of ``postgres_template``), dropped
    afterwards. ``postgres_url`` is the empty one, for tests that migrate themselves."""
    with postgres_database(postgres_server_url, template=postgres_template) as url:
        yield url


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url)


@dataclass
class RunningServer:
    settings: Settings
    services: Services
    http_url: str
    ocpp_url: str
    server: PromptServer

    def station_url(self, station_id: str) -> str:
        return f"{self.ocpp_url}/{station_id}"


# Apps that served a test and stopped cleanly, for start_server to serve the next one
# with (by the settings create_app builds into the app itself). Building the Litestar app
# registers its 150 routes, about 0.2 s of CPU, and some 500 tests start a server.
_IDLE_APPS: dict[tuple[object, ...], list[Any]] = {}
_IDLE_APPS_LOCK = threading.Lock()  # ServerThread starts and stops on threads of its own


def _app_key(settings: Settings) -> tuple[object, ...]:
    """What of the settings ``create_app`` builds into the app rather than its lifespan."""
    return (settings.max_body_bytes, tuple(settings.cors_origin_list))


def app_for(settings: Settings, clock: Clock) -> Any:
    """``create_app(settings, clock=clock)``, or an idle app made by it before, given what
    create_app makes of ``settings`` and ``clock`` that differs: its lifespan (a copy of
    create_app's own, bound to these settings and this clock: the services it starts) and
    ``app.state.access`` (the keys' rules, their lockouts and rate limits). Nothing else of
    a test's server lasts into the next: the services live and end with the lifespan."""
    from app.api.access import AccessControl
    from app.main import create_app

    with _IDLE_APPS_LOCK:
        idle = _IDLE_APPS.get(_app_key(settings))
        app = idle.pop() if idle else None
    if app is None:
        return create_app(settings, clock=clock)
    managers = app._lifespan_managers
    (index,) = [i for i, m in enumerate(managers)
                if getattr(m, "__qualname__", "") == "create_app.<locals>.lifespan"]
    lifespan = managers[index].__wrapped__
    bound = {"settings": settings, "clock": clock}
    # create_app's lifespan closes over these two and nothing else; if that changes, this
    # must learn what else to bind (the assert says so rather than serve stale settings).
    assert set(lifespan.__code__.co_freevars) == set(bound), lifespan.__code__.co_freevars
    managers[index] = asynccontextmanager(types.FunctionType(
        lifespan.__code__, lifespan.__globals__, lifespan.__name__, lifespan.__defaults__,
        tuple(types.CellType(bound[name]) for name in lifespan.__code__.co_freevars)))
    # What create_app keeps in app.state is the keys' rules and, once started, the
    # services; anything new there must be made afresh here too.
    assert set(dict(app.state)) <= {"access", "services"}, set(dict(app.state))
    app.state.access = AccessControl.from_settings(settings)
    return app


class PromptServer(uvicorn.Server):
    """uvicorn's server, stopping as soon as ``stop()`` asks: uvicorn looks at
    ``should_exit`` every 0.1 s, then sleeps 0.1 s more before it waits for the connections
    to close, polling every 0.1 s; about 0.15 s of the teardown of each of some 500 tests.
    Here ``stop()`` wakes the main loop at once, and the wait for the connections to finish
    (the same one) polls every 5 ms. Everything else is uvicorn's (uvicorn is pinned)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self.should_exit = True
        self._stopping.set()

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self._wait_closed(), self.config.timeout_graceful_shutdown)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _wait_closed(self) -> None:
        while not self.force_exit:
            if not (self.server_state.connections or self.server_state.tasks):
                break
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()


async def start_server(settings: Settings, *, clock: Clock = utcnow) -> RunningServer:
    """Start the app on a listening socket bound here first: a port picked by
    ``free_port`` and bound later can be taken meanwhile by any client socket of a busy
    machine, and uvicorn then exits the whole test process.

    The socket is made with ``IPPROTO_TCP`` named: asyncio sets TCP_NODELAY only on the
    connections of a socket whose protocol says TCP, and ``socket.socket()`` says 0. Without
    it each answer on a kept-alive connection, its headers and body written apart, waited
    out the client's delayed ACK: 40 ms a request."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((settings.http_host, 0))
    settings = settings.with_overrides(http_port=listener.getsockname()[1])
    app = app_for(settings, clock)
    # Idle connections stay open a minute (uvicorn's default is 5 s): the test's client
    # shares the event loop with the server, and on a loaded machine a stall between two
    # of its requests let the server close the connection the client was about to reuse.
    config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port,
                            log_level="warning", lifespan="on", access_log=False,
                            timeout_keep_alive=60)
    server = PromptServer(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if task.done():
            listener.close()
            raise RuntimeError(f"server did not start: {task.exception()!r}")
        await asyncio.sleep(0.01)
    services: Services = app.state.services
    running = RunningServer(
        settings=settings, services=services,
        http_url=f"http://{settings.http_host}:{settings.http_port}",
        ocpp_url=f"ws://127.0.0.1:{services.status.ocpp_port}", server=server,
    )
    running._task = task  # type: ignore[attr-defined]
    running._listener = listener  # type: ignore[attr-defined]
    running._app = app  # type: ignore[attr-defined]
    return running


async def stop_server(running: RunningServer) -> None:
    running.server.stop()
    try:
        await asyncio.wait_for(running._task, 15)  # type: ignore[attr-defined]
    finally:
        running._listener.close()  # type: ignore[attr-defined]
    # Stopped cleanly (its lifespan, and with it its services, ended): the next test's
    # server may use its app. Once: a test may stop its server before the fixture does.
    app = running.__dict__.pop("_app", None)
    if app is not None:
        with _IDLE_APPS_LOCK:
            _IDLE_APPS.setdefault(_app_key(running.settings), []).append(app)


class ServerThread:
    """A server on a private event loop, started and stopped from synchronous code."""

    def __init__(self, database: Path) -> None:
        url = f"sqlite+aiosqlite:///{database}"
        upgrade(url)
        self._settings = make_settings(url)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="api-server",
                                        daemon=True)
        self._running: RunningServer | None = None

    def start(self) -> str:
        self._thread.start()
        self._running = self._submit(start_server(self._settings))
        return self._running.http_url

    @property
    def running(self) -> RunningServer:
        assert self._running is not None, "start() first"
        return self._running

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return self._submit(coroutine)

    def stop(self) -> None:
        if self._running is not None:
            self._submit(stop_server(self._running))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)
        self._loop.close()

    def _submit(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)



@pytest.fixture(scope="module")
def shared_server_url(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
                      ) -> Iterator[str]:
    """One server, on a thread of its own, for the tests of a module that need no server
    each: the fuzzed operations, and requests the server refuses or answers without a
    change (a 400 or 404 to a request that must store nothing), where a request wrongly
    stored shows in a later test's answer (a conflict, a list that is not empty) instead
    of vanishing with its database. Under -n, one per test process that runs them."""
    database = tmp_path_factory.mktemp("shared") / "chargeplan.db"
    copy_sqlite_template(sqlite_template, database)
    server = ServerThread(database)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
async def shared_http(shared_server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=shared_server_url, timeout=10,
                                 verify=HTTP_TLS) as client:
        yield client


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    running = await start_server(settings)
    try:
        yield running
    finally:
        await stop_server(running)


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10,
                                 verify=HTTP_TLS) as client:
        yield client


async def settled_audit_rows(server: RunningServer, station_id: str) -> list[AuditFrame]:
    """The station's audit rows once the batched writer has settled (the exchange is over:
    the count stops changing and nothing is queued)."""

    async def read() -> list[AuditFrame]:
        async with server.services.db.uow() as session:
            return list((await session.scalars(
                select(AuditFrame).where(AuditFrame.station_id == station_id)
                .order_by(AuditFrame.id))).all())

    rows = await read()
    for _ in range(50):
        await asyncio.sleep(0.1)
        again = await read()
        if len(again) == len(rows) and server.services.status.audit_queue_depth() == 0:
            return again
        rows = again
    return rows
