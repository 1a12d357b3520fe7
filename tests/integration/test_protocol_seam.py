"""A second OCPP version fits beside 1.6 without touching the services.

``ocpp-test`` is a stand-in version (not a real one): a tiny schema and handler table of
its own, and its own CALL for the services' Reset. Registered like any version adapter,
it is offered by the real server on loopback; admission, authentication, the rate limit
and the audit trail, all in the neutral core, apply to it as they do to 1.6, and an
operator's command reaches a station through it. Nothing of app/services knows it.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from typing import Any

import fastjsonschema
import httpx
import pytest
from websockets.exceptions import InvalidStatus

from app.domain.protocol_rules import OcppVersion
from app.json_types import JsonObject
from app.ocpp import versions
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.protocol import OutgoingCall
from app.ocpp.router import CallContext, Handler, Reply
from tests.conftest import (
    RunningServer,
    make_settings,
    settled_audit_rows,
    start_server,
    stop_server,
)
from tests.ocpp_client import raw_station

SUBPROTOCOL = "ocpp-test"
PASSWORD = "0123456789abcdefXYZ"
BURST = 4

_SCHEMAS: dict[str, dict[str, Any]] = {
    "Hello": {"type": "object", "additionalProperties": False,
              "required": ["maker", "product"],
              "properties": {"maker": {"type": "string"}, "product": {"type": "string"}}},
    "HelloResponse": {"type": "object", "required": ["welcome"],
                      "properties": {"welcome": {"type": "boolean"}}},
    "Restart": {"type": "object", "required": ["hard"],
                "properties": {"hard": {"type": "boolean"}}},
    "RestartResponse": {"type": "object", "additionalProperties": False,
                        "required": ["done"], "properties": {"done": {"type": "boolean"}}},
}


class _Schemas:
    def __init__(self) -> None:
        self._compiled = {name: fastjsonschema.compile(s) for name, s in _SCHEMAS.items()}

    def validate_request(self, action: str, payload: dict[str, Any]) -> None:
        self._check(action, payload)

    def validate_response(self, action: str, payload: dict[str, Any]) -> None:
        self._check(action + "Response", payload)

    def _check(self, name: str, payload: dict[str, Any]) -> None:
        try:
            self._compiled[name](payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise OcppError(ErrorCode.FORMATION_VIOLATION, f"{name}: {exc.message}") from None


async def _hello(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    # The services' boot, fed from this version's own words.
    await ctx.services.stations.boot(ctx.station_id, {
        "chargePointVendor": payload["maker"], "chargePointModel": payload["product"]})
    return Reply({"welcome": True})


class StandInVersion:
    """The stand-in version: Hello from the station; Restart for the services' Reset."""

    subprotocol = SUBPROTOCOL
    version = OcppVersion.V201  # what a station on it records: it stands in for 2.0.1
    station_actions = frozenset({"Hello"})
    server_actions = frozenset({"Restart"})
    while_pending = frozenset({"Hello"})

    def __init__(self) -> None:
        self.schemas = _Schemas()
        self.handlers: Mapping[str, Handler] = {"Hello": _hello}

    def error_code(self, code: ErrorCode) -> str:
        return code.value

    def outgoing(self, action: str, payload: JsonObject) -> OutgoingCall:
        if action != "Reset":
            raise OcppError(ErrorCode.NOT_SUPPORTED, f"{SUBPROTOCOL} has no {action}")
        call = {"hard": payload["type"] == "Hard"}
        self.schemas.validate_request("Restart", call)
        return OutgoingCall("Restart", call)

    def answer(self, action: str, payload: JsonObject) -> JsonObject:
        self.schemas.validate_response("Restart", payload)
        return {"status": "Accepted" if payload["done"] else "Rejected"}


