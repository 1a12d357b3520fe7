"""`chargeplan simulate`: a fleet of simulated OCPP 1.6J or 2.0.1 charge points."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from app.domain.composite import Convention
from app.simulator import SimulatorConfig, run_simulator
from app.simulator.config import COMPOSITE_ANSWERS, OCPP_VERSIONS
from app.simulator.depot import run_depot
from app.simulator.site import Site, SiteError, load_site
from app.simulator.tls import client_context


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a time zone, e.g. 2030-01-01T08:00Z")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a rate is between 0 and 1")
    return value


# Not SimulatorConfig's PY-SIM-: `make run`'s in-process demo station is PY-SIM-0001, and a
# second connection with its id would replace the first every few seconds.
CLI_ID_PREFIX = "SIM-"


def add_parser(subparsers: Any) -> None:
    defaults = SimulatorConfig()
    parser = subparsers.add_parser(
        "simulate",
        help="run simulated OCPP 1.6J or 2.0.1 charge points",
        description="Connect simulated charge points (ids PREFIX0001, PREFIX0002, ...) to an "
        "OCPP server at URL/<id>. They enforce the charging profiles they receive and "
        "run until SIGINT or SIGTERM.",
    )
    add = parser.add_argument
    add("--url", default=None, help=f"server websocket URL (default {defaults.url})")
    add("--ocpp", choices=OCPP_VERSIONS, default=defaults.ocpp_version,
        help="OCPP version the stations speak (%(default)s); 2.0.1 offers subprotocol "
        "ocpp2.0.1 and has EVSEs for connectors")
    add("--grid-limit", type=float, default=None, metavar="AMPS",
        help="2.0.1 fault: the grid operator limits each station to AMPS per phase "
        "(ChargingStationExternalConstraints, announced with NotifyChargingLimit, source SO)")
    add("--grid-limit-after", type=float, default=defaults.grid_limit_after_s,
        metavar="SECONDS", help="with --grid-limit: seconds after boot (%(default)s)")
    add("--ev-schedule", type=float, default=None, metavar="EXCESS_AMPS",
        help="2.0.1: each car answers a TxProfile with the schedule it chose "
        "(NotifyEVChargingSchedule); its first one per transaction EXCESS_AMPS above what "
        "it is offered (0: within)")
    add("--same-stack-replaces", action="store_true",
        help="2.0.1: a profile on the stackLevel, purpose and EVSE of one it holds (or the "
        "TxProfile of the same transaction and stackLevel) replaces it, as a 1.6 charger "
        "does, instead of being Rejected (K01.FR.06, K01.FR.39)")
    add("--site", type=Path, default=None,
        help="run a whole depot from a JSON (or .toml) site file: stations, their circuits, "
        "cars with their schedule, circuit meters (see docs/load-management.md)")
    add("--http-url", default=None,
        help="with --site: the server's REST URL, to hang stations from their circuits and "
        "push the circuit meters (default: the site file's http_url)")
    add("--stations", type=int, default=defaults.stations, help="number of stations")
    add("--id-prefix", default=CLI_ID_PREFIX,
        help="station id prefix (%(default)s; not the demo station's PY-SIM-, or the two "
        "PY-SIM-0001 would replace each other's connection)")
    add("--first-index", type=int, default=defaults.first_index, help="number of the first id")
    add("--connectors", type=int, default=defaults.connectors, help="connectors per station")
    add("--password", default=None, help="HTTP Basic password (user = station id)")
    add("--ca", type=Path, default=None, metavar="FILE",
        help="wss:// only: CA file that verifies the server (default: the system's)")
    add("--cert", type=Path, default=None, metavar="FILE",
        help="wss:// only: client certificate the stations present (security profile 3: "
        "CN = station id, so with one station)")
    add("--key", type=Path, default=None, metavar="FILE", help="the --cert's private key")
    add("--source-address", default=None, metavar="HOST",
        help="local address to connect from, e.g. 127.0.0.2 to play a station elsewhere "
        "than a locked-out address on the same machine (default: the system's choice)")
    add("--max-power-w", type=float, default=defaults.max_power_w, help="station maximum, W")
    add(
        "--start-time",
        type=_instant,
        default=None,
        help="start the stations' clock at this ISO 8601 instant (default: real time)",
    )
    add(
        "--auto-charge",
        action="store_true",
        help="plug an EV into connector 1 and start a transaction on connect",
    )
    add("--ev-max-power-w", type=float, default=defaults.ev_max_power_w, help="EV maximum, W")
    add(
        "--meter-interval",
        type=float,
        default=defaults.meter_interval,
        help="seconds between MeterValues (%(default)s)",
    )
    add(
        "--heartbeat-interval",
        type=float,
        default=None,
        help="seconds between Heartbeats (default: the server's interval)",
    )
    add(
        "--profile-store",
        type=Path,
        default=None,
        help="JSON file keeping profiles across Reset and restarts (default: none, lost)",
    )
    add("--reject-rate", type=_rate, default=0.0, help="share of valid profiles Rejected")
    add("--drop-rate", type=_rate, default=0.0, help="share of server CALLs left unanswered")
    add("--delay-ms", type=float, default=0.0, help="delay before each answer, ms")
    add(
        "--disconnect-every",
        type=float,
        default=None,
        help="close the websocket every this many seconds (then reconnect)",
    )
    add(
        "--ignore-profile-rate",
        type=_rate,
        default=0.0,
        help="share of profiles acknowledged as Accepted but not installed",
    )
    add(
        "--composite-convention",
        choices=[c.value for c in Convention],
        default=defaults.composite_convention,
        help="1.6: how GetCompositeSchedule is answered where OCPP 1.6 is silent "
        "(%(default)s)",
    )
    add(
        "--unconstrained-w",
        type=float,
        default=None,
        help="what the stations report where no profile bounds a connector, W (default: "
        "--max-power-w for strict, 48 A for libocpp; microocpp reports -1)",
    )
    add(
        "--composite-answer",
        choices=COMPOSITE_ANSWERS,
        default=defaults.composite_answer,
        help="schedule; no-schedule: Accepted without one; rejected (%(default)s)",
    )
    add("--seed", type=int, default=None, help="seed for reproducible faults")
    add("--log-level", default="INFO", help="log level (%(default)s)")
    parser.set_defaults(handler=run)


def defaults_url() -> str:
    return SimulatorConfig().url


def _check_tls_args(args: argparse.Namespace) -> None:
    url = args.url or defaults_url()
    if (args.cert is None) != (args.key is None):
        raise ValueError("--cert and --key go together (a certificate and its key)")
    if (args.ca or args.cert) and not url.startswith("wss://"):
        raise ValueError(f"--ca, --cert and --key need a wss:// --url, not {url}")


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    _check_tls_args(args)
    return SimulatorConfig(
        url=args.url or defaults_url(),
        stations=args.stations,
        id_prefix=args.id_prefix,
        first_index=args.first_index,
        connectors=args.connectors,
        password=args.password,
        tls_ca=args.ca,
        tls_cert=args.cert,
        tls_key=args.key,
        source_address=args.source_address,
        max_power_w=args.max_power_w,
        start_time=args.start_time,
        auto_charge=args.auto_charge,
        ev_max_power_w=args.ev_max_power_w,
        meter_interval=args.meter_interval,
        heartbeat_interval=args.heartbeat_interval,
        profile_store=args.profile_store,
        reject_rate=args.reject_rate,
        drop_rate=args.drop_rate,
        delay_ms=args.delay_ms,
        disconnect_every=args.disconnect_every,
        ignore_profile_rate=args.ignore_profile_rate,
        composite_convention=args.composite_convention,
        unconstrained_w=args.unconstrained_w,
        composite_answer=args.composite_answer,
        seed=args.seed,
        ocpp_version=args.ocpp,
        grid_limit_a=args.grid_limit,
        grid_limit_after_s=args.grid_limit_after,
        ev_schedule_excess_a=args.ev_schedule,
        same_stack_replaces=args.same_stack_replaces,
    )


def site_from_args(args: argparse.Namespace) -> Site:
    path: Path = args.site
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SiteError([f"--site: cannot read {path}: {error.strerror}"]) from None
    site = load_site(text, toml=path.suffix == ".toml")
    changes = {k: v for k, v in (("url", args.url), ("http_url", args.http_url)) if v}
    return dataclasses.replace(site, **changes)


def run(args: argparse.Namespace) -> int:
    site: Site | None = None
    try:
        config = config_from_args(args)
        client_context(config)  # unreadable certificate files stop here, with their name
        if args.site is not None:
            site = site_from_args(args)
    except SiteError as error:
        for problem in error.problems:
            print(f"chargeplan simulate: {problem}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"chargeplan simulate: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=str(args.log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)
    asyncio.run(_run_until_signal(config, site, args.start_time))
    return 0


async def _run_until_signal(config: SimulatorConfig, site: Site | None,
                            start_time: datetime | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if site is None:
        await run_simulator(config, stop)
    else:
        await run_depot(site, stop, start_time=start_time)
