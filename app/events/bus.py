"""The in-process event bus: services emit, listeners (SSE, WebSocket, webhooks) consume.

- Emitting costs one attribute check when nobody listens and no listener left within the
  resume window: nothing is built, stored or sent.
- Each listener has a bounded queue filled without waiting; a listener that falls
  ``queue_size`` events behind is dropped and told so (its stream ends with a
  ``listener.dropped`` event). OCPP handling never waits on a listener.
- The last ``history`` events are kept so a client that reconnects with the id of the
  last event it saw (SSE ``Last-Event-ID``) gets what it missed.

Several nodes: :class:`app.cluster.events.EventRelay` forwards what ``emit`` publishes
(``forward``) and hands what other nodes publish to :meth:`EventBus.deliver_remote`, which
numbers it in this process's sequence: ids, and so ``Last-Event-ID``, are per node. A node
emits while a listener of another node wants events (:meth:`EventBus.remote_interest`), so
events still cost nothing while nobody anywhere listens. Listeners subscribed with
``local_only`` (webhook workers: each node delivers its own events) neither get other
nodes' events nor ask other nodes for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from app.clock import Clock, utcnow
from app.events.types import Event, EventFilter, EventType
from app.json_types import JsonObject


class Subscription:
    """One listener's queue. Filled by the bus without waiting; read with :meth:`next`."""

    def __init__(self, bus: EventBus, wanted: EventFilter, queue_size: int, *,
                 local_only: bool = False) -> None:
        self._bus = bus
        self.wanted = wanted
        self.local_only = local_only
        self._queue: deque[Event] = deque()
        self._size = queue_size
        self._ready = asyncio.Event()
        self.dropped = False
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.dropped or not self.wanted.matches(event) or (
                self.local_only and event.origin is not None):
            return
        if len(self._queue) >= self._size:
            # Too far behind: dropped now rather than slowing the emitter or growing.
            self.dropped = True
            self._queue.clear()
            self._bus.unsubscribe(self)
        else:
            self._queue.append(event)
        self._ready.set()

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event; None when ``timeout`` passes first (time for a heartbeat).
        A dropped listener gets one ``listener.dropped`` event, then :class:`Dropped`."""
        while not self._queue:
            if self.dropped:
                if self.closed:
                    raise Dropped
                self.closed = True
                return Event(self._bus.last_id, EventType.LISTENER_DROPPED, self._bus.now(),
                             data={"reason": f"more than {self._size} events behind"})
            self._ready.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._ready.wait()
            except TimeoutError:
                return None
        return self._queue.popleft()

    def end(self) -> None:
        self.dropped = self.closed = True
        self._queue.clear()
        self._ready.set()

    def pending(self) -> int:
        return len(self._queue)


class Relay(Protocol):
    """What carries this node's events to the other nodes and theirs here: it is handed
    each event emitted while another node listens, and told when a listener that wants
    other nodes' events subscribes here (``app/cluster/events.py``)."""

    def forward(self, event: Event) -> None: ...

    def interest(self) -> None: ...


class Dropped(Exception):
    """The listener fell behind and was removed from the bus."""


