"""The schedule a car chooses (OCPP 2.0.1 NotifyEVChargingSchedule), from the simulated
2.0.1 station to the real server over a real websocket and SQLite file: one within its
TxProfile is Accepted and recorded; one above it is Rejected, recorded, and the TxProfile
goes out again, after which the car keeps within. Every frame fits its 2.0.1 schema."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.events import EventFilter, EventType
from app.ocpp.errors import ErrorCode
from app.simulator.car import Car
from tests.conftest import RunningServer, settled_audit_rows
from tests.e2e.harness import eventually, simulated
from tests.integration.test_ocpp201_frames import (
    server,  # noqa: F401  (the fixture: unknown id tags accepted)
    station_201,
)
from tests.ocpp201 import BOOT_201, check_201_frames, station_of

SID = "PY-SIM-0001"


def tx_profile(transaction_id: int) -> dict[str, Any]:
    return {"chargingProfileId": 70, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative", "transactionId": transaction_id,
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 10}]}}


async def charging(http: httpx.AsyncClient) -> int:
    async def running() -> int | None:
        items = (await http.get(f"/stations/{SID}/transactions",
                                params={"active": "true"})).json()["items"]
        return items[0]["id"] if items else None

    found = await eventually(running)
    assert isinstance(found, int)
    return found


async def schedules(http: httpx.AsyncClient, transaction_id: int) -> list[dict[str, Any]]:
    answer = await http.get(f"/transactions/{transaction_id}/ev_schedules")
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()
    return result


async def send_profile(http: httpx.AsyncClient, transaction_id: int) -> None:
    sent = await http.post(f"/stations/{SID}/charging_profile",
                           json={"connector_id": 1, "profile": tx_profile(transaction_id)})
    assert sent.json()["status"] == "success", sent.text


def set_profile_calls(rows: list[Any]) -> int:
    return sum(1 for r in rows if r.direction == "out" and r.message_type == "CALL"
               and r.action == "SetChargingProfile")


async def test_a_schedule_within_the_tx_profile_is_accepted_and_recorded(
    server: RunningServer, http: httpx.AsyncClient  # noqa: F811
) -> None:
    async with simulated(server, http, ocpp_version="2.0.1", ev_schedule_excess_a=0.0) as sim:
        await station_of(sim).plug_in(1, Car("TAG-1", max_current_a=16))
        tx = await charging(http)
        # The car's needs brought a TxProfile made from what is allowed, and its schedule.
        await eventually(lambda: schedules(http, tx))
        await send_profile(http, tx)

        async def both() -> list[dict[str, Any]] | None:
            rows = await schedules(http, tx)
            return rows if len(rows) == 2 else None

        _, accepted = await eventually(both)
    assert (accepted["status"], accepted["evse_id"], accepted["reason"]) == (
        "accepted", 1, None)
    assert [p["limit"] for p in accepted["schedule"]["chargingSchedulePeriod"]] == [10.0]
    rows = await settled_audit_rows(server, SID)
    seen = check_201_frames(rows)
    assert ("in", "CALL", "NotifyEVChargingSchedule") in seen
    answers = [r.payload for r in rows if r.action == "NotifyEVChargingSchedule"
               and r.message_type == "CALLRESULT"]
    assert answers == [{"status": "Accepted"}] * 2


async def test_a_schedule_above_it_is_rejected_recorded_and_renegotiated(
    server: RunningServer, http: httpx.AsyncClient  # noqa: F811
) -> None:
    listener = server.services.events.subscribe(EventFilter(types=frozenset({
        EventType.EV_SCHEDULE_ACCEPTED, EventType.EV_SCHEDULE_REJECTED})))
    async with simulated(server, http, ocpp_version="2.0.1", ev_schedule_excess_a=4.0) as sim:
        await station_of(sim).plug_in(1, Car("TAG-2", max_current_a=16))
        tx = await charging(http)
        # The car's needs brought a TxProfile made from what is allowed (its own 16 A):
        # its first schedule asks above that, is Rejected and renegotiated; the next fits.
        await eventually(lambda: schedules(http, tx))
        await send_profile(http, tx)

        async def renegotiated() -> list[dict[str, Any]] | None:
            rows = await schedules(http, tx)
            done = len(rows) == 3 and rows[0]["renegotiation"] is not None
            return rows if done else None

        first, _, second = await eventually(renegotiated)
    assert (first["status"], first["period"], first["exceeds_by"]) == ("rejected", 0, 4.0)
    assert "period 0 asks 20 A" in first["reason"]
    assert first["renegotiation"].startswith("TxProfile sent again")
    # The station renegotiated with the car, which now keeps within.
    assert second["status"] == "accepted"
    rows = await settled_audit_rows(server, SID)
    check_201_frames(rows)
    assert set_profile_calls(rows) == 3
    answers = [r.payload for r in rows if r.action == "NotifyEVChargingSchedule"
               and r.message_type == "CALLRESULT"]
    assert answers[0]["status"] == "Rejected"
    assert answers[0]["statusInfo"]["reasonCode"] == "ExceedsLimit"
    assert answers[1:] == [{"status": "Accepted"}] * 2
    seen = [await listener.next(timeout=30), await listener.next(timeout=30)]
    assert [(e.type, e.connector_id, e.data["transaction_id"]) for e in seen
            if e is not None] == [(EventType.EV_SCHEDULE_REJECTED, 1, tx),
                                  (EventType.EV_SCHEDULE_ACCEPTED, 1, tx)]


@pytest.mark.parametrize(("payload", "code"), [
    ({"timeBase": "2030-01-07T08:00:00Z", "evseId": 1}, ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ({"timeBase": "2030-01-07T08:00:00Z", "evseId": 1, "chargingSchedule": {
        "id": 1, "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 60, "limit": 6.0}]}},
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
])
async def test_a_malformed_schedule_gets_its_callerror_and_the_connection_survives(
    server: RunningServer, payload: dict[str, Any], code: str  # noqa: F811
) -> None:
    async with station_201(server, "CP-EVS") as cp:
        await cp.ok("BootNotification", BOOT_201)
        frame = await cp.call("NotifyEVChargingSchedule", payload)
        assert (frame[0], frame[2]) == (4, code), frame
        assert "currentTime" in await cp.ok("Heartbeat", {})


TX_DEFAULT_10A = {"chargingProfileId": 71, "stackLevel": 0,
                  "chargingProfilePurpose": "TxDefaultProfile",
                  "chargingProfileKind": "Absolute", "validFrom": "2020-01-01T00:00:00Z",
                  "chargingSchedule": {"startSchedule": "2020-01-01T00:00:00Z",
                                       "chargingRateUnit": "A", "chargingSchedulePeriod": [
                                           {"startPeriod": 0, "limit": 10}]}}


async def test_with_no_tx_profile_one_is_made_from_what_is_allowed_and_renegotiated(
    server: RunningServer, http: httpx.AsyncClient  # noqa: F811
) -> None:
    """K15.FR.03 / K16.FR.08: the car's needs answered, chargeplan holding only a default
    profile: a TxProfile for the transaction, made from that default (10 A, below the
    car's 16 A), goes out; the car asks above it, is Rejected, and the same TxProfile goes
    out again."""
    async with simulated(server, http, ocpp_version="2.0.1", ev_schedule_excess_a=4.0) as sim:
        sent = await http.post(f"/stations/{SID}/charging_profile",
                               json={"connector_id": 1, "profile": TX_DEFAULT_10A})
        assert sent.json()["status"] == "success", sent.text
        await station_of(sim).plug_in(1, Car("TAG-3", max_current_a=16))
        tx = await charging(http)

        async def renegotiated() -> list[dict[str, Any]] | None:
            rows = await schedules(http, tx)
            done = len(rows) == 2 and rows[0]["renegotiation"] is not None
            return rows if done else None

        first, second = await eventually(renegotiated)
    assert first["status"] == "rejected" and second["status"] == "accepted"
    assert first["renegotiation"].startswith("TxProfile sent again")
    rows = await settled_audit_rows(server, SID)
    check_201_frames(rows)
    offers = [r.payload["chargingProfile"] for r in rows
              if (r.direction, r.message_type, r.action) == ("out", "CALL", "SetChargingProfile")
              and r.payload["chargingProfile"]["chargingProfilePurpose"] == "TxProfile"]
    assert len(offers) == 2 and offers[0] == offers[1]
    (schedule,) = offers[0]["chargingSchedule"]
    assert [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedulePeriod"]] == [
        (0, 10.0)]
    assert offers[0]["transactionId"]  # the station's own string for the transaction
