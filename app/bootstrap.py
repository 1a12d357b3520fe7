"""Builds a running server: every part complete by its constructor, in one function whose
order is the order they depend on one another (``bootstrap``). Where two parts need each
other's news (a service publishes what happened, a reaction calls that service), the
message bus breaks the circle: services publish into the outbox, built first; the bus,
built last from ``app/reactions.py`` and the finished services, takes the messages out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from app.api.request_body import schema_problems
from app.clock import Clock
from app.cluster.events import EventRelay
from app.cluster.request_bus import RequestBus
from app.cluster.routed_gateway import ClusterPeers, RequestServer, RoutedGateway
from app.db.batch_writer import BatchWriter
from app.db.batching import GroupCommit
from app.db.engine import Database
from app.db.migrate import prepare_database
from app.db.models import AuditFrame, MeterValue
from app.db.security_models import SecurityEvent
from app.domain.composite import SupplyConfig
from app.domain.station_time import TimeRules
from app.events import EventBus
from app.json_types import JsonObject
from app.ocpp.errors import OcppError
from app.ocpp.gateway import OcppGateway
from app.ocpp.registry import ConnectionRegistry
from app.ocpp.server import OcppServer
from app.ocpp.v16.schemas import SchemaRegistry
from app.ocpp.versions import registered_protocols
from app.reactions import REACTIONS
from app.services.container import Debounces, ServerStatus, Services
from app.services.delivery.ev_schedules import EvScheduleService
from app.services.delivery.smart_charging import RetryPolicy, SmartChargingService
from app.services.delivery.verification import VerificationService
from app.services.errors import Invalid
from app.services.fleet.commands import CommandService
from app.services.fleet.commands_v201 import Commands201
from app.services.fleet.device_model import DeviceModelService
from app.services.fleet.id_tags import IdTagService
from app.services.fleet.job_runs import JobRunService
from app.services.fleet.leases import LeaseService
from app.services.fleet.nodes import MISSED_BEATS, NodeService
from app.services.fleet.remote_start import RemoteStartService
from app.services.fleet.remote_transactions import RemoteTransactions
from app.services.fleet.stations import StationService
from app.services.fleet.transactions import TransactionService
from app.services.load.circuit_plans import CircuitPlanner
from app.services.load.circuits import CircuitService
from app.services.load.ev_needs import EvNeedService
from app.services.load.external_limits import ExternalLimitService
from app.services.load.load_management import LoadManager
from app.services.load.needs import NeedService
from app.services.messagebus import MessageBus, Outbox
from app.services.messages import JobRequested, LiveEvent
from app.services.ports import ChargerGateway, NoPeers, Peers
from app.services.schedules.plans import PlanService
from app.services.schedules.tariffs import TariffService
from app.services.security.api_keys import ApiKeyService, RestAuditService
from app.services.security.certificates import CertificateAuthority
from app.services.security.security_events import SecurityEvents
from app.services.security.station_security import StationSecurityService
from app.services.webhooks import WebhookPolicy, WebhookService
from app.settings import Settings
from app.tasks import TaskOwner
from jobs.scheduler import Scheduler

log = logging.getLogger("chargeplan")


async def bootstrap(settings: Settings, clock: Clock, stack: AsyncExitStack) -> Services:
    """Build and start every part in dependency order; ``stack`` closes them in reverse."""
    await prepare_database(settings.database_url, auto_migrate=settings.auto_migrate)
    db = Database(settings.database_url)
    stack.push_async_callback(db.dispose)

    # Audit rows and meter values share one writer, committed in the order queued: a
    # MeterValues is answered once its answer's audit row is committed, and so its
    # samples, queued before it, in one transaction with other stations' rows.
    audit = BatchWriter(db, _table(AuditFrame), flush_interval=settings.audit_flush_interval_s,
                        batch_size=settings.audit_batch_size, max_queue=settings.audit_queue_max)
    meters = audit.sink(_table(MeterValue))
    # Security events: a few rows a minute normally, batched like the audit trail so a
    # flood of refusals costs no transaction each.
    security_rows = BatchWriter(db, _table(SecurityEvent), flush_interval=1.0,
                                batch_size=500, max_queue=10_000)
    for writer in (audit, security_rows):
        await writer.start()
        stack.push_async_callback(writer.stop)

    # Small writes of many stations (reports, verification results) share transactions.
    writes = GroupCommit(db)
    stack.push_async_callback(writes.close)

    # Happenings are published here from now on; the bus hands them out once it starts.
    bus = Outbox()
    # What the bus and the scheduler start; closed after everything that publishes.
    tasks = TaskOwner(logging.getLogger("chargeplan.jobs"))
    stack.push_async_callback(tasks.close)
    debounce = Debounces.of(bus, settings)
    stack.callback(debounce.cancel)
    loops = TaskOwner(log)  # the process's own loops: heartbeat, presence, sweeps
    stack.push_async_callback(loops.close)

    # Live events for users are handed out by the message bus, as one of its subscribers.
    events = EventBus(clock=clock, history=settings.events_history,
                      queue_size=settings.events_queue_size, resume_s=settings.events_resume_s,
                      publish=lambda event: bus.publish(LiveEvent(event)))
    registry = ConnectionRegistry()
    schemas = SchemaRegistry()
    protocols = registered_protocols()
    gateway = OcppGateway(registry, protocols)

    # Stations held by processes that are not alive any more (this one before a crash,
    # on SQLite every earlier one) are offline before the listener opens.
    nodes = NodeService(db, settings.node_id, heartbeat_s=settings.node_heartbeat_s,
                        clock=clock)
    await nodes.register()
    stack.push_async_callback(nodes.leave)
    beats = _Heartbeats(nodes, registry)
    loops.spawn(beats.run(), "node-heartbeat")

    # Several nodes on one PostgreSQL: a call for a station another node holds goes to it.
    cluster = (await _cluster(settings, db, gateway, events, clock, stack)
               if db.dialect == "postgresql" else None)
    chargers: ChargerGateway = gateway if cluster is None else cluster.routed
    peers: Peers = NoPeers() if cluster is None else cluster.peers

    supply = SupplyConfig(voltage=settings.supply_voltage_v, phases=settings.supply_phases)
    time_rules = TimeRules(max_ahead=timedelta(seconds=settings.station_clock_skew_s),
                           max_age=timedelta(days=settings.station_time_max_age_days))
    smart_charging = SmartChargingService(
        db, chargers, supply=supply, clock=clock, max_frame_bytes=settings.max_frame_bytes,
        retry=RetryPolicy(settings.retry_base_s, settings.retry_cap_s,
                          settings.retry_max_attempts), events=events, bus=bus,
        owners=None if cluster is None else cluster.routed,
        max_repairs=settings.drift_max_repairs)
    requests = None if cluster is None else _request_server(
        settings, gateway, cluster.requests, smart_charging, bus, cluster.served)

    id_tags = IdTagService(db, unknown_status=settings.unknown_id_tag_status, clock=clock)
    stations = StationService(db, admit_unknown=settings.admit_unknown_stations, clock=clock,
                              writes=writes, time_rules=time_rules, events=events)
    security_events = SecurityEvents(security_rows.offer, clock=clock, events=events,
                                     address_of=registry.remote_host)
    station_security = StationSecurityService(
        stations, gateway, security_events, ca=CertificateAuthority.load(Path(settings.ca_dir)),
        operator=settings.cpo_name, csr_subject=settings.csr_subject, clock=clock)
    remote_starts = RemoteStartService(db, clock=clock)
    scheduler = Scheduler(settings, bus, tasks, peers)
    circuits = CircuitService(
        db, voltage=settings.supply_voltage_v, min_current_a=settings.session_min_current_a,
        default_max_current_a=settings.session_max_current_a, clock=clock,
        smart_charging=smart_charging)
    transactions = TransactionService(db, id_tags, meters.put_all,
                                      concurrent_tx=settings.concurrent_tx, bus=bus,
                                      time_rules=time_rules, clock=clock, events=events,
                                      meter_event_every_s=settings.meter_event_interval_s)
    needs = NeedService(db, clock=clock)
    device_model = DeviceModelService(db, clock=clock)
    services = Services(
        settings=settings,
        clock=clock,
        db=db,
        bus=bus,
        tasks=tasks,
        debounce=debounce,
        events=events,
        gateway=chargers,
        peers=peers,
        status=_status(registry, audit, security_rows, gateway, beats, events, cluster),
        nodes=nodes,
        stations=stations,
        id_tags=id_tags,
        needs=needs,
        remote_starts=remote_starts,
        smart_charging=smart_charging,
        transactions=transactions,
        job_runs=JobRunService(db, clock=clock, events=events),
        leases=LeaseService(db, settings.node_id, clock=clock,
                            node_stale_s=settings.node_heartbeat_s * MISSED_BEATS),
        security_events=security_events,
        verification=VerificationService(db, chargers, smart_charging,
                                         window_s=settings.verify_window_s,
                                         max_repairs=settings.drift_max_repairs, clock=clock,
                                         writes=writes),
        api_keys=ApiKeyService(db, clock=clock),
        rest_audit=RestAuditService(db, clock=clock),
        station_security=station_security,
        commands=CommandService(
            db, chargers, stations=stations, smart_charging=smart_charging,
            remote_starts=remote_starts, validate=_request_validator(schemas), clock=clock,
            security=station_security),
        scheduler=scheduler,
        plans=PlanService(db, smart_charging, scheduler=scheduler, clock=clock),
        tariffs=TariffService(db, smart_charging, scheduler=scheduler, clock=clock),
        circuits=circuits,
        load=LoadManager(
            db, circuits, smart_charging, gateway,
            stack_level=settings.circuit_stack_level, lease_s=settings.circuit_lease_s,
            horizon_s=settings.circuit_horizon_s, voltage=settings.supply_voltage_v,
            clock=clock, peers=peers,
            planner=CircuitPlanner(db, needs, enabled=settings.circuit_planning,
                                   step_s=settings.circuit_plan_step_s,
                                   horizon_s=settings.circuit_horizon_s,
                                   time_limit_s=settings.circuit_plan_time_limit_s)),
        device_model=device_model,
        commands_v201=Commands201(chargers, stations=stations, device_model=device_model,
                                  report_timeout_s=settings.call_timeout_s,
                                  security=station_security),
        external_limits=ExternalLimitService(db, clock=clock, events=events, bus=bus),
        remote_transactions=RemoteTransactions(db, transactions, clock=clock),
        ev_needs=EvNeedService(db, needs, clock=clock, bus=bus),
        ev_schedules=EvScheduleService(db, smart_charging, clock=clock, events=events,
                                       bus=bus),
        webhooks=WebhookService(db, events, clock=clock, policy=WebhookPolicy(
            retry_base_s=settings.webhook_retry_base_s,
            retry_cap_s=settings.webhook_retry_cap_s,
            max_attempts=settings.webhook_max_attempts,
            timeout_s=settings.webhook_timeout_s)),
    )

    # From here on, what is published is handled; the bus stops after the OCPP server.
    message_bus = MessageBus(REACTIONS, services, bus, tasks)
    await message_bus.start()
    stack.push_async_callback(message_bus.stop)
    if cluster is not None and requests is not None:
        await requests.start()
        stack.push_async_callback(requests.stop)
        loops.spawn(_sweep_requests(settings, requests, cluster.requests), "cluster-sweep")

    ocpp = OcppServer(services, protocols, registry, audit)
    await ocpp.start()
    stack.push_async_callback(ocpp.stop)
    services.status.listening(ocpp.port, ocpp.tls_port, ocpp.handshakes_in_progress)

    await services.webhooks.start()
    stack.push_async_callback(services.webhooks.stop)
    scheduler.start()
    stack.push_async_callback(scheduler.stop)
    await services.tariffs.start()

    loops.spawn(_flush_presence(services, registry), "presence")

    if settings.demo_station:
        await _start_demo_station(services, ocpp.port, stack)
    return services


@dataclass(frozen=True)
class _Cluster:
    """This node's part in several nodes on one PostgreSQL."""

    routed: RoutedGateway
    requests: RequestBus
    peers: ClusterPeers
    relay: EventRelay
    # Requests carried out here for other nodes, by kind (the RequestServer counts).
    served: Counter[str]