class EventBus:
    def __init__(self, *, clock: Clock = utcnow, history: int = 1000, queue_size: int = 1000,
                 resume_s: float = 300.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 publish: Callable[[Event], None] | None = None) -> None:
        self._clock = clock
        # Where an emitted event goes to be handed out: the message bus of the server,
        # whose table has :meth:`hand_out` as a subscriber (app/reactions.py); None: at once.
        self._publish = publish
        self._monotonic = monotonic
        self._history: deque[Event] = deque(maxlen=history)
        self._queue_size = queue_size
        self._resume_s = resume_s
        self._listeners: list[Subscription] = []
        self._ids = itertools.count(1)
        self.last_id = 0
        # Events are kept for resume until this long after the last listener left.
        self._keep_until = float("-inf")
        self._throttle: dict[tuple[Any, ...], float] = {}
        self.dropped_listeners = 0
        # Several nodes: until when a listener of another node wants this node's events,
        # and the relay to the other nodes while one is attached (``attach``).
        self._remote_until = float("-inf")
        self._relay: Relay | None = None

    def attach(self, relay: Relay) -> None:
        """Carry events between this node and the others through ``relay`` (one at a
        time) until :meth:`detach`."""
        if self._relay is not None and self._relay is not relay:
            raise RuntimeError("another relay is attached")
        self._relay = relay

    def detach(self, relay: Relay) -> None:
        if self._relay is relay:
            self._relay = None

    # --- emitting ----------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Somebody listens here or on another node, or left recently enough to resume."""
        if self._listeners:
            return True
        now = self._monotonic()
        return now < self._keep_until or now < self._remote_until

    @property
    def wants_remote(self) -> bool:
        """A listener here wants other nodes' events (or may resume soon)."""
        return (any(not listener.local_only for listener in self._listeners)
                or self._monotonic() < self._keep_until)

    @property
    def wanted_elsewhere(self) -> bool:
        """A listener of another node wants this node's events now."""
        return self._monotonic() < self._remote_until

    def remote_interest(self, seconds: float) -> None:
        """A listener of another node wants events for the next ``seconds``."""
        self._remote_until = max(self._remote_until, self._monotonic() + seconds)

    def emit(self, type: EventType, *, station_id: str | None = None,
             connector_id: int | None = None, circuit_id: str | None = None,
             **data: Any) -> None:
        if not self.active:
            return
        self.last_id = next(self._ids)
        event = Event(self.last_id, type, self._clock(), station_id, connector_id,
                      circuit_id, data)
        if self._publish is not None:
            self._publish(event)
        else:
            self.hand_out(event)

    def hand_out(self, event: Event) -> None:
        """Offer an event of this node to its listeners and, when a listener of another node
        wants them, to the relay."""
        self.deliver(event)
        if self._relay is not None and self._monotonic() < self._remote_until:
            self._relay.forward(event)

    def deliver_remote(self, type: EventType, at: Any, *, origin: str,
                       station_id: str | None = None, connector_id: int | None = None,
                       circuit_id: str | None = None, data: JsonObject | None = None
                       ) -> None:
        """An event another node emitted, numbered in this node's sequence."""
        if not self.wants_remote:
            return
        self.last_id = next(self._ids)
        self.deliver(Event(self.last_id, type, at, station_id, connector_id, circuit_id,
                           data or {}, origin))

    def due(self, key: tuple[Any, ...], every_s: float) -> bool:
        """Throttle: True at most once every ``every_s`` per key (meter samples)."""
        if not self.active:
            return False
        now = self._monotonic()
        if now < self._throttle.get(key, float("-inf")):
            return False
        self._throttle[key] = now + every_s
        return True

    def deliver(self, event: Event) -> None:
        """Keep the event for resume and offer it to every listener."""
        self._history.append(event)
        for listener in list(self._listeners):
            listener.offer(event)

    def now(self) -> Any:
        return self._clock()

    # --- listening -----------------------------------------------------------------------
    def subscribe(self, wanted: EventFilter = EventFilter(),  # noqa: B008 - frozen
                  *, after: int | None = None, queue_size: int | None = None,
                  local_only: bool = False) -> Subscription:
        """A new listener; with ``after`` (the last id a client saw) it first gets the kept
        events that followed it (all kept ones when ``after`` is from before a restart).
        ``local_only``: only this node's events."""
        listener = Subscription(self, wanted, queue_size or self._queue_size,
                                local_only=local_only)
        if after is not None:
            replay = [e for e in self._history if e.id > after]
            if after > self.last_id:  # an id of an earlier run of this process
                replay = list(self._history)
            for event in replay:
                listener.offer(event)
        if not listener.dropped:
            self._listeners.append(listener)
            if not local_only and self._relay is not None:
                self._relay.interest()
        return listener

    def end_all(self) -> None:
        """The server is stopping: every listener's stream ends now (its next read raises
        :class:`Dropped`), so a stop does not wait on streams that never end by themselves."""
        for listener in list(self._listeners):
            listener.end()

    def unsubscribe(self, listener: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)
            if listener.dropped:
                self.dropped_listeners += 1
            if not self._listeners:
                self._keep_until = self._monotonic() + self._resume_s
                self._throttle.clear()

    @contextlib.contextmanager
    def listening(self, wanted: EventFilter = EventFilter(),  # noqa: B008 - frozen
                  *, after: int | None = None) -> Iterator[Subscription]:
        listener = self.subscribe(wanted, after=after)
        try:
            yield listener
        finally:
            self.unsubscribe(listener)

    @property
    def listeners(self) -> int:
        return len(self._listeners)
