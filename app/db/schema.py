"""Every table of the database: import this to get the complete ``metadata``."""

from __future__ import annotations

from app.db import (
    access_models,
    circuit_models,
    device_models,
    fleet_models,
    models,
    node_models,
    security_models,
    webhook_models,
)

metadata = models.Base.metadata

__all__ = ["access_models", "circuit_models", "device_models", "fleet_models", "metadata",
           "models", "node_models", "security_models", "webhook_models"]
