"""`chargeplan serve`: the REST API and the OCPP 1.6J central system in one process."""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import socket
import sys
from types import FrameType
from typing import Any

from app import gc_stats
from app.cli.common import configure_logging, settings_or_exit
from app.db.migrate import SchemaBehind, prepare_database
from app.settings import Settings, SettingsError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the REST API and the OCPP 1.6J server",
        description="Run the REST API (CHARGEPLAN_HTTP_HOST:CHARGEPLAN_HTTP_PORT, OpenAPI at "
        "/docs) and the OCPP 1.6J websocket server (CHARGEPLAN_OCPP_HOST:CHARGEPLAN_OCPP_PORT) "
        "in one process. Refuses to start on a database behind the latest migration unless "
        "CHARGEPLAN_AUTO_MIGRATE=true.",
    )
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument("--demo-station", dest="demo_station", action="store_true", default=None,
                      help="also run one simulated station PY-SIM-0001 in-process "
                      "(default: CHARGEPLAN_DEMO_STATION)")
    demo.add_argument("--no-demo-station", dest="demo_station", action="store_false",
                      help="no demo station, whatever the settings say")
    parser.add_argument("--node-id", dest="node_id", default=None, metavar="ID",
                        help="this process's name among several on one PostgreSQL (default: "
                        "CHARGEPLAN_NODE_ID, else host name and process id)")
    parser.set_defaults(handler=run)


# Young collections every this many allocations (CPython's default is 700).
GC_YOUNG_THRESHOLD = 10_000


def tune_garbage_collector() -> None:
    """Keep full collections rare: with thousands of websockets the process holds millions
    of tracked objects, and one full collection stops the event loop for a second or more
    (measured at 10,000 stations). With CPython's default thresholds the objects of each
    message in flight (frames, audit rows waiting for their batch) survive a few young
    collections, are promoted and trigger full ones every few seconds; with rarer young
    collections they are gone before anyone looks. What exists at start-up (modules,
    compiled schemas, table metadata) is never garbage and is left out of every
    collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 100)
    # What the full collections that remain cost: /metrics shows it.
    gc_stats.PAUSES.install()


def unavailable_port(settings: Settings) -> str | None:
    """One line naming the setting to change when a port cannot be listened on, before
    anything starts (afterwards it would be a traceback from deep inside start-up)."""
    for name, host, port in (("HTTP", settings.http_host, settings.http_port),
                             ("OCPP", settings.ocpp_host, settings.ocpp_port)):
        if port == 0:  # any free port
            continue
        try:
            with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
                # As both servers bind: a port in TIME_WAIT is free, one listened on is not.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
        except OSError as exc:
            return (f"cannot listen on {host}:{port} ({exc.strerror}): set "
                    f"CHARGEPLAN_{name}_PORT to a free port (or CHARGEPLAN_{name}_HOST)")
    return None


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from app.cluster.routed_gateway import GRACE_S
    from app.main import create_app

    settings = settings_or_exit()
    if args.demo_station is not None:
        settings = settings.with_overrides(demo_station=args.demo_station)
    if args.node_id is not None:
        try:
            settings = settings.with_overrides(node_id=args.node_id)
        except SettingsError as exc:
            print(f"chargeplan: --node-id: {exc}", file=sys.stderr)
            return 1
    busy = unavailable_port(settings)
    if busy is not None:
        print(f"chargeplan: {busy}", file=sys.stderr)
        return 1
    configure_logging(settings.log_level)
    try:
        asyncio.run(prepare_database(settings.database_url, auto_migrate=settings.auto_migrate))
    except SchemaBehind as exc:
        print(f"chargeplan: {exc}", file=sys.stderr)
        return 1
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    app = create_app(settings)
    tune_garbage_collector()
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        loop=loop,
        lifespan="on",
        # A stop lets the REST calls in flight finish (a command waits up to the call
        # timeout for the station, plus the round trip to the node holding it) before the
        # station sockets close: a call landing on a node being restarted is answered, not
        # cut off with a 500. Event streams, which never end by themselves, end at once.
        timeout_graceful_shutdown=math.ceil(settings.call_timeout_s + GRACE_S) + 5,
        # uvicorn's records go to the root logger, in the one format configure_logging set.
        log_config=None,
    )
    _server(config, app).run()
    return 0


def _server(config: Any, app: Any) -> Any:
    """uvicorn's server, ending the app's event streams as soon as a stop is asked for."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            services = getattr(app.state, "services", None)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            if services is not None:
                loop.call_soon_threadsafe(services.events.end_all)

    return Server(config)
