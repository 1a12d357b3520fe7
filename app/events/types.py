"""The typed events of one chargeplan process: what changed, about which station, when.

Pure data: no I/O, no clock read (the bus stamps events with the clock it is given).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import orjson

from app.json_types import JsonObject


class EventType(StrEnum):
    STATION_CONNECTED = "station.connected"
    STATION_DISCONNECTED = "station.disconnected"
    STATION_BOOTED = "station.booted"
    CONNECTOR_STATUS = "connector.status"
    TRANSACTION_STARTED = "transaction.started"
    TRANSACTION_STOPPED = "transaction.stopped"
    METER_SAMPLE = "meter.sample"
    PROFILE_STORED = "profile.stored"
    PROFILE_DELIVERED = "profile.delivered"
    PROFILE_ACCEPTED = "profile.accepted"
    PROFILE_REJECTED = "profile.rejected"
    PROFILE_FAILED = "profile.failed"
    VERIFICATION_VERIFIED = "verification.verified"
    VERIFICATION_DRIFT = "verification.drift"
    VERIFICATION_REPAIRED = "verification.repaired"
    VERIFICATION_UNVERIFIABLE = "verification.unverifiable"
    PLAN_APPLIED = "plan.applied"
    TARIFF_APPLIED = "tariff.applied"
    JOB_FINISHED = "job.finished"
    SECURITY_EVENT = "security.event"
    # A circuit tree was re-planned: each session's new limit and what binds it.
    CIRCUIT_REPLANNED = "circuit.replanned"
    # A station reported a charging limit set outside chargeplan, or its clearing
    # (OCPP 2.0.1 K12, K13): source, EVSE (connector_id) and schedules.
    EXTERNAL_LIMIT_SET = "external_limit.set"
    EXTERNAL_LIMIT_CLEARED = "external_limit.cleared"
    # The schedule a car chose (OCPP 2.0.1 NotifyEVChargingSchedule) fits what was sent
    # for its session, or not: transaction_id, schedule_id and, when rejected, reason.
    EV_SCHEDULE_ACCEPTED = "ev_schedule.accepted"
    EV_SCHEDULE_REJECTED = "ev_schedule.rejected"
    # Sent only to the listener it concerns: it fell behind and was dropped.
    LISTENER_DROPPED = "listener.dropped"


@dataclass(frozen=True, slots=True)
class Event:
    """One change. ``id`` increases within a process; clients resume after it."""

    id: int
    type: EventType
    at: datetime
    station_id: str | None = None
    connector_id: int | None = None
    circuit_id: str | None = None
    data: JsonObject = field(default_factory=dict)
    # The node that emitted it, when another node did (several nodes on one PostgreSQL).
    origin: str | None = None
    # Its encodings, made by the first listener that needs one and shared by the others:
    # an event costs one encoding however many SSE, WebSocket and webhook listeners
    # take it.
    _json: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _sse: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def as_dict(self) -> JsonObject:
        return {"id": self.id, "type": self.type.value, "at": self.at,
                "station_id": self.station_id, "connector_id": self.connector_id,
                "circuit_id": self.circuit_id, "data": self.data}

    def to_json(self) -> bytes:
        """The event as JSON, encoded once."""
        encoded = self._json
        if encoded is None:
            encoded = orjson.dumps(self.as_dict(), default=str, option=orjson.OPT_NON_STR_KEYS)
            object.__setattr__(self, "_json", encoded)
        return encoded

    def to_sse(self) -> bytes:
        """The event as one Server-Sent Events message (``id``, ``event``, ``data``; the
        JSON holds no line break), encoded once."""
        encoded = self._sse
        if encoded is None:
            encoded = (b"id: %d\r\nevent: %s\r\ndata: %s\r\n\r\n"
                       % (self.id, self.type.value.encode(), self.to_json()))
            object.__setattr__(self, "_sse", encoded)
        return encoded


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What one listener wants; an empty set means every value."""

    types: frozenset[EventType] = frozenset()
    station_ids: frozenset[str] = frozenset()
    circuit_ids: frozenset[str] = frozenset()

    def matches(self, event: Event) -> bool:
        if self.types and event.type not in self.types:
            return False
        if self.station_ids and event.station_id not in self.station_ids:
            return False
        return not self.circuit_ids or event.circuit_id in self.circuit_ids
