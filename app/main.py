"""The app factory and the one lifespan that owns every resource of a running server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.logging.config import LoggingConfig
from sqlalchemy import Table

from app.api.request_body import schema_problems
from app.clock import Clock, utcnow
from app.cluster.bus import RequestBus
from app.cluster.events import EventRelay
from app.cluster.gateway import ClusterPeers, RoutedGateway
from app.db.batching import GroupCommit
from app.db.engine import Database
from app.db.migrate import prepare_database
from app.db.models import AuditFrame, MeterValue
from app.db.security_models import SecurityEvent
from app.domain.composite import SupplyConfig
from app.domain.station_time import TimeRules
from app.events import EventBus
from app.ocpp.batch_writer import BatchWriter
from app.ocpp.errors import OcppError
from app.ocpp.gateway import OcppGateway
from app.ocpp.handlers import all_handlers
from app.ocpp.registry import ConnectionRegistry
from app.ocpp.router import Router
from app.ocpp.schemas import SchemaRegistry
from app.ocpp.server import OcppServer
from app.services.api_keys import ApiKeyService, RestAuditService
from app.services.certificates import CertificateAuthority
from app.services.circuits import CircuitService
from app.services.commands import CommandService
from app.services.container import ServerStatus, Services
from app.services.device_model import DeviceModelService
from app.services.errors import Invalid
from app.services.ev_needs import EvNeedService
from app.services.external_limits import ExternalLimitService
from app.services.id_tags import IdTagService
from app.services.job_runs import JobRunService
from app.services.leases import LeaseService
from app.services.load_management import LoadManager
from app.services.needs import NeedService
from app.services.nodes import MISSED_BEATS, NodeService
from app.services.plans import PlanService
from app.services.ports import ChargerGateway
from app.services.remote_start import RemoteStartService
from app.services.remote_transactions import RemoteTransactions
from app.services.security_events import SecurityEvents
from app.services.smart_charging import RetryPolicy, SmartChargingService
from app.services.station_security import StationSecurityService
from app.services.stations import StationService
from app.services.tariffs import TariffService
from app.services.transactions import TransactionService
from app.services.verification import VerificationService
from app.services.webhooks import WebhookPolicy, WebhookService
from app.settings import Settings
from jobs.reconcile import JOBS
from jobs.scheduler import Scheduler

log = logging.getLogger("chargeplan")

# Litestar leaves the root logger and its format to the process (`chargeplan serve` sets
# one format for every line, from the first); its own records go there too.
LOGGING = LoggingConfig(configure_root_logger=False,
                        loggers={"litestar": {"level": "INFO", "propagate": True}})


def create_app(settings: Settings, *, clock: Clock = utcnow) -> Litestar:
    from app.api import exception_handlers, openapi_config, route_handlers
    from app.api.access import AccessControl, require_role, rest_audit, security_headers

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            services = await _start(settings, clock, stack)
            app.state.services = services
            yield

    origins = settings.cors_origin_list
    app = Litestar(
        route_handlers=route_handlers,
        exception_handlers=exception_handlers,
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        logging_config=LOGGING,
        # Every route declares the least role that may call it (app.api.access).
        guards=[require_role],
        middleware=[security_headers, rest_audit],
        request_max_body_size=settings.max_body_bytes,
        cors_config=CORSConfig(allow_origins=origins, allow_credentials=False,
                               allow_headers=["Authorization", "Content-Type"])
        if origins else None,
    )
    app.state.access = AccessControl.from_settings(settings)
    return app


async def _start(settings: Settings, clock: Clock, stack: AsyncExitStack) -> Services:
    """Enter every resource in order; the exit stack closes them in reverse."""
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

    events = EventBus(clock=clock, history=settings.events_history,
                      queue_size=settings.events_queue_size, resume_s=settings.events_resume_s)
    registry = ConnectionRegistry()
    schemas = SchemaRegistry()
    id_tags = IdTagService(db, unknown_status=settings.unknown_id_tag_status, clock=clock)
    gateway = OcppGateway(registry, schemas)
    # Several nodes on one PostgreSQL: a call for a station another node holds goes to it.
    cluster = _cluster(settings, db, gateway, clock) if db.dialect == "postgresql" else None
    chargers: ChargerGateway = gateway if cluster is None else cluster[0]
    supply = SupplyConfig(voltage=settings.supply_voltage_v, phases=settings.supply_phases)
    remote_starts = RemoteStartService(db, clock=clock)

    def _transaction_changed(station_id: str) -> None:
        services.scheduler.transaction_changed(station_id)

    smart_charging = SmartChargingService(
        db, chargers, supply=supply, clock=clock, max_frame_bytes=settings.max_frame_bytes,
        retry=RetryPolicy(settings.retry_base_s, settings.retry_cap_s,
                          settings.retry_max_attempts), events=events)

    def _desired_changed(station_ids: Sequence[str]) -> None:
        # What a plan, a tariff or a manual profile allows caps a circuit's session.
        for station_id in station_ids:
            services.scheduler.transaction_changed(station_id)

    smart_charging.on_desired_changed = _desired_changed
    time_rules = TimeRules(max_ahead=timedelta(seconds=settings.station_clock_skew_s),
                           max_age=timedelta(days=settings.station_time_max_age_days))
    services = Services(
        settings=settings,
        db=db,
        stations=StationService(db, admit_unknown=settings.admit_unknown_stations, clock=clock,
                                writes=writes, time_rules=time_rules, events=events),
        id_tags=id_tags,
        needs=NeedService(db, clock=clock),
        transactions=TransactionService(db, id_tags, meters.put_all,
                                        concurrent_tx=settings.concurrent_tx,
                                        on_started=remote_starts.transaction_started,
                                        on_changed=_transaction_changed,
                                        on_ended=smart_charging.transactions_ended,
                                        time_rules=time_rules, clock=clock,
                                        events=events,
                                        meter_event_every_s=settings.meter_event_interval_s),
        gateway=chargers,
        smart_charging=smart_charging,
        job_runs=JobRunService(db, clock=clock, events=events),
        leases=LeaseService(db, settings.node_id, clock=clock,
                            node_stale_s=settings.node_heartbeat_s * MISSED_BEATS),
        security_events=SecurityEvents(security_rows.offer, clock=clock, events=events,
                                       address_of=registry.remote_host),
        verification=VerificationService(db, chargers, smart_charging,
                                         window_s=settings.verify_window_s,
                                         max_repairs=settings.drift_max_repairs, clock=clock,
                                         writes=writes),
        status=ServerStatus(
            connected_stations=lambda: len(registry),
            audit_queue_depth=lambda: audit.depth,
            audit_rows_written=lambda: audit.rows_written,
            writer_problems=lambda: [p for p in (audit.problem(), security_rows.problem()) if p],
            call_counts=lambda: dict(gateway.calls),
        ),
        clock=clock,
        events=events,
    )
    services.api_keys = ApiKeyService(db, clock=clock)
    services.device_model = DeviceModelService(db, clock=clock)
    services.remote_transactions = RemoteTransactions(db, services.transactions)
    services.ev_needs = EvNeedService(db, services.needs, clock=clock,
                                      on_changed=_transaction_changed)
    services.external_limits = ExternalLimitService(db, clock=clock, events=events,
                                                    on_changed=_transaction_changed)
    services.rest_audit = RestAuditService(db, clock=clock)
    services.station_security = StationSecurityService(
        services.stations, gateway, services.security_events,
        ca=CertificateAuthority.load(Path(settings.ca_dir)), operator=settings.cpo_name,
        csr_subject=settings.csr_subject, clock=clock)
    services.commands = CommandService(
        db, chargers, stations=services.stations, smart_charging=services.smart_charging,
        remote_starts=remote_starts, validate=_request_validator(schemas), clock=clock,
        security=services.station_security)
    # Stations held by processes that are not alive any more (this one before a crash,
    # on SQLite every earlier one) are offline before the listener opens.
    nodes = NodeService(db, settings.node_id, heartbeat_s=settings.node_heartbeat_s,
                        clock=clock)
    await nodes.register()
    services.nodes = nodes
    stack.push_async_callback(nodes.leave)
    beats = _Heartbeats(nodes, registry)
    services.status.acting = beats.acting
    services.status.node_problems = beats.problems
    heartbeat = asyncio.create_task(beats.run(), name="node-heartbeat")
    stack.push_async_callback(_cancel, heartbeat)
    if cluster is not None:
        await _join_cluster(services, *cluster, stack)

    scheduler = Scheduler(services)
    services.scheduler = scheduler
    services.plans = PlanService(db, smart_charging, scheduler=scheduler, clock=clock)
    services.tariffs = TariffService(db, smart_charging, scheduler=scheduler, clock=clock)
    services.circuits = CircuitService(
        db, voltage=settings.supply_voltage_v, min_current_a=settings.session_min_current_a,
        default_max_current_a=settings.session_max_current_a, clock=clock,
        smart_charging=smart_charging)
    services.load = LoadManager(
        db, services.circuits, smart_charging, gateway,
        stack_level=settings.circuit_stack_level, lease_s=settings.circuit_lease_s,
        horizon_s=settings.circuit_horizon_s, voltage=settings.supply_voltage_v, clock=clock,
        peers=services.peers)

    ocpp = OcppServer(services, Router(services, schemas, all_handlers()), registry, audit)
    await ocpp.start()
    stack.push_async_callback(ocpp.stop)
    services.status.ocpp_listening = True
    services.status.ocpp_port = ocpp.port
    services.status.ocpp_tls_port = ocpp.tls_port
    services.status.handshakes_in_progress = ocpp.handshakes_in_progress

    services.webhooks = WebhookService(db, events, clock=clock, policy=WebhookPolicy(
        retry_base_s=settings.webhook_retry_base_s, retry_cap_s=settings.webhook_retry_cap_s,
        max_attempts=settings.webhook_max_attempts, timeout_s=settings.webhook_timeout_s))
    await services.webhooks.start()
    stack.push_async_callback(services.webhooks.stop)

    scheduler.start()
    stack.push_async_callback(scheduler.stop)
    await services.tariffs.start()

    presence = asyncio.create_task(_flush_presence(services, registry), name="presence")
    stack.push_async_callback(_cancel, presence)

    if settings.demo_station:
        await _start_demo_station(services, ocpp.port, stack)
    return services


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


def _cluster(settings: Settings, db: Database, gateway: OcppGateway, clock: Clock
             ) -> tuple[RoutedGateway, RequestBus]:
    bus = RequestBus(db, settings.node_id, clock=clock)
    routed = RoutedGateway(gateway, db, bus,
                           stale_after_s=settings.node_heartbeat_s * MISSED_BEATS,
                           call_timeout_s=settings.call_timeout_s, clock=clock)
    return routed, bus


async def _join_cluster(services: Services, routed: RoutedGateway, bus: RequestBus,
                        stack: AsyncExitStack) -> None:
    """LISTEN for requests of other nodes, carry them out, and ask them for ours."""
    async def run_job_here(job: str, station_ids: list[str] | None, trigger: str) -> None:
        await JOBS[job](services, station_ids, trigger)

    smart_charging = services.smart_charging
    routed.lock = smart_charging.lock
    smart_charging.owners = routed

    async def deliver(station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await smart_charging.deliver_here(station_id, int(payload["desired_id"]))

    async def clear(station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await smart_charging.clear_here(station_id, payload["filters"])

    async def reconcile(station_id: str, _payload: dict[str, Any]) -> dict[str, Any]:
        report = await smart_charging.reconcile(station_id)
        return {"calls": report.calls, "failures": report.failures}

    routed.handlers["deliver"] = deliver
    routed.handlers["reconcile"] = reconcile
    routed.handlers["clear"] = clear
    routed.run_job_here = run_job_here
    services.peers = ClusterPeers(routed, bus, services.db)
    node_problems = services.status.node_problems

    # Every node's /events carries the events of every node's stations.
    relay = EventRelay(services.db, services.events, bus.node_id,
                       heartbeat_s=services.settings.node_heartbeat_s, clock=services.clock)

    def problems() -> list[str]:
        listener = [] if bus.listening else [
            f"requests of other nodes are not heard: {bus.listener_error}"]
        events = [] if relay.listening else [
            f"events of other nodes are not heard: {relay.listener_error}"]
        return node_problems() + listener + events

    services.status.node_problems = problems
    services.status.node_requests = lambda: {
        **{("routed", outcome): n for outcome, n in routed.routed.items()},
        **{("served", kind): n for kind, n in routed.served.items()}}
    await bus.start()
    stack.push_async_callback(bus.stop)
    await relay.start()
    stack.push_async_callback(relay.stop)
    services.status.node_events = relay.counts
    services.status.events_wanted_elsewhere = lambda: services.events.wanted_elsewhere
    stack.push_async_callback(routed.stop)
    routed.wake()
    sweeper = asyncio.create_task(_sweep_requests(services, routed, bus),
                                  name="cluster-sweep")
    stack.push_async_callback(_cancel, sweeper)


async def _sweep_requests(services: Services, routed: RoutedGateway, bus: RequestBus) -> None:
    """Every heartbeat: claim what a lost notification left waiting, delete what callers
    gave up on."""
    while True:
        await asyncio.sleep(services.settings.node_heartbeat_s)
        routed.wake()
        try:
            await bus.sweep()
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


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
