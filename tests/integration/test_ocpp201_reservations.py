"""Reservations and the local authorization list of an OCPP 2.0.1 station, over the same
REST commands as a 1.6 one: ReserveNow, CancelReservation, SendLocalList and
GetLocalListVersion reach a raw 2.0.1 station in their 2.0.1 form (each frame checked
against the 2.0.1 schemas), its answers come back in the commands' 1.6 terms, and a
reservation it ends itself (ReservationStatusUpdate) or a session started on it
(TransactionEvent with reservationId) is recorded. A 1.6 station is never sent the 2.0.1
fields: the request is refused naming each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import RunningServer, settled_audit_rows
from tests.e2e.harness import eventually
from tests.integration.test_ocpp201_frames import server  # noqa: F401  (the fixture)
from tests.ocpp201 import BOOT_201, RAW_201_ANSWERS, check_201_frames, stamp
from tests.ocpp_client import raw_station

SID = "CP-RES-201"
ANSWERS = {**RAW_201_ANSWERS, "ReserveNow": {"status": "Accepted"},
           "CancelReservation": {"status": "Accepted"},
           "SendLocalList": {"status": "Accepted"},
           "GetLocalListVersion": {"versionNumber": 7}}


def calls(cp: Any, action: str) -> list[dict[str, Any]]:
    return [frame[3] for frame in cp.server_calls if frame[2] == action]


async def test_a_reservation_reaches_a_201_station_and_ends_as_it_says(
    server: RunningServer, http: httpx.AsyncClient  # noqa: F811
) -> None:
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    async with raw_station(server.station_url(SID), subprotocols=["ocpp2.0.1"],
                           answers=ANSWERS) as cp:
        await cp.ok("BootNotification", BOOT_201)
        reserved = await http.post(f"/stations/{SID}/commands/ReserveNow", json={
            "reservationId": 11, "connectorId": 1, "expiryDate": stamp(expiry),
            "idTag": "DRIVER-1", "idTokenType": "ISO14443", "parentIdTag": "FLEET-1",
            "connectorType": "cType2"})
        assert reserved.status_code == 200, reserved.text
        assert reserved.json()["response"] == {"status": "Accepted"}
        assert calls(cp, "ReserveNow") == [{
            "id": 11, "expiryDateTime": stamp(expiry), "evseId": 1, "connectorType": "cType2",
            "idToken": {"idToken": "DRIVER-1", "type": "ISO14443"},
            "groupIdToken": {"idToken": "FLEET-1", "type": "Central"}}]
        # Any EVSE (the 1.6 connector 0), a token of the central system's own.
        await http.post(f"/stations/{SID}/commands/ReserveNow", json={
            "reservationId": 12, "connectorId": 0, "expiryDate": stamp(expiry),
            "idTag": "DRIVER-2"})
        assert calls(cp, "ReserveNow")[-1] == {
            "id": 12, "expiryDateTime": stamp(expiry),
            "idToken": {"idToken": "DRIVER-2", "type": "Central"}}

        cancelled = await http.post(f"/stations/{SID}/commands/CancelReservation",
                                    json={"reservationId": 12})
        assert cancelled.json()["response"] == {"status": "Accepted"}, cancelled.text
        assert calls(cp, "CancelReservation") == [{"reservationId": 12}]

        # The station ends reservation 11 itself; one it never had is audited only.
        assert await cp.ok("ReservationStatusUpdate", {
            "reservationId": 11, "reservationUpdateStatus": "Expired"}) == {}
        assert await cp.ok("ReservationStatusUpdate", {
            "reservationId": 99, "reservationUpdateStatus": "Removed"}) == {}

        # A session started on a reservation names it.
        at = stamp(datetime.now(UTC).replace(microsecond=0))
        await cp.ok("TransactionEvent", {
            "eventType": "Started", "timestamp": at, "seqNo": 0,
            "triggerReason": "Authorized", "reservationId": 11,
            "transactionInfo": {"transactionId": "tx-r1"},
            "idToken": {"idToken": "DRIVER-1", "type": "ISO14443"},
            "evse": {"id": 1, "connectorId": 1}})

    shown = {r["reservation_id"]: r["status"] for r in
             (await http.get(f"/stations/{SID}/reservations")).json()}
    assert shown == {11: "Expired", 12: "Cancelled"}
    items = (await http.get(f"/stations/{SID}/transactions")).json()["items"]
    assert [(t["remote_id"], t["reservation_id"]) for t in items] == [("tx-r1", 11)]
    seen = check_201_frames(await settled_audit_rows(server, SID))
    assert ("out", "CALL", "ReserveNow") in seen
    assert ("in", "CALL", "ReservationStatusUpdate") in seen


async def test_the_local_list_reaches_a_201_station_as_id_tokens(
    server: RunningServer, http: httpx.AsyncClient  # noqa: F811
) -> None:
    expires = stamp(datetime.now(UTC).replace(microsecond=0) + timedelta(days=30))
    async with raw_station(server.station_url(SID), subprotocols=["ocpp2.0.1"],
                           answers=ANSWERS) as cp:
        await cp.ok("BootNotification", BOOT_201)
        wrong = await http.post(f"/stations/{SID}/commands/SendLocalList", json={
            "listVersion": 2, "updateType": "Full", "localAuthorizationList": [
                {"idTag": "CARD-1", "idTokenType": "Card"}]})
        assert wrong.status_code == 400, wrong.text
        assert [(item["key"], item["message"].split(" (")[0]) for item in
                wrong.json()["extra"]] == [("localAuthorizationList[0].idTokenType",
                                            "must be one of Central, eMAID, ISO14443, "
                                            "ISO15693, KeyCode, Local, MacAddress, "
                                            "NoAuthorization")]
        sent = await http.post(f"/stations/{SID}/commands/SendLocalList", json={
            "listVersion": 3, "updateType": "Full", "localAuthorizationList": [
                {"idTag": "CARD-1", "idTokenType": "ISO14443",
                 "idTagInfo": {"status": "Accepted", "expiryDate": expires,
                               "parentIdTag": "FLEET-1"}},
                {"idTag": "CARD-2", "idTagInfo": {"status": "NotAtThisTime"}},
                {"idTag": "CARD-3"}]})
        assert sent.status_code == 200, sent.text
        assert sent.json()["response"] == {"status": "Accepted"}
        assert calls(cp, "SendLocalList") == [{
            "versionNumber": 3, "updateType": "Full", "localAuthorizationList": [
                {"idToken": {"idToken": "CARD-1", "type": "ISO14443"},
                 "idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": expires,
                                 "groupIdToken": {"idToken": "FLEET-1", "type": "Central"}}},
                {"idToken": {"idToken": "CARD-2", "type": "Central"},
                 "idTokenInfo": {"status": "NotAtThisTime"}},
                {"idToken": {"idToken": "CARD-3", "type": "Central"}}]}]
        assert (await http.get(f"/stations/{SID}/local_list")).json()["list_version"] == 3

        version = await http.post(f"/stations/{SID}/commands/GetLocalListVersion", json={})
        assert version.json()["response"] == {"listVersion": 7}, version.text
        assert calls(cp, "GetLocalListVersion") == [{}]
        await eventually(lambda: _version_is(http, 7))
    check_201_frames(await settled_audit_rows(server, SID))


async def _version_is(http: httpx.AsyncClient, version: int) -> bool:
    return bool((await http.get(f"/stations/{SID}/local_list")).json()["list_version"]
                == version)


async def test_a_16_station_is_not_sent_the_201_fields(
    server: RunningServer, http: httpx.AsyncClient  # noqa: F811
) -> None:
    async with raw_station(server.station_url("CP-16")) as cp:
        await cp.boot()
        refused = await http.post("/stations/CP-16/commands/SendLocalList", json={
            "listVersion": 1, "updateType": "Full", "localAuthorizationList": [
                {"idTag": "CARD-1", "idTokenType": "ISO14443",
                 "idTagInfo": {"status": "NoCredit"}}]})
        assert refused.status_code == 400, refused.text
        named = {item["key"] for item in refused.json()["extra"]}
        assert named == {"localAuthorizationList[0].idTokenType",
                         "localAuthorizationList[0].idTagInfo.status"}
        refused = await http.post("/stations/CP-16/commands/ReserveNow", json={
            "reservationId": 1, "connectorId": 1, "idTag": "D", "connectorType": "cType2",
            "expiryDate": stamp(datetime.now(UTC) + timedelta(hours=1))})
        assert refused.status_code == 400, refused.text
        assert {item["key"] for item in refused.json()["extra"]} == {"connectorType"}
        assert not calls(cp, "SendLocalList") and not calls(cp, "ReserveNow")
