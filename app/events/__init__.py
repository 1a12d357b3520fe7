"""Live events: typed changes emitted by the services, served as SSE, WebSocket and
webhooks."""

from app.events.bus import Dropped, EventBus, Subscription
from app.events.types import Event, EventFilter, EventType

__all__ = ["Dropped", "Event", "EventBus", "EventFilter", "EventType", "Subscription"]
