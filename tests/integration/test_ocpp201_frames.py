"""OCPP 2.0.1 frames on the real server, raw: what each 2.0.1 action a station sends is
answered with, sessions kept once however often their events come, and the CALLERROR a
bad 2.0.1 frame gets (the connection stays).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from ocpp.messages import get_validator
from sqlalchemy import select

from app.db.models import MeterValue
from app.ocpp.errors import ErrorCode
from app.ocpp.versions import registered_protocols
from tests.conftest import (
    RunningServer,
    make_settings,
    settled_audit_rows,
    start_server,
    stop_server,
)
from tests.e2e.harness import eventually
from tests.integration.test_api_audit import database_url
from tests.ocpp201 import (
    BOOT_201,
    RAW_201_ANSWERS,
    REPORT_201,
    check_201_frames,
    energy,
    stamp,
)
from tests.ocpp_client import raw_station

__all__ = ["database_url"]  # the fixture: SQLite, then PostgreSQL


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(make_settings(sqlite_url, unknown_id_tag_status="Accepted"))
    try:
        yield running
    finally:
        await stop_server(running)


def station_201(server: RunningServer, station_id: str) -> Any:
    """A raw station on ``ocpp2.0.1``; it knows none of the variables the server reads
    after its boot."""
    return raw_station(server.station_url(station_id), subprotocols=["ocpp2.0.1"],
                       answers=RAW_201_ANSWERS)


def event(event_type: str, seq_no: int, at: str, wh: float | None,
          **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "eventType": event_type, "timestamp": at, "seqNo": seq_no,
        "triggerReason": "MeterValuePeriodic", "transactionInfo": {"transactionId": "tx-a1"},
        "evse": {"id": 1, "connectorId": 1}, **extra}
    if wh is not None:
        payload["meterValue"] = energy(at, wh)
    return payload


async def test_transaction_events_are_kept_once_however_often_they_come(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with station_201(server, "CP-201") as cp:
        booted = await cp.ok("BootNotification", BOOT_201)
        assert booted["status"] == "Accepted" and booted["interval"] > 0
        token = {"idToken": "TAG-1", "type": "ISO14443"}
        assert await cp.ok("Authorize", {"idToken": token}) == {
            "idTokenInfo": {"status": "Accepted"}}

        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        at = [stamp(start + timedelta(minutes=5 * n)) for n in range(3)]
        started = event("Started", 0, at[0], 1000.0, idToken=token, triggerReason="Authorized")
        first = await cp.ok("TransactionEvent", started)
        assert first == {"idTokenInfo": {"status": "Accepted"}}
        # The station lost the answers and sends the same events again.
        assert await cp.ok("TransactionEvent", started) == first
        updated = event("Updated", 1, at[1], 1500.0)
        assert await cp.ok("TransactionEvent", updated) == {}
        assert await cp.ok("TransactionEvent", updated) == {}
        ended = event("Ended", 2, at[2], None,
                      transactionInfo={"transactionId": "tx-a1", "stoppedReason": "Local"})
        assert await cp.ok("TransactionEvent", ended) == {}
        assert await cp.ok("TransactionEvent", ended) == {}

    items = (await http.get("/stations/CP-201/transactions")).json()["items"]
    assert [(t["remote_id"], t["meter_start"], t["meter_stop"], t["stop_reason"], t["active"])
            for t in items] == [("tx-a1", 1000, 1500, "Local", False)]
    curve = (await http.get(f"/transactions/{items[0]['id']}/meter_curve")).json()
    assert [(p["at"], p["energy_wh"]) for p in curve["points"]] == [
        (at[0], 0.0), (at[1], 500.0)]
    async with server.services.db.uow() as session:
        stored = (await session.scalars(select(MeterValue.value).where(
            MeterValue.transaction_id == items[0]["id"]).order_by(MeterValue.ts))).all()
    assert stored == [1000.0, 1500.0]  # each event's sample once
    station = (await http.get("/stations/CP-201")).json()
    assert (station["ocpp_version"], station["vendor"], station["serial_number"]) == (
        "2.0.1", "Acme", "SN-201")


async def test_events_missing_at_the_end_are_asked_for_and_kept_when_they_come(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """A station that was offline ends a transaction whose seqNos 2 and 3 never came: the
    central system asks whether it still queues them (E14), and takes them when they do
    come after the Ended event; a repeat of one is still taken once."""
    answers = {**RAW_201_ANSWERS, "GetTransactionStatus": {"messagesInQueue": True,
                                                           "ongoingIndicator": False}}
    async with raw_station(server.station_url("CP-GAP"), subprotocols=["ocpp2.0.1"],
                           answers=answers) as cp:
        await cp.ok("BootNotification", BOOT_201)
        token = {"idToken": "TAG-1", "type": "ISO14443"}
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
        at = [stamp(start + timedelta(minutes=5 * n)) for n in range(5)]
        await cp.ok("TransactionEvent", event("Started", 1, at[0], 1000.0, idToken=token,
                                              triggerReason="Authorized"))
        await cp.ok("TransactionEvent", event("Ended", 4, at[4], 3000.0, offline=True,
                                              transactionInfo={"transactionId": "tx-a1"}))

        def asked() -> list[Any]:
            return [f[3] for f in cp.server_calls if f[2] == "GetTransactionStatus"]

        await eventually(lambda: bool(asked()))
        assert asked() == [{"transactionId": "tx-a1"}]
        for seq_no, minute in ((2, 1), (3, 2), (2, 1)):
            assert await cp.ok("TransactionEvent", event(
                "Updated", seq_no, at[minute], 1000.0 + 500 * minute, offline=True)) == {}

    (tx,) = (await http.get("/stations/CP-GAP/transactions")).json()["items"]
    assert (tx["meter_start"], tx["meter_stop"], tx["active"]) == (1000, 3000, False)
    curve = (await http.get(f"/transactions/{tx['id']}/meter_curve")).json()
    assert [(p["at"], p["energy_wh"]) for p in curve["points"]] == [
        (at[0], 0.0), (at[1], 500.0), (at[2], 1000.0), (at[4], 2000.0)]


async def test_a_36_character_token_authorizes_and_names_its_transaction(
    database_url: str
) -> None:
    """A 2.0.1 idToken has up to 36 characters (a 1.6 idTag 20): a central token such as
    a UUID is registered, authorized and kept with its transaction whole, on SQLite and
    PostgreSQL; one character more is refused with the field named, and a 1.6 station is
    not sent one it could not take."""
    central = "0f8fad5b-d9cb-469f-a165-70867728950e"  # 36 characters
    running = await start_server(make_settings(database_url))
    try:
        async with httpx.AsyncClient(base_url=running.http_url, timeout=10) as http:
            too_long = await http.post("/id_tags", json={"id_tag": central + "X"})
            assert too_long.status_code == 400
            assert too_long.json()["extra"][0]["key"] == "id_tag", too_long.text
            added = await http.post("/id_tags", json={"id_tag": central,
                                                      "parent_id_tag": "FLEET-" + "G" * 30})
            assert added.status_code == 201, added.text
            token = {"idToken": central, "type": "Central"}
            at = stamp(datetime.now(UTC).replace(microsecond=0))
            async with station_201(running, "CP-UUID") as cp:
                await cp.ok("BootNotification", BOOT_201)
                info = (await cp.ok("Authorize", {"idToken": token}))["idTokenInfo"]
                assert info == {"status": "Accepted", "groupIdToken": {
                    "idToken": "FLEET-" + "G" * 30, "type": "Central"}}
                started = event("Started", 0, at, 100.0, idToken=token,
                                triggerReason="Authorized",
                                transactionInfo={"transactionId": "tx-uuid"})
                assert (await cp.ok("TransactionEvent", started))["idTokenInfo"][
                    "status"] == "Accepted"
            (session,) = (await http.get("/stations/CP-UUID/transactions")).json()["items"]
            assert (session["id_tag"], session["active"]) == (central, True)
            assert (await http.get(f"/id_tags/{central}")).json()["id_tag"] == central
            # A 1.6 station's idTag is a CiString20: refused before anything is sent.
            assert (await http.post("/stations", json={"station_id": "CP-16"})).status_code == 201
            remote = await http.post("/stations/CP-16/commands/RemoteStartTransaction",
                                     json={"idTag": central})
            assert remote.status_code == 400, remote.text
            assert remote.json()["extra"][0]["key"] == "idTag"
    finally:
        await stop_server(running)


async def test_a_station_charging_without_authorization_runs_its_sessions(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    at = stamp(datetime.now(UTC).replace(microsecond=0))
    free = {**event("Started", 0, at, 10.0), "triggerReason": "CablePluggedIn",
            "transactionInfo": {"transactionId": "tx-free"},
            "idToken": {"idToken": "", "type": "NoAuthorization"}}
    async with station_201(server, "CP-FREE") as cp:
        await cp.ok("BootNotification", BOOT_201)
        # Nothing was asked to authorize: no idTokenInfo to stop it with.
        assert await cp.ok("TransactionEvent", free) == {}
    (session,) = (await http.get("/stations/CP-FREE/transactions")).json()["items"]
    assert (session["remote_id"], session["id_tag"], session["active"]) == ("tx-free", "", True)


_PROFILE_201 = REPORT_201["chargingProfile"][0]


@pytest.mark.parametrize(("action", "payload", "code"), [
    # A 1.6 BootNotification is no 2.0.1 one: chargingStation and reason are missing.
    ("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "X"},
     ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ("BootNotification", {**BOOT_201, "extra": 1}, ErrorCode.FORMAT_VIOLATION),
    ("BootNotification", {**BOOT_201, "reason": "Bored"},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ("StatusNotification", {"timestamp": "2030-01-07T08:00:00Z", "connectorStatus": "Available",
                            "evseId": "one", "connectorId": 1},
     ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    ("StatusNotification", {"timestamp": "yesterday", "connectorStatus": "Available",
                            "evseId": 1, "connectorId": 1},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ("Authorize", {"idToken": {"idToken": "T" * 37, "type": "ISO14443"}},
     ErrorCode.TYPE_CONSTRAINT_VIOLATION),  # a string[36]
    ("StartTransaction", {}, ErrorCode.NOT_IMPLEMENTED),  # a 1.6 action
    # A 2.0.1 station action nothing here handles (an OCSP check): known, not supported.
    ("GetCertificateStatus", {"ocspRequestData": {
        "hashAlgorithm": "SHA256", "issuerNameHash": "a" * 64, "issuerKeyHash": "b" * 64,
        "serialNumber": "1", "responderURL": "http://ocsp.example"}},
     ErrorCode.NOT_SUPPORTED),
    ("SetChargingProfile", {}, ErrorCode.NOT_SUPPORTED),  # the CSMS sends it
    # Pages of a read-back that are no pages: refused, and the read-back waiting for them
    # stays unknown rather than taking them for what the station holds.
    ("ReportChargingProfiles", {k: v for k, v in REPORT_201.items() if k != "requestId"},
     ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ("ReportChargingProfiles", {**REPORT_201, "tbc": "no"}, ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    ("ReportChargingProfiles", {**REPORT_201, "chargingLimitSource": "Grid"},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ("ReportChargingProfiles", {**REPORT_201, "chargingProfile": []},
     ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ("ReportChargingProfiles", {**REPORT_201, "chargingProfile": [
        {**_PROFILE_201, "chargingSchedule": {"id": 1}}]}, ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    ("ReportChargingProfiles", {**REPORT_201, "page": 2}, ErrorCode.FORMAT_VIOLATION),
    # L, N: an UpdateFirmware answer's status is no notification's; 1.6 spells
    # UploadFailure UploadFailed; a notification names no file.
    ("FirmwareStatusNotification", {"status": "InvalidCertificate", "requestId": 7},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ("FirmwareStatusNotification", {"status": "Installed", "requestId": "7"},
     ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    ("LogStatusNotification", {"status": "UploadFailed", "requestId": 7},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ("LogStatusNotification", {"status": "Uploaded", "requestId": 7, "filename": "x.log"},
     ErrorCode.FORMAT_VIOLATION),
])
async def test_a_bad_201_frame_gets_its_callerror_and_the_connection_survives(
    server: RunningServer, action: str, payload: dict[str, Any], code: str
) -> None:
    async with station_201(server, "CP-BAD") as cp:
        frame = await cp.call(action, payload)
        assert (frame[0], frame[2]) == (4, code), frame
        assert "currentTime" in await cp.ok("Heartbeat", {})


async def test_a_firmware_or_log_status_only_201_has_is_kept_as_it_is(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with station_201(server, "CP-FW") as cp:
        await cp.ok("BootNotification", BOOT_201)
        assert await cp.ok("FirmwareStatusNotification",
                           {"status": "SignatureVerified", "requestId": 4}) == {}
        assert await cp.ok("LogStatusNotification",
                           {"status": "AcceptedCanceled", "requestId": 5}) == {}
    shown = (await http.get("/stations/CP-FW")).json()
    assert (shown["firmware_status"], shown["diagnostics_status"]) == (
        "SignatureVerified", "AcceptedCanceled")


@pytest.mark.parametrize(("offered", "version"), [
    (["ocpp2.0.1", "ocpp1.6"], "2.0.1"),
    (["ocpp1.6", "ocpp2.0.1"], "1.6"),
])
async def test_a_station_offering_both_versions_gets_the_one_it_lists_first(
    server: RunningServer, http: httpx.AsyncClient, offered: list[str], version: str
) -> None:
    async with raw_station(server.station_url("CP-BOTH"), subprotocols=offered,
                           answers=RAW_201_ANSWERS) as cp:
        assert cp.ws.subprotocol == f"ocpp{version}"
        if version == "2.0.1":
            assert (await cp.ok("BootNotification", BOOT_201))["status"] == "Accepted"
        else:
            assert (await cp.boot())["status"] == "Accepted"
        shown = (await http.get("/stations/CP-BOTH")).json()
        assert shown["ocpp_version"] == version


@pytest.mark.parametrize(("frame", "code"), [
    # Not the OCPP-J shape: the core's FormationViolation, as 2.0.1 spells it.
    ('[2, "f1", "Heartbeat"]', "FormatViolation"),
    ('[2, "f1", "Heartbeat", []]', "FormatViolation"),
])
async def test_a_frame_that_is_not_ocpp_j_is_answered_in_201_spelling(
    server: RunningServer, frame: str, code: str
) -> None:
    async with station_201(server, "CP-FRAME") as cp:
        await cp.send_raw(frame)
        answer = await cp.reply()
        assert (answer[0], answer[1], answer[2]) == (4, "f1", code), answer
        assert "currentTime" in await cp.ok("Heartbeat", {})
    rows = await settled_audit_rows(server, "CP-FRAME")
    assert [(r.direction, r.error_code) for r in rows if r.message_type == "CALLERROR"] == [
        ("out", code)]


async def test_what_a_201_station_tells_of_its_smart_charging_is_answered(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    schedule = {"id": 1, "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}
    async with station_201(server, "CP-K") as cp:
        await cp.ok("BootNotification", BOOT_201)
        assert await cp.ok("NotifyChargingLimit", {
            "chargingLimit": {"chargingLimitSource": "EMS"}, "evseId": 1,
            "chargingSchedule": [schedule]}) == {}
        assert [(x["evse_id"], x["source"]) for x in
                (await http.get("/stations/CP-K/external_limits")).json()] == [(1, "EMS")]
        assert await cp.ok("ClearedChargingLimit", {"chargingLimitSource": "EMS",
                                                    "evseId": 1}) == {}
        assert (await http.get("/stations/CP-K/external_limits")).json() == []
        # A schedule that is no schedule: the limit is not kept, and the station is told.
        broken = await cp.call("NotifyChargingLimit", {
            "chargingLimit": {"chargingLimitSource": "SO"}, "chargingSchedule": [
                {**schedule, "chargingSchedulePeriod": [{"startPeriod": 60, "limit": 6.0}]}]})
        assert (broken[0], broken[2]) == (4, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION)
        assert (await http.get("/stations/CP-K/external_limits")).json() == []

        needs = {"chargingNeeds": {"requestedEnergyTransfer": "AC_three_phase",
                                   "acChargingParameters": {"energyAmount": 20000,
                                                            "evMinCurrent": 6,
                                                            "evMaxCurrent": 16,
                                                            "evMaxVoltage": 400}},
                 "evseId": 1}
        refused = await cp.ok("NotifyEVChargingNeeds", needs)
        assert refused["status"] == "Rejected"  # no session runs on EVSE 1
        assert await cp.ok("NotifyEVChargingSchedule", {
            "timeBase": "2030-01-07T08:00:00Z", "evseId": 1,
            "chargingSchedule": schedule}) == {"status": "Accepted"}
        assert await cp.ok("ReportChargingProfiles", {
            "requestId": 1, "chargingLimitSource": "CSO", "evseId": 1, "chargingProfile": [{
                "id": 5, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": [{**schedule, "startSchedule": "2030-01-07T08:00:00Z"}]}]},
        ) == {}
    # The refused limit's CALLERROR aside, every frame both ways fits its 2.0.1 schema.
    check_201_frames([r for r in await settled_audit_rows(server, "CP-K")
                      if r.message_type != "CALLERROR"])


async def test_a_session_plugged_in_before_it_is_authorized_starts_where_it_began(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    at = [stamp(start + timedelta(minutes=2 * n)) for n in range(4)]
    plugged = event("Started", 0, at[0], 2000.0, triggerReason="CablePluggedIn",
                    transactionInfo={"transactionId": "tx-b2", "chargingState": "EVConnected"})
    waiting = {**event("Updated", 1, at[1], 2000.0), "transactionInfo": {
        "transactionId": "tx-b2"}}
    del waiting["evse"]  # named in the first event after the EV connected only
    authorized = {**event("Updated", 2, at[2], 2100.0), "triggerReason": "Authorized",
                  "transactionInfo": {"transactionId": "tx-b2", "chargingState": "Charging"},
                  "idToken": {"idToken": "TAG-2", "type": "ISO14443"}}
    del authorized["evse"]
    async with station_201(server, "CP-B2") as cp:
        await cp.ok("BootNotification", BOOT_201)
        assert await cp.ok("TransactionEvent", plugged) == {}
        assert await cp.ok("TransactionEvent", waiting) == {}
        assert (await http.get("/stations/CP-B2/transactions")).json()["items"] == []
        assert [(c["connector_id"], c["status"]) for c in (
            await http.get("/stations/CP-B2")).json()["connectors"]] == [(1, "Preparing")]
        assert await cp.ok("TransactionEvent", authorized) == {
            "idTokenInfo": {"status": "Accepted"}}
        # Other reports of a 2.0.1 station are answered too.
        assert await cp.ok("NotifyEvent", {"generatedAt": at[2], "seqNo": 0, "eventData": [{
            "eventId": 1, "timestamp": at[2], "trigger": "Delta", "actualValue": "true",
            "eventNotificationType": "HardWiredNotification",
            "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
            "variable": {"name": "Available"}}]}) == {}
        assert await cp.ok("SecurityEventNotification", {
            "type": "SettingSystemTime", "timestamp": at[2]}) == {}

    (session,) = (await http.get("/stations/CP-B2/transactions")).json()["items"]
    assert (session["remote_id"], session["connector_id"], session["id_tag"]) == (
        "tx-b2", 1, "TAG-2")
    assert (session["started_at"], session["meter_start"], session["active"]) == (
        at[0], 2000, True)
    async with server.services.db.uow() as db:
        rows = (await db.execute(select(MeterValue.transaction_id, MeterValue.value)
                                 .where(MeterValue.station_id == "CP-B2")
                                 .order_by(MeterValue.ts))).all()
    # Before the idToken the readings are the EVSE's; from it, the session's.
    assert [tuple(r) for r in rows] == [(None, 2000.0), (None, 2000.0),
                                        (session["id"], 2100.0)]
    connectors = (await http.get("/stations/CP-B2")).json()["connectors"]
    assert [(c["connector_id"], c["status"]) for c in connectors] == [(1, "Charging")]


NOW = "2030-01-07T08:00:00Z"
# One valid request of each action a 2.0.1 station sends that the server handles.
STATION_REQUESTS: dict[str, dict[str, Any]] = {
    "BootNotification": BOOT_201,
    "Heartbeat": {},
    "StatusNotification": {"timestamp": NOW, "connectorStatus": "Occupied", "evseId": 1,
                           "connectorId": 1},
    "NotifyReport": {"requestId": 3, "generatedAt": NOW, "seqNo": 0, "tbc": False,
                     "reportData": [{
                         "component": {"name": "SmartChargingCtrlr"},
                         "variable": {"name": "PeriodsPerSchedule"},
                         "variableAttribute": [{"value": "12", "mutability": "ReadOnly"}]}]},
    "FirmwareStatusNotification": {"status": "Installed"},
    "DataTransfer": {"vendorId": "acme"},
    "Authorize": {"idToken": {"idToken": "TAG-9", "type": "Central"}},
    "TransactionEvent": {"eventType": "Started", "timestamp": NOW, "seqNo": 0,
                         "triggerReason": "Authorized",
                         "transactionInfo": {"transactionId": "tx-rt"},
                         "idToken": {"idToken": "TAG-9", "type": "Central"},
                         "evse": {"id": 1, "connectorId": 1}},
    "MeterValues": {"evseId": 0, "meterValue": energy(NOW, 5.5)},
    "NotifyChargingLimit": {"chargingLimit": {"chargingLimitSource": "CSO"}},
    "ClearedChargingLimit": {"chargingLimitSource": "CSO"},
    "NotifyEVChargingNeeds": {"evseId": 1, "chargingNeeds": {
        "requestedEnergyTransfer": "DC", "departureTime": "2030-01-07T10:00:00Z",
        "dcChargingParameters": {"evMaxCurrent": 100, "evMaxVoltage": 400,
                                 "stateOfCharge": 40, "evEnergyCapacity": 60000}}},
    "NotifyEVChargingSchedule": {"timeBase": NOW, "evseId": 1, "chargingSchedule": {
        "id": 1, "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000.0}]}},
    "ReportChargingProfiles": {"requestId": 4, "chargingLimitSource": "SO", "evseId": 0,
                               "chargingProfile": [{
                                   "id": 0, "stackLevel": 0, "chargingProfileKind": "Absolute",
                                   "chargingProfilePurpose": "ChargingStationExternalConstraints",
                                   "chargingSchedule": [{
                                       "id": 1, "startSchedule": NOW, "chargingRateUnit": "A",
                                       "chargingSchedulePeriod": [
                                           {"startPeriod": 0, "limit": 10.0}]}]}]},
    "SecurityEventNotification": {"type": "StartupOfTheDevice", "timestamp": NOW},
    # No CA here, so Rejected: still a SignCertificateResponse.
    "SignCertificate": {"csr": "-----BEGIN CERTIFICATE REQUEST-----",
                        "certificateType": "ChargingStationCertificate"},
    "LogStatusNotification": {"status": "Uploaded", "requestId": 2},
    "NotifyEvent": {"generatedAt": NOW, "seqNo": 0, "eventData": [{
        "eventId": 1, "timestamp": NOW, "trigger": "Alerting", "actualValue": "Faulted",
        "eventNotificationType": "HardWiredMonitor", "component": {"name": "ChargingStation"},
        "variable": {"name": "Problem"}}]},
    "ReservationStatusUpdate": {"reservationId": 3, "reservationUpdateStatus": "Expired"},
    "NotifyDisplayMessages": {"requestId": 6, "messageInfo": [{
        "id": 1, "priority": "NormalCycle",
        "message": {"format": "UTF8", "content": "Reserved for the fleet"}}]},
    "NotifyMonitoringReport": {"requestId": 7, "seqNo": 0, "generatedAt": NOW, "monitor": [{
        "component": {"name": "ChargingStation"}, "variable": {"name": "Problem"},
        "variableMonitoring": [{"id": 1, "transaction": False, "value": 1, "type": "Delta",
                                "severity": 5}]}]},
    "NotifyCustomerInformation": {"data": "no data kept", "seqNo": 0, "generatedAt": NOW,
                                  "requestId": 8},
    "PublishFirmwareStatusNotification": {"status": "Published", "location": [
        "http://lc.local/fw.bin"], "requestId": 9},
}


def test_every_handled_action_has_its_round_trip_below() -> None:
    adapter = registered_protocols().get("ocpp2.0.1")
    assert adapter is not None
    assert set(STATION_REQUESTS) == set(adapter.handlers)


async def test_each_201_action_is_answered_with_a_valid_201_callresult(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with station_201(server, "CP-RT") as cp:
        for action, request in STATION_REQUESTS.items():
            get_validator(2, action, "2.0.1").validate(request)
            answer = await cp.ok(action, request)
            get_validator(3, action, "2.0.1").validate(answer)
    # The report reached the device model.
    variables = (await http.get("/stations/CP-RT/variables")).json()["variables"]
    assert [(v["component"], v["variable"], v["value"]) for v in variables] == [
        ("SmartChargingCtrlr", "PeriodsPerSchedule", "12")]
