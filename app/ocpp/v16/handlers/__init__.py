"""Handlers for what charge points send, one module per OCPP 1.6 feature profile."""

from __future__ import annotations

from app.ocpp.router import Handler
from app.ocpp.v16.handlers import core, security


def all_handlers() -> dict[str, Handler]:
    return {**core.HANDLERS, **security.HANDLERS}
