"""Whatever one station sends, the server answers what can be answered, the audit writer
keeps writing, and another station is still answered.

The server runs on its own event loop in a thread; the stations are synchronous
websocket clients driven by Hypothesis.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any
from unittest.mock import ANY

import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import ServerThread, settled_audit_rows

ACTIONS = ["Heartbeat", "BootNotification", "MeterValues", "StatusNotification",
           "StartTransaction", "StopTransaction", "DataTransfer", "Authorize",
           "SecurityEventNotification", "SetChargingProfile", "NoSuchAction"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
ids = st.text(max_size=40) | st.integers() | st.none()
nested = st.integers(1, 300).map(lambda n: "[" * n + "]" * n)
frames = st.one_of(
    st.text(max_size=60),
    json_values.map(lambda v: json.dumps(v)),
    st.tuples(st.sampled_from([2, 3, 4, 5, "2"]), ids, st.sampled_from(ACTIONS), json_values)
    .map(lambda f: json.dumps(list(f))),
    st.tuples(ids, st.sampled_from(ACTIONS), st.dictionaries(st.text(max_size=12), json_values,
                                                            max_size=5))
    .map(lambda f: json.dumps([2, *f])),
    st.tuples(st.sampled_from(['[3, "x", {"x": ', '[2, "y", "DataTransfer", {"x": ',
                               '[4, "z", "GenericError", "", {"x": ']), nested)
    .map(lambda f: f[0] + f[1] + "}]"),
    st.just('[3, "big", {"a": 123456789012345678901234567890}]'),
    st.just('[2, "nul", "DataTransfer", {"vendorId": "\\u0000"}]'),
)
_ids = itertools.count(1)


class Station:
    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: ClientConnection = self._open()

    def _open(self) -> ClientConnection:
        return connect(self.url, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                       open_timeout=10, max_size=None)

    def send(self, text: str) -> None:
        try:
            self.ws.send(text)
        except ConnectionClosed:  # closed by the server (a policy on junk): a new connection
            self.ws = self._open()
            self.ws.send(text)

    def answer_to(self, unique_id: Any, timeout: float = 30.0) -> list[Any] | None:
        """The answer to ``unique_id``, skipping the server's own CALLs and stale answers;
        None when the server closed the connection for too much junk (1008)."""
        while True:
            try:
                frame = json.loads(self.ws.recv(timeout))
            except TimeoutError:
                raise AssertionError(f"{self.url}: no answer to {unique_id!r}") from None
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1008, closed
                self.ws = self._open()
                return None
            if frame[0] in (3, 4) and frame[1] == unique_id:
                return list(frame)

    def drain(self) -> None:
        try:
            while True:
                self.ws.recv(0.01)
        except (TimeoutError, ConnectionClosed):
            return


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    thread = ServerThread(tmp_path_factory.mktemp("frames") / "chargeplan.db")
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


@pytest.fixture(scope="module")
def stations(server: ServerThread) -> Iterator[tuple[Station, Station]]:
    url = server.running.ocpp_url
    pair = Station(f"{url}/CP-FUZZ"), Station(f"{url}/CP-BYSTANDER")
    yield pair
    for station in pair:
        station.ws.close()


def answerable_id(text: str) -> str | None:
    """The id of a CALL the server must answer (with a CALLRESULT or a CALLERROR)."""
    try:
        msg = orjson.loads(text)  # as strict as the server: no NaN or Infinity
    except orjson.JSONDecodeError:
        return None
    if (isinstance(msg, list) and len(msg) >= 2 and msg[0] == 2
            and isinstance(msg[1], str) and 0 < len(msg[1]) <= 36):
        return msg[1]
    return None


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frame=frames)
def test_any_frame_leaves_the_server_answering(
    frame: str, server: ServerThread, stations: tuple[Station, Station],
) -> None:
    fuzz, bystander = stations
    note(f"frame sent: {frame!r}")
    fuzz.send(frame)
    unique_id = answerable_id(frame)
    if unique_id is not None:
        answer = fuzz.answer_to(unique_id)
        assert answer is None or answer[0] in (3, 4)
    fuzz.drain()
    # Answered only once its audit row is committed: the writer is alive.
    heartbeat = f"hb-{next(_ids)}"
    bystander.send(json.dumps([2, heartbeat, "Heartbeat", {}]))
    assert bystander.answer_to(heartbeat) == [3, heartbeat, ANY]
    bystander.drain()
    assert server.running.services.status.writer_problems() == []


def test_the_audit_trail_holds_the_junk_and_what_came_after(
    server: ServerThread, stations: tuple[Station, Station],
) -> None:
    fuzz, bystander = stations
    fuzz.send('[3, "poison", {"x": ' + "[" * 253 + "]" * 253 + "}]")
    bystander.send('[2, "after-poison", "Heartbeat", {}]')
    assert bystander.answer_to("after-poison") == [3, "after-poison", ANY]
    rows = server.run(settled_audit_rows(server.running, "CP-BYSTANDER"))
    assert any(r.unique_id == "after-poison" and r.direction == "out" for r in rows)
    poison = [r for r in server.run(settled_audit_rows(server.running, "CP-FUZZ"))
              if r.unique_id == "poison"]
    assert poison and poison[0].error_code == "FormationViolation" and poison[0].raw