async def _cluster(settings: Settings, db: Database, gateway: OcppGateway, events: EventBus,
                   clock: Clock, stack: AsyncExitStack) -> _Cluster:
    """LISTEN for requests of other nodes and ask them for ours; every node's /events
    carries the events of every node's stations."""
    requests = RequestBus(db, settings.node_id, clock=clock)
    routed = RoutedGateway(gateway, db, requests,
                           stale_after_s=settings.node_heartbeat_s * MISSED_BEATS,
                           call_timeout_s=settings.call_timeout_s, clock=clock)
    relay = EventRelay(db, events, requests.node_id, heartbeat_s=settings.node_heartbeat_s,
                       clock=clock)
    await requests.start()
    stack.push_async_callback(requests.stop)
    await relay.start()
    stack.push_async_callback(relay.stop)
    return _Cluster(routed, requests, ClusterPeers(routed, requests, db), relay, Counter())


def _request_server(settings: Settings, gateway: OcppGateway, requests: RequestBus,
                    smart_charging: SmartChargingService, bus: Outbox,
                    served: Counter[str]) -> RequestServer:
    """What this node carries out for the others: calls to its stations, under each
    station's lock; deliveries, clears and reconciles; jobs, as if asked for here."""
    async def deliver(station_id: str, payload: JsonObject) -> JsonObject:
        return await smart_charging.deliver_here(station_id, int(payload["desired_id"]))

    async def clear(station_id: str, payload: JsonObject) -> JsonObject:
        return await smart_charging.clear_here(station_id, payload["filters"])

    async def reconcile(station_id: str, _payload: JsonObject) -> JsonObject:
        report = await smart_charging.reconcile(station_id)
        return {"calls": report.calls, "failures": report.failures}

    async def run_job(job: str, station_ids: list[str] | None, trigger: str) -> None:
        ids = None if station_ids is None else tuple(station_ids)
        await bus.handle(JobRequested(job, ids, trigger, elsewhere=False))

    return RequestServer(gateway, requests, lock=smart_charging.lock,
                         work={"deliver": deliver, "clear": clear, "reconcile": reconcile},
                         run_job=run_job, call_timeout_s=settings.call_timeout_s,
                         served=served)


