"""Reservations, the local authorization list and display messages, end to end to the
simulated 2.0.1 station over the same REST commands as a 1.6 station's: the station keeps
what it is sent and answers by it, shows a reserved EVSE as Reserved, ends a reservation
that expires with ReservationStatusUpdate (kept as the reservation's status), and reports
the messages it displays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.simulator.car import Car
from tests.conftest import RunningServer, settled_audit_rows
from tests.e2e.harness import eventually, simulated
from tests.ocpp201 import check_201_frames, station_of
from tests.ocpp201 import stamp as ocpp_time

SID = "PY-SIM-0001"


async def command(http: httpx.AsyncClient, action: str, payload: dict[str, Any]
                  ) -> dict[str, Any]:
    answer = await http.post(f"/stations/{SID}/commands/{action}", json=payload)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def status_of(http: httpx.AsyncClient, connector_id: int) -> str:
    station = (await http.get(f"/stations/{SID}")).json()
    return str(next(c["status"] for c in station["connectors"]
                    if c["connector_id"] == connector_id))


async def reservation_status(http: httpx.AsyncClient, reservation_id: int) -> str | None:
    rows = (await http.get(f"/stations/{SID}/reservations")).json()
    return next((r["status"] for r in rows if r["reservation_id"] == reservation_id), None)


async def test_a_201_station_holds_reservations_lists_and_messages(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    async with simulated(server, http, ocpp_version="2.0.1", connectors=2) as sim:
        station = station_of(sim)
        await eventually(lambda: _is(status_of(http, 2), "Available"))

        # EVSE 2 reserved for an hour: Reserved until cancelled.
        later = ocpp_time(now + timedelta(hours=1))
        held = await command(http, "ReserveNow", {
            "reservationId": 21, "connectorId": 2, "expiryDate": later, "idTag": "DRIVER-1",
            "idTokenType": "ISO14443"})
        assert held["response"] == {"status": "Accepted"}, held
        await eventually(lambda: _is(status_of(http, 2), "Reserved"))
        taken = await command(http, "ReserveNow", {
            "reservationId": 22, "connectorId": 2, "expiryDate": later, "idTag": "DRIVER-2"})
        assert taken["response"] == {"status": "Occupied"}
        cancelled = await command(http, "CancelReservation", {"reservationId": 21})
        assert cancelled["response"] == {"status": "Accepted"}
        await eventually(lambda: _is(status_of(http, 2), "Available"))
        assert await reservation_status(http, 21) == "Cancelled"

        # One that expires: the station says so, and the reservation shows it.
        soon = ocpp_time(datetime.now(UTC) + timedelta(seconds=1))
        await command(http, "ReserveNow", {"reservationId": 23, "connectorId": 2,
                                           "expiryDate": soon, "idTag": "DRIVER-3"})
        await eventually(lambda: _is(reservation_status(http, 23), "Expired"))
        await eventually(lambda: _is(status_of(http, 2), "Available"))

        # One its id token's car uses: the Started event names it, and it shows Used.
        await command(http, "ReserveNow", {"reservationId": 24, "connectorId": 1,
                                           "expiryDate": later, "idTag": "DRIVER-4"})
        await eventually(lambda: _is(status_of(http, 1), "Reserved"))
        await station.plug_in(1, Car("DRIVER-4", max_current_a=16.0))
        await eventually(lambda: _is(reservation_status(http, 24), "Used"))
        assert station.operations.reservations == {}
        started = [r.payload for r in await settled_audit_rows(server, SID)
                   if r.action == "TransactionEvent" and r.message_type == "CALL"
                   and r.payload["eventType"] == "Started"]
        assert started[-1]["reservationId"] == 24

        # The local list: kept by the station, its version read back.
        sent = await command(http, "SendLocalList", {
            "listVersion": 4, "updateType": "Full", "localAuthorizationList": [
                {"idTag": "CARD-1", "idTokenType": "ISO14443",
                 "idTagInfo": {"status": "Accepted"}},
                {"idTag": "CARD-2", "idTagInfo": {"status": "Blocked"}}]})
        assert sent["response"] == {"status": "Accepted"}, sent
        assert sorted(station.operations.local_list.entries) == ["CARD-1", "CARD-2"]
        version = await command(http, "GetLocalListVersion", {})
        assert version["response"] == {"listVersion": 4}
        stale = await command(http, "SendLocalList", {
            "listVersion": 4, "updateType": "Differential",
            "localAuthorizationList": [{"idTag": "CARD-2"}]})
        assert stale["response"] == {"status": "VersionMismatch"}

        # A message on its display, reported when asked, then cleared.
        message = {"id": 3, "priority": "NormalCycle",
                   "message": {"format": "UTF8", "content": "Fleet only until 06:00"}}
        assert (await command(http, "SetDisplayMessage", {"message": message}))[
            "response"] == {"status": "Accepted"}
        assert (await command(http, "GetDisplayMessages", {"requestId": 8}))[
            "response"] == {"status": "Accepted"}

        async def reported() -> list[Any]:
            rows = await settled_audit_rows(server, SID)
            return [r.payload["messageInfo"] for r in rows
                    if r.action == "NotifyDisplayMessages" and r.message_type == "CALL"]

        await eventually(lambda: _is(reported(), [[message]]))
        assert (await command(http, "ClearDisplayMessage", {"id": 3}))["response"] == {
            "status": "Accepted"}
        assert (await command(http, "GetDisplayMessages", {"requestId": 9}))[
            "response"] == {"status": "Unknown"}
    check_201_frames(await settled_audit_rows(server, SID))


async def _is(got: Any, expected: Any) -> bool:
    return bool(await got == expected)
