"""Models for keeping a fleet on its desired state: job runs, verifications, plans, tariffs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base
from app.db.types import JSONType, StrEnumType, UTCDateTime
from app.domain.states import VerificationOutcome
from app.json_types import JsonObject


class JobRun(Base):
    """One run of a scheduled job, and what it did."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(40))
    # What started it: interval, boot, connect, change, manual.
    trigger: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # running, ok, failed (the job raised), partial (some calls failed).
    outcome: Mapped[str] = mapped_column(String(12))
    stations: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[Any] = mapped_column(JSONType, nullable=True)


class Verification(Base):
    """A comparison of a station's reported composite schedule with the expected one."""

    __tablename__ = "verifications"
    __table_args__ = (Index("ix_verifications_station_at", "station_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[VerificationOutcome] = mapped_column(StrEnumType(VerificationOutcome, 14))
    expected: Mapped[Any] = mapped_column(JSONType, nullable=True)
    reported: Mapped[Any] = mapped_column(JSONType, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    job_run_id: Mapped[int | None] = mapped_column(Integer)


class Plan(Base):
    """Desired state for many stations at once: one profile, materialised per target."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    # {"station_ids": [...], "tags": [...]}
    targets: Mapped[JsonObject] = mapped_column(JSONType)
    connector_id: Mapped[int] = mapped_column(Integer)
    # OCPP 1.6 ChargingProfile without chargingProfileId (allocated per station).
    profile: Mapped[JsonObject] = mapped_column(JSONType)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Tariff(Base):
    """A time-of-use tariff in local time; regenerated into TxDefaultProfiles per day."""

    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(1))
    # [{"days": ["Mon", ...], "start": "HH:MM", "end": "HH:MM", "limit": 4000}]
    windows: Mapped[list[Any]] = mapped_column(JSONType)
    default_limit: Mapped[float] = mapped_column()
    # e.g. {"cheapest_hours": 6, "reduced_limit": 3000} applied when prices exist for a day.
    price_rule: Mapped[Any] = mapped_column(JSONType, nullable=True)
    targets: Mapped[JsonObject] = mapped_column(JSONType)
    connector_id: Mapped[int] = mapped_column(Integer)
    stack_level: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TariffPrice(Base):
    """Day-ahead hourly prices of a tariff for one local date."""

    __tablename__ = "tariff_prices"

    tariff_id: Mapped[int] = mapped_column(
        ForeignKey("tariffs.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[str] = mapped_column(String(10), primary_key=True)  # local YYYY-MM-DD
    prices: Mapped[list[float]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StationLease(Base):
    """Which server process may run jobs for a station right now.

    Only the process holding a station's websocket talks to it; the lease makes sure
    that even when two processes briefly both believe they hold it (a reconnect that
    landed elsewhere before the old socket timed out) only one sends at a time.
    """

    __tablename__ = "station_leases"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Node(Base):
    """A server process that holds station connections, and when it last said so.

    Stations name the node holding their socket (``stations.node_id``); a node whose
    heartbeat has lapsed holds nothing any more, so its stations are offline.
    """

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
