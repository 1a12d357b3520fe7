"""The fanout scenario: one plan for every connected station, timed until all have it.

The clock starts at the REST call that creates the plan. The server then stores one desired
profile per station and its reconcile job sends each station a SetChargingProfile (OCPP 1.6
§5.16); the bench stations answer Accepted. Figures: seconds until the plan's status shows
every station accepted, and seconds until the audit table holds every station's answer.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from app.bench import stats
from app.bench.config import BenchConfig
from app.bench.database import PROFILE_ANSWERS_SQL, BenchDatabase
from app.bench.errors import BenchError
from app.bench.pool import WorkerPool
from app.bench.rest import RestClient
from app.bench.scenarios import Outcome, audit_rows, connect_within_s, open_pool
from app.bench.servers import RunningServer

TAG: Final = "bench-fanout"
POLL_S: Final = 0.1
# A fleet's status is one row per station: 10,000 rows every 100 ms would load the server
# it measures. Polled less often as the fleet grows (every 0.5 s at 10,000).
POLL_S_PER_STATION: Final = 0.5 / 10_000
# Registrations in flight at once: enough to hide the round trip, few enough not to queue.
REGISTER_CONCURRENCY: Final = 8
ACCEPT_BASE_S: Final = 60.0
KEEP_SAMPLES: Final = 5


def plan_body(targets: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A plan that limits every bench station to 7 kW (OCPP 1.6 §7.8 ChargingProfile)."""
    return {
        "name": "bench",
        "targets": targets or {"tags": [TAG]},
        "connector_id": 0,
        "profile": {
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000}],
            },
        },
    }


def accept_within_s(stations: int) -> float:
    """How long the plan may take to reach every station; later ones count as errors."""
    return ACCEPT_BASE_S + stations / 50


@dataclass
class Delivery:
    """What the polls saw; times are seconds from the request that created the plan."""

    accepted: int = 0
    accepted_s: float | None = None
    audited_s: float | None = None
    states: Counter[str] = field(default_factory=Counter)
    last_errors: list[str] = field(default_factory=list)


def fanout(server: RunningServer, config: BenchConfig) -> Outcome:
    """Register, connect and boot the stations, then time one plan for all of them."""
    http_url, database = server.http_url, server.database
    if http_url is None or database is None:
        raise BenchError("fanout needs the server's REST API and its database")
    stations = config.fanout_stations
    rest = RestClient(http_url, timeout_s=max(config.call_timeout_s, 30.0))
    try:
        with open_pool(server, stations, config) as pool:
            registered, samples = register(rest, pool.station_ids)
            connected = pool.connect(with_status=False, within_s=connect_within_s(stations))
            # The boot traffic (GetConfiguration and its audit rows) is over before the clock
            # starts, so that the figures are the plan's alone.
            audit_rows(server)
            expected = min(registered, stats.completed(connected))
            delivery = deliver(rest, database, expected, accept_within_s(stations))
    finally:
        rest.close()
    samples.extend(stats.error_samples(connected))
    return _outcome(delivery, stations, expected, samples)


def fanout_fleet(server: RunningServer, pool: WorkerPool, config: BenchConfig) -> Outcome:
    """One plan naming every station of the storm by id, on the storm's connections: the
    fleet-sized fan-out (10,000 stations; --quick 1,000) without registering each first."""
    http_url, database = server.http_url, server.database
    if http_url is None or database is None:
        raise BenchError("fanout needs the server's REST API and its database")
    audit_rows(server)
    stations = len(pool.station_ids)
    rest = RestClient(http_url, timeout_s=max(config.call_timeout_s, 60.0))
    try:
        delivery = deliver(rest, database, stations, accept_within_s(stations),
                           plan_body({"station_ids": list(pool.station_ids)}))
    finally:
        rest.close()
    return _outcome(delivery, stations, stations, [])


def _outcome(delivery: Delivery, stations: int, expected: int,
             samples: list[str]) -> Outcome:
    samples.extend(_delivery_samples(delivery, expected))
    seconds = delivery.accepted_s
    return Outcome(
        figures={
            "seconds": stats.rounded(seconds),
            "calls_per_s": stats.rounded(delivery.accepted / seconds if seconds else None, 1),
            "audit_seconds": stats.rounded(delivery.audited_s),
            "errors": stations - delivery.accepted,
        },
        error_samples=samples[:KEEP_SAMPLES],
    )


def register(rest: RestClient, station_ids: tuple[str, ...]) -> tuple[int, list[str]]:
    """POST /stations for each with the plan's tag; how many were registered, and why not."""
    body = {"tags": [TAG]}

    def one(station_id: str) -> str | None:
        try:
            status, answer = rest.request("POST", "/stations", {"station_id": station_id, **body})
        except BenchError as exc:
            return str(exc)
        return None if status == 201 else f"POST /stations {station_id}: {status} {answer!r}"

    with ThreadPoolExecutor(REGISTER_CONCURRENCY, thread_name_prefix="register") as threads:
        failures = [reason for reason in threads.map(one, station_ids) if reason is not None]
    return len(station_ids) - len(failures), list(dict.fromkeys(failures))[:KEEP_SAMPLES]


def poll_interval_s(stations: int) -> float:
    return max(POLL_S, stations * POLL_S_PER_STATION)


def deliver(rest: RestClient, database: BenchDatabase, expected: int, within_s: float,
            body: dict[str, Any] | None = None) -> Delivery:
    """Create the plan, then poll its status and the audit table (see `poll_interval_s`)
    until both show every one of `expected` stations, or `within_s` has passed.

    One poll at a time, so a server slow to answer the status is not also flooded with it.
    """
    started = time.monotonic()
    status, answer = rest.request("POST", "/plans", body or plan_body())
    if status != 201 or not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
        raise BenchError(f"POST /plans answered {status}: {answer!r}")
    plan_id: int = answer["id"]
    delivery = Delivery()
    deadline = started + within_s
    while delivery.accepted_s is None or delivery.audited_s is None:
        poll_started = time.monotonic()
        if poll_started >= deadline:
            break
        if delivery.accepted_s is None:
            _read_status(rest, plan_id, delivery)
            if delivery.accepted >= expected:
                delivery.accepted_s = time.monotonic() - started
        if delivery.audited_s is None and (database.count(PROFILE_ANSWERS_SQL) or 0) >= expected:
            delivery.audited_s = time.monotonic() - started
        time.sleep(max(0.0, poll_started + poll_interval_s(expected) - time.monotonic()))
    return delivery


def _read_status(rest: RestClient, plan_id: int, delivery: Delivery) -> None:
    status, answer = rest.request("GET", f"/plans/{plan_id}/status")
    if status != 200 or not isinstance(answer, dict):
        raise BenchError(f"GET /plans/{plan_id}/status answered {status}: {answer!r}")
    rows = answer.get("stations") or []
    delivery.states = Counter(str(row.get("state")) for row in rows)
    delivery.accepted = delivery.states["accepted"]
    delivery.last_errors = list(
        dict.fromkeys(str(row["last_error"]) for row in rows if row.get("last_error"))
    )[:KEEP_SAMPLES]


def _delivery_samples(delivery: Delivery, expected: int) -> list[str]:
    if delivery.accepted >= expected and delivery.audited_s is not None:
        return []
    states = ", ".join(f"{state} {count}" for state, count in sorted(delivery.states.items()))
    samples = [f"plan not accepted everywhere in time: {states or 'no status read'}"]
    if delivery.audited_s is None:
        samples.append("not every SetChargingProfile answer reached the audit table in time")
    samples.extend(f"delivery: {reason}" for reason in delivery.last_errors)
    return samples