@pytest.fixture
async def seam_server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    versions.register(StandInVersion())
    try:
        running = await start_server(make_settings(
            sqlite_url, inbound_rate_per_s=0.01, inbound_burst=float(BURST)))
        try:
            yield running
        finally:
            await stop_server(running)
    finally:
        versions.unregister(SUBPROTOCOL)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_a_registered_version_is_negotiated_and_served_like_1_6(
    seam_server: RunningServer,
) -> None:
    server = seam_server
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        created = await http.post("/stations", json={"station_id": "CP-T", "password": PASSWORD})
        assert created.status_code == 201
        url = server.station_url("CP-T")
        with pytest.raises(InvalidStatus) as refused:
            async with raw_station(url, subprotocols=[SUBPROTOCOL],
                                   additional_headers=basic("CP-T", "wrong-password-123")):
                pass
        assert refused.value.response.status_code == 401

        async with raw_station(url, subprotocols=[SUBPROTOCOL],
                               additional_headers=basic("CP-T", PASSWORD),
                               answers={"Restart": {"done": True}}) as cp:
            assert cp.ws.subprotocol == SUBPROTOCOL
            assert await cp.ok("Hello", {"maker": "Acme", "product": "T-1"}) == {"welcome": True}
            # This version's own schema: a 1.6 BootNotification is no Hello.
            assert (await cp.call("Hello", {"chargePointVendor": "Acme"}))[2] \
                == ErrorCode.FORMATION_VIOLATION
            assert (await cp.call("BootNotification", {}))[2] == ErrorCode.NOT_IMPLEMENTED
            # The rate limit: the burst is spent (the three CALLs above and this one).
            assert (await cp.call("Hello", {"maker": "Acme", "product": "T-1"}))[0] == 3
            limited = await cp.call("Hello", {"maker": "Acme", "product": "T-1"})
            assert (limited[0], limited[2]) == (4, ErrorCode.GENERIC_ERROR)
            assert "rate limit" in limited[3]

            # An operator's Reset, through the services and the gateway, as this
            # version's Restart.
            reset = await http.post("/stations/CP-T/commands/Reset", json={"type": "Soft"})
            assert reset.status_code == 200, reset.text
            assert reset.json()["response"] == {"status": "Accepted"}
            assert [c[2:] for c in cp.server_calls] == [["Restart", {"hard": False}]]

        station = (await http.get("/stations/CP-T")).json()
        assert (station["vendor"], station["model"]) == ("Acme", "T-1")

    rows = await settled_audit_rows(server, "CP-T")
    frames = [(r.direction, r.message_type, r.action, r.error_code) for r in rows]
    assert frames[:2] == [("in", "CALL", "Hello", None), ("out", "CALLRESULT", "Hello", None)]
    assert ("out", "CALLERROR", "Hello", ErrorCode.GENERIC_ERROR) in frames
    assert frames[-2:] == [("out", "CALL", "Restart", None),
                           ("in", "CALLRESULT", "Restart", None)]


async def test_a_station_offering_several_gets_the_first_it_offers(
    seam_server: RunningServer,
) -> None:
    # A station lists its subprotocols in its order of preference: an unknown one first
    # is passed over, then the first of ours wins, whatever order they were registered in.
    async with raw_station(seam_server.station_url("CP-BOTH"),
                           subprotocols=["ocpp2.1", "ocpp1.6", SUBPROTOCOL]) as cp:
        assert cp.ws.subprotocol == "ocpp1.6"
        assert (await cp.boot())["status"] == "Accepted"
    async with raw_station(seam_server.station_url("CP-BOTH"),
                           subprotocols=[SUBPROTOCOL, "ocpp1.6"]) as cp:
        assert cp.ws.subprotocol == SUBPROTOCOL
        assert await cp.ok("Hello", {"maker": "Acme", "product": "T-1"}) == {"welcome": True}


async def test_a_station_offering_only_an_unknown_subprotocol_is_refused(
    seam_server: RunningServer,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with raw_station(seam_server.station_url("CP-NONE"),
                               subprotocols=["ocpp2.1"]):
            pass
    assert refused.value.response.status_code == 400
    assert refused.value.response.body == (
        b"subprotocol ocpp1.6 or ocpp2.0.1 or ocpp-test required: "
        b"send Sec-WebSocket-Protocol: ocpp1.6\n")
    assert seam_server.services.gateway.is_connected("CP-NONE") is False
