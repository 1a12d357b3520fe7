"""Handlers for what OCPP 2.0.1 charging stations send, one module per functional block
group (OCPP 2.0.1 Part 2: B provisioning; C, E and J authorization, transactions and
meter values; K smart charging; A, N security events, logs and component events)."""

from __future__ import annotations

from typing import Any

from app.ocpp.router import CallContext, Handler, Reply
from app.ocpp.v201.handlers import provisioning, reports, security, smart_charging
from app.ocpp.v201.handlers.transactions import TransactionHandlers
from app.ocpp.v201.profile_reports import ProfileReports
from app.ocpp.v201.remote_ids import RemoteIds


def all_handlers(ids: RemoteIds, profile_reports: ProfileReports) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {
        **provisioning.HANDLERS, **reports.HANDLERS, **security.HANDLERS,
        **TransactionHandlers(ids).handlers(),
        **smart_charging.handlers(profile_reports)}
    return {action: _knowing_running_transactions(ids, handler)
            for action, handler in handlers.items()}


def _knowing_running_transactions(ids: RemoteIds, handler: Handler) -> Handler:
    """``handler``, after the first message of a station to this process has brought
    the station's own ids of its running transactions from the database (one query a
    station a process; ``remote_ids.py``)."""
    async def handle(ctx: CallContext, payload: dict[str, Any]) -> Reply:
        if ids.cold(ctx.station_id):
            running = await ctx.services.transactions.active(ctx.station_id)
            ids.warm(ctx.station_id, [(t.id, t.remote_id) for t in running
                                      if t.remote_id is not None])
        return await handler(ctx, payload)

    return handle
