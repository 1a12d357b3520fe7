"""Handlers for what charge points send, one module per OCPP 1.6 feature profile."""

from __future__ import annotations

from app.ocpp.handlers import core, security
from app.ocpp.router import Handler


def all_handlers() -> dict[str, Handler]:
    return {**core.HANDLERS, **security.HANDLERS}