def _status(registry: ConnectionRegistry, audit: BatchWriter, security_rows: BatchWriter,
            gateway: OcppGateway, beats: _Heartbeats, events: EventBus,
            cluster: _Cluster | None) -> ServerStatus:
    def writer_problems() -> list[str]:
        return [p for p in (audit.problem(), security_rows.problem()) if p]

    common: dict[str, Any] = dict(
        connected_stations=lambda: len(registry), audit_queue_depth=lambda: audit.depth,
        audit_rows_written=lambda: audit.rows_written, writer_problems=writer_problems,
        call_counts=lambda: dict(gateway.calls), acting=beats.acting)
    if cluster is None:
        return ServerStatus(node_problems=beats.problems, **common)
    bus, relay, routed, served = cluster.requests, cluster.relay, cluster.routed, cluster.served

    def problems() -> list[str]:
        listener = [] if bus.listening else [
            f"requests of other nodes are not heard: {bus.listener_error}"]
        relayed = [] if relay.listening else [
            f"events of other nodes are not heard: {relay.listener_error}"]
        return beats.problems() + listener + relayed

    return ServerStatus(
        node_problems=problems,
        node_requests=lambda: {
            **{("routed", outcome): n for outcome, n in routed.routed.items()},
            **{("served", kind): n for kind, n in served.items()}},
        node_events=relay.counts,
        events_wanted_elsewhere=lambda: events.wanted_elsewhere,
        **common)


