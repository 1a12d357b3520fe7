"""Handlers for what OCPP 2.0.1 charging stations send, one module per functional block
group (OCPP 2.0.1 Part 2: B provisioning)."""

from __future__ import annotations

from app.ocpp.router import Handler
from app.ocpp.v201.handlers import provisioning
from app.ocpp.v201.remote_ids import RemoteIds


def all_handlers(ids: RemoteIds) -> dict[str, Handler]:
    return {**provisioning.HANDLERS}
