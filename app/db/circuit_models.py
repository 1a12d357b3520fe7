"""Circuits: the electrical tree (grid connection, feeders, sub-panels) stations hang from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base
from app.db.types import JSONType, UTCDateTime
from app.json_types import JsonObject


class Circuit(Base):
    """One node of the tree; ``parent_id`` None for a site's grid connection."""

    __tablename__ = "circuits"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # A circuit with children cannot be deleted (RESTRICT): the tree never loses a level.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("circuits.id", ondelete="RESTRICT"), index=True
    )
    # Per grid phase L1, L2, L3, amperes.
    max_current_a: Mapped[list[float]] = mapped_column(JSONType)
    max_power_w: Mapped[float | None] = mapped_column(Float)
    max_imbalance_a: Mapped[float | None] = mapped_column(Float)
    margin_a: Mapped[float] = mapped_column(Float, default=0.0)
    connector_count: Mapped[int | None] = mapped_column(Integer)
    # Windows replacing the limits: [{"from", "to", "max_current_a", "max_power_w"?}].
    limits: Mapped[list[JsonObject]] = mapped_column(JSONType, default=list)
    # The unmanaged load assumed when no fresh measurement exists (fail closed).
    worst_case_other_load_a: Mapped[list[float]] = mapped_column(JSONType)
    # A measurement older than this many seconds is stale.
    stale_after_s: Mapped[int] = mapped_column(Integer, default=300)
    measured_other_load_a: Mapped[list[float] | None] = mapped_column(JSONType)
    measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A station connector whose per-phase Current.Import is the circuit meter's total.
    meter_station_id: Mapped[str | None] = mapped_column(String(64))
    meter_connector_id: Mapped[int | None] = mapped_column(Integer)
    # A session below it without a better need leaves this long after it started
    # (app/domain/needs.py, source circuit_default); None: no default.
    default_dwell_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
