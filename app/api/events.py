"""Live events: Server-Sent Events at ``GET /events`` and a WebSocket at ``/events/ws``.

Both take the same filters (``station_id``, ``circuit_id``, ``type``; each repeated or
comma-separated) and resume after ``Last-Event-ID`` (the SSE header, or the
``last_event_id`` query parameter of either). A quiet stream carries a heartbeat every
``events_heartbeat_s``. A listener that falls too far behind gets ``listener.dropped``
and its stream ends; it reconnects with the last id it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from litestar import Request, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK

from app.api.access import READER
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.events import Dropped, EventBus, EventFilter, EventType, Subscription
from app.services.errors import Invalid

TYPES_HELP = "Only these event types: " + ", ".join(t.value for t in EventType
                                                    if t is not EventType.LISTENER_DROPPED)
StationIds = Annotated[list[str] | None, QueryParameter(
    name="station_id", description="Only these stations (repeat or comma-separate)")]
CircuitIds = Annotated[list[str] | None, QueryParameter(
    name="circuit_id", description="Only these circuits (repeat or comma-separate)")]
Types = Annotated[list[str] | None, QueryParameter(name="type", description=TYPES_HELP)]
LastId = Annotated[str | None, QueryParameter(
    name="last_event_id", description="Resume after this event id (as the SSE header)")]


def _split(values: Sequence[str] | None) -> list[str]:
    return [v.strip() for value in values or () for v in value.split(",") if v.strip()]


def event_filter(station_ids: Sequence[str] | None, circuit_ids: Sequence[str] | None,
                 types: Sequence[str] | None) -> EventFilter:
    """The listener's filter from query parameters; Invalid names the parameter."""
    wanted: set[EventType] = set()
    for name in _split(types):
        try:
            wanted.add(EventType(name))
        except ValueError:
            raise Invalid("type", f"unknown event type {name!r}; {TYPES_HELP}") from None
    return EventFilter(frozenset(wanted), frozenset(_split(station_ids)),
                       frozenset(_split(circuit_ids)))


def resume_after(*candidates: str | None) -> int | None:
    for value in candidates:
        if value is not None and value.strip():
            if not value.strip().isdigit():
                raise Invalid("Last-Event-ID", f"must be an event id (an integer), got {value!r}")
            return int(value)
    return None


# The stream's opening (it tells EventSource to come back soon after a dropped
# connection) and its heartbeat, as Server-Sent Events comments.
SSE_OPENING = b": chargeplan events\r\nretry: 1000\r\n\r\n"
SSE_HEARTBEAT = b": heartbeat\r\n\r\n"


async def _messages(bus: EventBus, listener: Subscription, heartbeat_s: float
                    ) -> AsyncIterator[bytes]:
    """The listener's stream, each event as its SSE bytes: encoded once by whichever
    listener sends it first (:meth:`Event.to_sse`), then only copied to each socket."""
    yield SSE_OPENING
    try:
        while True:
            try:
                event = await listener.next(timeout=heartbeat_s)
            except Dropped:
                return
            yield SSE_HEARTBEAT if event is None else event.to_sse()
    finally:
        bus.unsubscribe(listener)


@get("/events", summary="Live events as Server-Sent Events", tags=["events"],
     dependencies=dependencies, opt=READER,
     responses={**error_responses(), HTTP_200_OK: ResponseSpec(
         data_container=str, media_type="text/event-stream", generate_examples=False,
         description="A stream of events that ends only when the client leaves")},
     description="Each message: `id` (resume after it with `Last-Event-ID`), `event` (the "
     "type) and `data`, the event as JSON: `{id, type, at, station_id, connector_id, "
     "circuit_id, data}`. Heartbeat comments keep quiet streams open.")
async def events_sse(request: Request[Any, Any, Any], services: ServicesDep,
                     station_id: StationIds = None, circuit_id: CircuitIds = None,
                     type: Types = None, last_event_id: LastId = None) -> Stream:
    wanted = event_filter(station_id, circuit_id, type)
    after = resume_after(request.headers.get("last-event-id"), last_event_id)
    bus = services.events
    listener = bus.subscribe(wanted, after=after)
    return Stream(_messages(bus, listener, services.settings.events_heartbeat_s),
                  media_type="text/event-stream",
                  headers={"Cache-Control": "no-cache", "Connection": "keep-alive",
                           "X-Accel-Buffering": "no"})


@websocket("/events/ws", dependencies=dependencies, opt=dict(READER))
async def events_ws(socket: WebSocket[Any, Any, Any], services: ServicesDep,
                    station_id: StationIds = None, circuit_id: CircuitIds = None,
                    type: Types = None, last_event_id: LastId = None) -> None:
    """The same events as ``GET /events``, one JSON text message each; heartbeats are
    ``{"type": "heartbeat"}``. A bad filter closes the socket with 1008 naming it."""
    await socket.accept()
    try:
        wanted = event_filter(station_id, circuit_id, type)
        after = resume_after(last_event_id)
    except Invalid as exc:
        await socket.close(code=1008, reason=f"{exc.field}: {exc.rule}"[:120])
        return
    with services.events.listening(wanted, after=after) as listener:
        tasks = {asyncio.create_task(_send(socket, listener,
                                           services.settings.events_heartbeat_s)),
                 asyncio.create_task(_drain(socket))}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await socket.close()


async def _send(socket: WebSocket[Any, Any, Any], listener: Subscription,
                heartbeat_s: float) -> None:
    while True:
        try:
            event = await listener.next(timeout=heartbeat_s)
        except Dropped:
            return
        if event is None:
            await socket.send_data('{"type":"heartbeat"}')
        else:
            await socket.send_data(event.to_json().decode())


async def _drain(socket: WebSocket[Any, Any, Any]) -> None:
    """Whatever the client sends is ignored; its close (WebSocketDisconnect) ends this."""
    while True:
        await socket.receive_data("text")