async def _flush_presence(services: Services, registry: ConnectionRegistry) -> None:
    """last_seen of connected stations goes to the database in batches every few
    seconds, not one write per Heartbeat; a station silent since the last flush costs
    nothing."""
    written: dict[str, datetime] = {}
    while True:
        await asyncio.sleep(services.settings.presence_flush_s)
        seen = registry.last_seen()
        changed = {sid: at for sid, at in seen.items() if written.get(sid) != at}
        try:
            await services.stations.touch(changed)
        except Exception:
            log.exception("writing last_seen failed")
            continue
        written = seen


class _Heartbeats:
    """Beats for this node; once it could not beat for as long as others wait before they
    take its stations, it stops acting on them until the database is back, then claims
    again the ones whose sockets it still holds."""

    def __init__(self, nodes: NodeService, registry: ConnectionRegistry) -> None:
        self._nodes = nodes
        self._registry = registry
        self._last_ok = time.monotonic()
        self._error: str | None = None
        self._detached = False

    def acting(self) -> bool:
        return not self._detached

    def problems(self) -> list[str]:
        if self._detached:
            return [f"database out of reach for {time.monotonic() - self._last_ok:.0f} s "
                    f"({self._error}): not acting on its stations until it is back"]
        return []

    async def run(self) -> None:
        nodes = self._nodes
        while True:
            await asyncio.sleep(nodes.heartbeat_s)
            try:
                await nodes.beat()
                if self._detached:
                    ids = [c.station_id for c in self._registry.all() if not c.closed]
                    reclaimed = await nodes.reclaim(ids)
                    log.warning("database reachable again: acting on stations again "
                                "(%d of %d connected ones still ours)", reclaimed, len(ids))
            except Exception as exc:
                self._error = f"{type(exc).__name__}: {exc}"[:300]
                if not self._detached and (time.monotonic() - self._last_ok
                                           > nodes.heartbeat_s * MISSED_BEATS):
                    self._detached = True
                    log.error("node heartbeat failing for %d beats (%s): not acting on "
                              "stations until the database is back", MISSED_BEATS, self._error)
                else:
                    log.warning("node heartbeat failed: %s", self._error)
                continue
            self._last_ok = time.monotonic()
            self._detached = False
            self._error = None


