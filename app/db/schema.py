"""Every table of the database: import this to get the complete ``metadata``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String

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


def compare_type(context: Any, inspected_column: Any, metadata_column: Any,
                 inspected_type: Any, metadata_type: Any) -> bool | None:
    """Alembic's type comparison (migrations/env.py and the models-equal-migrations
    test), with one rule of SQLite's: it ignores a VARCHAR's length (sqlite.org,
    "Datatypes In SQLite": numeric arguments after a type name are ignored), so
    a column widened on PostgreSQL only (an id token from 20 to 36 characters) is the
    same column there. False: equal; None: alembic's own comparison decides."""
    if (context.dialect.name == "sqlite" and isinstance(inspected_type, String)
            and isinstance(metadata_type, String)
            and type(inspected_type).__name__ in ("VARCHAR", "String")
            and type(metadata_type).__name__ in ("VARCHAR", "String")):
        return False
    return None

__all__ = ["access_models", "circuit_models", "compare_type", "device_models", "fleet_models",
           "metadata",
           "models", "node_models", "security_models", "webhook_models"]
