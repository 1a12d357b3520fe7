"""The app factory and the one lifespan that owns every resource of a running server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from litestar import Litestar
from sqlalchemy import Table

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.migrate import prepare_database
from app.db.models import AuditFrame, MeterValue
from app.domain.composite import SupplyConfig
from app.ocpp.batch_writer import BatchWriter
from app.ocpp.gateway import OcppGateway
from app.ocpp.handlers import all_handlers
from app.ocpp.registry import ConnectionRegistry
from app.ocpp.router import Router
from app.ocpp.schemas import SchemaRegistry
from app.ocpp.server import OcppServer
from app.services.container import ServerStatus, Services
from app.services.id_tags import IdTagService
from app.services.smart_charging import SmartChargingService
from app.services.stations import StationService
from app.services.transactions import TransactionService
from app.settings import Settings

log = logging.getLogger("chargeplan")


def create_app(settings: Settings, *, clock: Clock = utcnow) -> Litestar:
    from app.api import exception_handlers, openapi_config, route_handlers

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            services = await _start(settings, clock, stack)
            app.state.services = services
            yield

    return Litestar(
        route_handlers=route_handlers,
        exception_handlers=exception_handlers,
        openapi_config=openapi_config,
        lifespan=[lifespan],
    )


async def _start(settings: Settings, clock: Clock, stack: AsyncExitStack) -> Services:
    """Enter every resource in order; the exit stack closes them in reverse."""
    await prepare_database(settings.database_url, auto_migrate=settings.auto_migrate)
    db = Database(settings.database_url)
    stack.push_async_callback(db.dispose)

    audit = BatchWriter(db, _table(AuditFrame), flush_interval=settings.audit_flush_interval_s,
                        batch_size=settings.audit_batch_size, max_queue=settings.audit_queue_max)
    meters = BatchWriter(db, _table(MeterValue), flush_interval=1.0,
                         batch_size=settings.audit_batch_size, max_queue=settings.audit_queue_max)
    for writer in (audit, meters):
        await writer.start()
        stack.push_async_callback(writer.stop)

    registry = ConnectionRegistry()
    schemas = SchemaRegistry()
    id_tags = IdTagService(db, unknown_status=settings.unknown_id_tag_status, clock=clock)
    gateway = OcppGateway(registry, schemas)
    supply = SupplyConfig(voltage=settings.supply_voltage_v, phases=settings.supply_phases)
    services = Services(
        settings=settings,
        db=db,
        stations=StationService(db, admit_unknown=settings.admit_unknown_stations, clock=clock),
        id_tags=id_tags,
        transactions=TransactionService(db, id_tags, meters.put),
        gateway=gateway,
        smart_charging=SmartChargingService(db, gateway, supply=supply, clock=clock),
        status=ServerStatus(
            connected_stations=lambda: len(registry),
            audit_queue_depth=lambda: audit.depth,
            audit_rows_written=lambda: audit.rows_written,
        ),
        clock=clock,
    )
    # Stations this process held before a crash are not connected any more.
    await services.stations.mark_node_offline(settings.node_id)

    ocpp = OcppServer(services, Router(services, schemas, all_handlers()), registry, audit)
    await ocpp.start()
    stack.push_async_callback(ocpp.stop)
    services.status.ocpp_listening = True
    services.status.ocpp_port = ocpp.port

    presence = asyncio.create_task(_flush_presence(services, registry), name="presence")
    stack.push_async_callback(_cancel, presence)

    if settings.demo_station:
        await _start_demo_station(services, ocpp.port, stack)
    return services


async def _flush_presence(services: Services, registry: ConnectionRegistry) -> None:
    """last_seen of connected stations goes to the database in one batch every few
    seconds, not one write per Heartbeat."""
    while True:
        await asyncio.sleep(services.settings.presence_flush_s)
        try:
            await services.stations.touch(registry.last_seen())
        except Exception:
            log.exception("writing last_seen failed")


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


def _table(model: type[AuditFrame] | type[MeterValue]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
