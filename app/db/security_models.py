"""Security events: what a hostile or broken client did, and what the server did about it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base
from app.db.types import BigIntPK, JSONType, UTCDateTime


class SecurityEventKind(StrEnum):
    """What happened. Stored as text: a new kind needs no migration."""

    # A station sent more malformed frames per minute than allowed: disconnected (1008).
    MALFORMED_FLOOD = "malformed_flood"
    # HTTP Basic credentials missing or wrong on the websocket upgrade.
    AUTH_FAILED = "auth_failed"
    # A handshake refused before authentication: too many in progress from one address.
    HANDSHAKE_LIMIT = "handshake_limit"
    # A websocket upgrade naming a station id outside the allowed rule.
    INVALID_STATION_ID = "invalid_station_id"
    # Failed authentications started a lockout (detail: key addr/pair/station, seconds).
    AUTH_LOCKOUT = "auth_lockout"
    # A connection below the station's security profile (plain for 2+, no certificate for 3).
    PROFILE_REFUSED = "profile_refused"
    # A client certificate that does not name the station (CN) and operator (O).
    CERTIFICATE_REFUSED = "certificate_refused"
    # A TLS handshake refused before any HTTP: an old protocol version, no common cipher
    # suite, not TLS at all (detail: OpenSSL's reason). A client certificate that fails
    # verification (expired, unknown CA) is a certificate_refused without a station id.
    TLS_REFUSED = "tls_refused"
    # An authenticated connection replaced the station's previous one.
    CONNECTION_REPLACED = "connection_replaced"
    # A station's security profile was raised (REST or ChangeConfiguration SecurityProfile).
    PROFILE_CHANGED = "profile_changed"
    # A new AuthorizationKey was sent; then the station connected with it.
    PASSWORD_ROTATION_SENT = "password_rotation_sent"
    PASSWORD_ROTATED = "password_rotated"
    # SecurityEventNotification from a station (detail: type, techInfo, timestamp).
    STATION_REPORTED = "station_reported"
    # SignCertificate: the CSR was signed, or rejected (detail says why).
    CERTIFICATE_SIGNED = "certificate_signed"
    CSR_REJECTED = "csr_rejected"
    # A CSR with a wrong or missing subject signed with the subject chargeplan decides
    # (CHARGEPLAN_CSR_SUBJECT=rewrite; detail: requested, signed, reason).
    CSR_SUBJECT_REWRITTEN = "csr_subject_rewritten"


class SecurityEvent(Base):
    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_ts", "ts"),
        Index("ix_security_events_station_ts", "station_id", "ts"),
        Index("ix_security_events_kind_ts", "kind", "ts"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    # No foreign key: events name stations that are unknown or not registered yet.
    station_id: Mapped[str | None] = mapped_column(String(64))
    # The client's address (host only) when the event came from a connection.
    remote_address: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[Any] = mapped_column(JSONType, nullable=True)
