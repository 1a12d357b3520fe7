"""REST API access: API keys (only their hashes) and the record of state-changing calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base
from app.db.types import BigIntPK, JSONType, UTCDateTime


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # reader, operator or admin (app.services.security.api_keys.Role).
    role: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the whole key, hex: keys are 256-bit random, so a slow hash adds nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, to recognise it in a list; not enough to use it.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RestRequest(Base):
    """One state-changing REST call: who (the key's name), what, when, and its answer."""

    __tablename__ = "rest_audit"
    __table_args__ = (
        Index("ix_rest_audit_ts", "ts"),
        Index("ix_rest_audit_key_ts", "key_name", "ts"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    request_id: Mapped[str] = mapped_column(String(36))
    # None when the API runs without keys (CHARGEPLAN_API_AUTH=off, loopback only).
    key_name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    query: Mapped[str | None] = mapped_column(String(2000))
    status_code: Mapped[int] = mapped_column(Integer)
    remote_address: Mapped[str | None] = mapped_column(String(100))
    # The JSON body with secrets masked; None when empty or not JSON.
    body: Mapped[Any] = mapped_column(JSONType, nullable=True)
