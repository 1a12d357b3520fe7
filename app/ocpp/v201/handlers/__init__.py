"""Handlers for what OCPP 2.0.1 charging stations send, one module per functional block
group (OCPP 2.0.1 Part 2: B provisioning; C, E and J authorization, transactions and
meter values; K smart charging; A, N security events, logs and component events)."""

from __future__ import annotations

from app.ocpp.router import Handler
from app.ocpp.v201.handlers import provisioning, reports, smart_charging
from app.ocpp.v201.handlers.transactions import TransactionHandlers
from app.ocpp.v201.profile_reports import ProfileReports
from app.ocpp.v201.remote_ids import RemoteIds


def all_handlers(ids: RemoteIds, profile_reports: ProfileReports) -> dict[str, Handler]:
    return {**provisioning.HANDLERS, **reports.HANDLERS,
            **TransactionHandlers(ids).handlers(), **smart_charging.handlers(profile_reports)}
