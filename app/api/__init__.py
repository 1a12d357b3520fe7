"""The REST API: the handlers, error mapping and OpenAPI settings ``app.main`` mounts."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from app.api.api_keys import ApiKeyController
from app.api.audit import AuditController
from app.api.circuits import CircuitController, ConnectorLimitController
from app.api.commands import commands_router
from app.api.docs import docs_assets, openapi_config, openapi_json, redoc, redoc_offline_js
from app.api.errors import exception_handlers
from app.api.events import events_sse, events_ws
from app.api.health import health
from app.api.id_tags import IdTagController
from app.api.jobs import JobsController, VerificationController
from app.api.metrics import metrics
from app.api.nodes import list_nodes
from app.api.plans import PlanController
from app.api.security_events import SecurityEventController
from app.api.smart_charging import SmartChargingController
from app.api.station_model import StationModelController
from app.api.stations import StationController
from app.api.tariffs import TariffController
from app.api.transactions import transactions_router
from app.api.webhooks import WebhookController
from app.ui import ui_handlers

route_handlers: list[ControllerRouterHandler] = [
    StationController,
    StationModelController,
    SmartChargingController,
    commands_router,
    IdTagController,
    JobsController,
    VerificationController,
    metrics,
    PlanController,
    TariffController,
    CircuitController,
    ConnectorLimitController,
    AuditController,
    ApiKeyController,
    SecurityEventController,
    transactions_router,
    health,
    events_sse,
    events_ws,
    WebhookController,
    *ui_handlers,
    list_nodes,
    redoc,
    openapi_json,
    redoc_offline_js,
    *docs_assets,
]

__all__ = ["exception_handlers", "openapi_config", "route_handlers"]