async def _start_demo_station(services: Services, port: int | None,
                              stack: AsyncExitStack) -> None:
    from app.services.errors import Conflict
    from app.simulator import Simulator, SimulatorConfig

    settings = services.settings
    host = "127.0.0.1" if settings.ocpp_host in ("0.0.0.0", "::", "") else settings.ocpp_host
    config = SimulatorConfig(url=f"ws://{host}:{port}", stations=1)
    # Registered with its rating, so expected composites show what it reports where no
    # profile applies.
    with contextlib.suppress(Conflict):
        await services.stations.create(config.station_ids()[0], None,
                                       max_power_w=config.max_power_w)
    simulator = Simulator(config)
    await simulator.start()
    stack.push_async_callback(simulator.stop)
    log.info("demo station PY-SIM-0001 connected to ws://%s:%s", host, port)


async def _sweep_requests(settings: Settings, server: RequestServer,
                          requests: RequestBus) -> None:
    """Every heartbeat: claim what a lost notification left waiting, delete what callers
    gave up on."""
    while True:
        await asyncio.sleep(settings.node_heartbeat_s)
        server.wake()
        try:
            await requests.sweep()
        except Exception:
            log.exception("deleting old node requests failed")


def _request_validator(schemas: SchemaRegistry) -> Callable[[str, Mapping[str, Any]], None]:
    """Operator commands are checked against the OCPP 1.6 schema before sending; the
    400 names the field."""

    def validate(action: str, payload: Mapping[str, Any]) -> None:
        try:
            schemas.validate_request(action, dict(payload))
        except OcppError as exc:
            # The compiled validator stops at the first problem; the 400 lists them all.
            problems = schema_problems(schemas.request_schema(action), dict(payload))
            if problems:
                raise Invalid.all(problems) from None
            raise Invalid(_field_named(exc), exc.description) from None

    return validate


def _field_named(exc: OcppError) -> str:
    """The field a schema error is about: for a missing or unexpected property, that
    property rather than the object holding it."""
    where = str(exc.details.get("field", "payload"))
    if exc.details.get("rule") in ("required", "additionalProperties"):
        found = re.search(r"""contain [\[{]'([^']+)'""", exc.description)
        if found:
            return found.group(1) if where == "payload" else f"{where}.{found.group(1)}"
    return where


def _table(model: type[AuditFrame] | type[MeterValue] | type[SecurityEvent]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


