"""Events between nodes: NOTIFY payloads below PostgreSQL's limit, in order, and a bus
that numbers other nodes' events itself and emits only while somebody listens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from app.cluster.events import MAX_PAYLOAD, batches, decode, encode
from app.events import EventBus, EventType
from app.events.types import Event

AT = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


def event(n: int, size: int = 10) -> Event:
    return Event(n, EventType.CONNECTOR_STATUS, AT, f"CP-{n}", 1, None, {"pad": "x" * size})


def trip(e: Event) -> dict[str, object]:
    """As another node reads it from a notification."""
    body: dict[str, object] = orjson.loads(orjson.dumps(encode(e)))
    return body


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_events_are_batched_below_the_notify_limit_and_large_ones_go_alone() -> None:
    events = [event(n, 300) for n in range(60)] + [event(60, 9000)] + [event(61)]
    out = batches("node-a", events)
    sent: list[str] = []
    for item in out:
        if isinstance(item, dict):
            sent.append(item["station_id"])
        else:
            assert len(item) <= MAX_PAYLOAD
            message = orjson.loads(item)
            assert message["node"] == "node-a"
            sent += [e["station_id"] for e in message["events"]]
    assert sent == [f"CP-{n}" for n in range(62)]  # every event once, in order
    assert len(out) > 3 and isinstance(out[-2], dict)


def test_an_event_survives_the_trip_with_the_receivers_numbering() -> None:
    body = trip(event(7))
    assert "id" not in body
    clock = Clock()
    bus = EventBus(monotonic=clock)
    with bus.listening() as listener:
        bus.emit(EventType.STATION_CONNECTED, station_id="HERE")
        bus.deliver_remote(**decode(body, "node-b"))
        assert listener.pending() == 2
    here, there = bus._history  # noqa: SLF001 - what a resuming client would get
    assert (there.id, there.origin, there.at, there.station_id) == (2, "node-b", AT, "CP-7")
    assert here.origin is None


@dataclass
class Recorder:
    """A relay that keeps what the bus hands it."""

    sent: list[Event] = field(default_factory=list)
    told: list[bool] = field(default_factory=list)

    def forward(self, event: Event) -> None:
        self.sent.append(event)

    def interest(self) -> None:
        self.told.append(True)


def test_a_node_emits_for_another_only_while_that_one_listens() -> None:
    clock = Clock()
    bus = EventBus(monotonic=clock, resume_s=0)
    sent: list[Event] = []
    bus.attach(Recorder(sent=sent))
    bus.emit(EventType.STATION_CONNECTED, station_id="A")
    assert sent == []  # nobody listens anywhere: nothing is built
    with bus.listening():
        bus.emit(EventType.STATION_CONNECTED, station_id="only here")
    assert sent == []  # a listener here only: nothing is published for the others
    bus.remote_interest(3.0)
    assert bus.wanted_elsewhere and bus.due(("A", 1), 1.0)
    bus.emit(EventType.STATION_CONNECTED, station_id="B")
    clock.now = 3.5
    bus.emit(EventType.STATION_CONNECTED, station_id="C")
    assert [e.station_id for e in sent] == ["B"]
    assert not bus.wanted_elsewhere


def test_webhook_workers_get_only_their_own_nodes_events_and_ask_for_no_others() -> None:
    bus = EventBus(resume_s=0)
    told: list[bool] = []
    bus.attach(Recorder(told=told))
    worker = bus.subscribe(local_only=True)
    assert not bus.wants_remote and told == []
    bus.deliver_remote(**decode(trip(event(1)), "node-b"))
    bus.emit(EventType.STATION_CONNECTED, station_id="HERE")
    assert worker.pending() == 1
    with bus.listening() as client:
        assert bus.wants_remote and told == [True]
        bus.deliver_remote(**decode(trip(event(2)), "node-b"))
        assert (client.pending(), worker.pending()) == (1, 1)
