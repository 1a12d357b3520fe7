"""The fanout_nodes scenario: fan-out of one plan to stations spread over several chargeplan
nodes on one PostgreSQL, against the same fan-out with one node, in the same run.

For each size (one node, then ``config.nodes``) a fresh database is created, the nodes are
started (`chargeplan serve` with a node id of its own each), ``fanout_stations`` bench
stations connect and boot, station n to node n modulo their number (as a round-robin TCP
load balancer spreads them), and one plan naming every station is created on the first
node. Timed as fanout: until its status shows every station accepted. The other nodes
deliver to their stations when the first asks them to (a request row and a NOTIFY each).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.bench import stats
from app.bench.config import BenchConfig
from app.bench.errors import BenchError
from app.bench.fanout import Delivery, accept_within_s, deliver, plan_body
from app.bench.pool import WorkerPool
from app.bench.rest import RestClient
from app.bench.scenarios import Outcome, audit_rows, connect_within_s
from app.bench.servers import running_nodes


@dataclass
class Timed:
    nodes: int
    delivery: Delivery
    expected: int
    samples: list[str]

    @property
    def seconds(self) -> float | None:
        return self.delivery.accepted_s

    @property
    def calls_per_s(self) -> float | None:
        seconds = self.delivery.accepted_s
        return self.delivery.accepted / seconds if seconds else None


NEEDS_POSTGRES = ("needs PostgreSQL, where nodes share their state: --nodes-database-url "
                  "postgresql+asyncpg://... (make bench starts a throwaway server)")


def missing_postgres(config: BenchConfig) -> str | None:
    """Why fanout_nodes cannot run with this configuration, or None when it can."""
    url = config.nodes_database_url or config.database_url
    return None if url and url.startswith("postgresql") else NEEDS_POSTGRES


def postgres_url(config: BenchConfig) -> str:
    url = config.nodes_database_url or config.database_url
    if missing_postgres(config) is not None or url is None:
        raise BenchError(f"fanout_nodes {NEEDS_POSTGRES}")
    return url


def fanout_nodes(config: BenchConfig) -> Outcome:
    url = postgres_url(config)
    one = timed_fanout(config, url, 1)
    several = timed_fanout(config, url, config.nodes)
    stations = config.fanout_stations
    samples = [f"{run.nodes} node(s): {sample}" for run in (one, several)
               for sample in run.samples]
    return Outcome(
        figures={
            "stations": stations,
            "one_node_seconds": stats.rounded(one.seconds),
            "nodes_seconds": stats.rounded(several.seconds),
            "one_node_calls_per_s": stats.rounded(one.calls_per_s, 1),
            "nodes_calls_per_s": stats.rounded(several.calls_per_s, 1),
            "errors": 2 * stations - one.delivery.accepted - several.delivery.accepted,
        },
        error_samples=samples[:5],
    )


def timed_fanout(config: BenchConfig, url: str, nodes: int) -> Timed:
    """Start ``nodes`` nodes on a fresh database, connect the stations over them, time the
    plan's fan-out."""
    stations = config.fanout_stations
    with running_nodes(config, url, nodes) as servers:
        first = servers[0]
        if first.http_url is None or first.database is None:
            raise BenchError("fanout_nodes needs the nodes' REST API and database")
        rest = RestClient(first.http_url, timeout_s=max(config.call_timeout_s, 60.0))
        try:
            with WorkerPool([s.ocpp_url for s in servers], stations=stations,
                            workers=config.workers, call_timeout_s=config.call_timeout_s,
                            connect_concurrency=config.connect_concurrency) as pool:
                connected = pool.connect(with_status=False,
                                         within_s=connect_within_s(stations))
                for server in servers:
                    audit_rows(server)  # the boot traffic is written before the clock starts
                expected = stats.completed(connected)
                delivery = deliver(rest, first.database, expected, accept_within_s(stations),
                                   plan_body({"station_ids": list(pool.station_ids)}))
        finally:
            rest.close()
    samples = stats.error_samples(connected)
    if delivery.accepted < stations:
        states = ", ".join(f"{s} {n}" for s, n in sorted(delivery.states.items()))
        samples.append(f"plan not accepted everywhere in time: {states or 'no status read'}")
        samples.extend(f"delivery: {reason}" for reason in delivery.last_errors)
    return Timed(nodes, delivery, expected, samples)
