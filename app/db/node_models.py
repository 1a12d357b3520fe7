"""Work one node asks of another: a call to a station whose socket the other holds, or a
job over its stations.

The row carries the payload and, once done, the result; a NOTIFY carries only the row's
id (PostgreSQL limits a notification's payload to 8,000 bytes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base
from app.db.types import JSONType, UTCDateTime


class NodeRequest(Base):
    __tablename__ = "node_requests"
    __table_args__ = (Index("ix_node_requests_target_state", "target_node", "state"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True, autoincrement=True)
    # call: one CALL to a station; job: reconcile or verify some of the target's stations.
    kind: Mapped[str] = mapped_column(String(10))
    origin_node: Mapped[str] = mapped_column(String(100))
    target_node: Mapped[str] = mapped_column(String(100))
    station_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(50))
    payload: Mapped[Any] = mapped_column(JSONType)
    desired_profile_id: Mapped[int | None] = mapped_column(Integer)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    # pending -> running (claimed by the target) -> done (result written).
    state: Mapped[str] = mapped_column(String(10))
    result: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClusterEvent(Base):
    """An event too large for a NOTIFY payload (8,000 bytes): the notification carries
    this row's id and the other nodes read the event here."""

    __tablename__ = "cluster_events"
    __table_args__ = (Index("ix_cluster_events_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(String(100))
    event: Mapped[Any] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
