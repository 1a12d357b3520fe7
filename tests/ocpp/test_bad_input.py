"""Bad frames get the CALLERROR OCPP-J 1.6 names, are audited, and the connection stays."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.conftest import settled_audit_rows as audit_rows
from tests.ocpp_client import RawStation, raw_station


async def still_alive(cp: RawStation) -> None:
    answer = await cp.ok("Heartbeat", {})
    assert "currentTime" in answer


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('[2, "a1", "BootNotification", {"chargePointVendor": 5, "chargePointModel": "m"}]',
         "TypeConstraintViolation"),
        ('[2, "a1", "BootNotification", {"chargePointModel": "m"}]', "ProtocolError"),
        ('[2, "a1", "Heartbeat", {"unexpected": 1}]', "FormationViolation"),
        ('[2, "a1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", '
         '"status": "Sleeping"}]', "PropertyConstraintViolation"),
        ('[2, "a1", "FlyToTheMoon", {}]', "NotImplemented"),
        ('[2, "a1", "SetChargingProfile", {}]', "NotSupported"),
        ('[2, "a1", "Heartbeat", null]', "FormationViolation"),
        ('[2, "a1", "Heartbeat"]', "FormationViolation"),
        ('[2, "a1", "Heartbeat", {}, {}]', "FormationViolation"),
        ('[2, 17, "Heartbeat", {}]', "FormationViolation"),
        ('[2, "", "Heartbeat", {}]', "FormationViolation"),
        (f'[2, "{"x" * 37}", "Heartbeat", {{}}]', "FormationViolation"),
        ('["2", "a1", "Heartbeat", {}]', "FormationViolation"),
    ],
)
async def test_malformed_call_gets_the_spec_error_and_connection_survives(
    server: RunningServer, frame: str, code: str
) -> None:
    async with raw_station(server.station_url("CP-BAD")) as cp:
        await cp.send_raw(frame)
        answer = await cp.reply()
        assert answer[0] == 4
        assert answer[1] == json.loads(frame)[1]
        assert answer[2] == code
        assert answer[3]  # a description a person can read
        await still_alive(cp)
    rows = await audit_rows(server, "CP-BAD")
    assert any(r.direction == "out" and r.error_code == code for r in rows)


@pytest.mark.parametrize(
    "frame",
    ["this is not json", "{\"an\": \"object\"}", "[]", "[2]", "[NaN]",
     "[5, \"a1\", \"Heartbeat\", {}]", "[0, \"a1\"]", "[" * 10000 + "]" * 10000,
     # An unrequested CALLRESULT 255 deep: too deep to be encoded again for the audit.
     '[3, "x", {"x": ' + "[" * 253 + "]" * 253 + "}]"],
)
async def test_frames_without_an_addressable_call_are_audited_not_answered(
    server: RunningServer, frame: str
) -> None:
    async with raw_station(server.station_url("CP-JUNK")) as cp:
        await cp.send_raw(frame)
        await still_alive(cp)  # the next answer is the Heartbeat's: nothing came before it
    rows = await audit_rows(server, "CP-JUNK")
    junk = [r for r in rows if r.direction == "in" and r.error_code]
    assert junk and junk[0].raw == frame[:server.settings.audit_raw_max_bytes]
    assert junk[0].raw_length == len(frame)
    assert not any(r.direction == "out" and r.message_type == "CALLERROR" for r in rows)


async def test_binary_frame_gets_formation_violation(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-BIN")) as cp:
        await cp.send_raw(b'[2, "b1", "Heartbeat", {}]')
        answer = await cp.reply()
        assert answer[:3] == [4, "b1", "FormationViolation"]
        await still_alive(cp)


async def test_unknown_callresult_is_audited_and_ignored(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-LATE")) as cp:
        await cp.send_raw('[3, "never-sent", {}]')
        await still_alive(cp)
    rows = await audit_rows(server, "CP-LATE")
    late = [r for r in rows if r.message_type == "CALLRESULT" and r.direction == "in"]
    assert late and "ignored" in (late[0].error_description or "")


async def test_oversized_frame_closes_only_that_connection(server: RunningServer) -> None:
    limit = server.settings.max_frame_bytes
    async with raw_station(server.station_url("CP-OK")) as bystander:
        async with raw_station(server.station_url("CP-BIG")) as cp:
            await cp.send_raw('[2, "big", "DataTransfer", {"vendorId": "x", "data": "'
                              + "x" * (limit + 10) + '"}]')
            with pytest.raises(ConnectionClosed) as closed:
                await cp.ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        await still_alive(bystander)
    rows = await audit_rows(server, "CP-BIG")
    assert any("size limit" in (r.error_description or "") for r in rows)


async def test_two_calls_at_once_are_both_answered(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-TWO")) as cp:
        await cp.send_raw('[2, "c1", "Heartbeat", {}]')
        await cp.send_raw('[2, "c2", "Heartbeat", {}]')
        answers = [await cp.reply(), await cp.reply()]
    assert [a[:2] for a in answers] == [[3, "c1"], [3, "c2"]]


async def test_a_flood_is_rate_limited_without_hurting_others(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-CALM")) as calm, \
            raw_station(server.station_url("CP-FLOOD")) as flood:
        for i in range(400):
            await flood.send_raw(f'[2, "f{i}", "Heartbeat", {{}}]')
        answers = [await flood.reply() for _ in range(400)]
        await still_alive(calm)
    limited = [a for a in answers if a[0] == 4]
    assert limited, "a station sending 400 CALLs at once must be limited"
    assert all(a[2] == "GenericError" and "rate limit" in a[3] for a in limited)
    assert sum(1 for a in answers if a[0] == 3) >= server.settings.inbound_burst - 1


async def test_invalid_utf8_closes_only_that_connection_and_is_audited(
    server: RunningServer,
) -> None:
    async with raw_station(server.station_url("CP-OK2")) as bystander:
        async with raw_station(server.station_url("CP-UTF")) as cp:
            await cp.ws.send(b'[2, "u1", "Heartbeat", {"x": "\xff\xfe"}]', text=True)
            with pytest.raises(ConnectionClosed) as closed:
                await cp.ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
        await still_alive(bystander)
    rows = await audit_rows(server, "CP-UTF")
    assert any("UTF-8" in (r.error_description or "") for r in rows)


async def test_answer_after_the_timeout_is_audited_and_ignored(sqlite_url: str) -> None:
    from app.services.ports import CallTimeout

    # The station leaves the GetConfiguration read after its boot unanswered too, and a
    # station has one call in flight at a time: the Reset goes out once that one timed
    # out, after the server's call timeout (1 s here rather than the suite's 5).
    server = await start_server(make_settings(sqlite_url, call_timeout_s=1.0))
    try:
        await _answer_after_the_timeout(server, CallTimeout)
    finally:
        await stop_server(server)


async def _answer_after_the_timeout(server: RunningServer, timeout: type[Exception]) -> None:
    async with raw_station(server.station_url("CP-SLOW"),
                           answers={"GetConfiguration": None, "Reset": None}) as cp:
        await cp.boot()
        with pytest.raises(timeout):
            await server.services.gateway.call("CP-SLOW", "Reset", {"type": "Soft"},
                                               timeout=0.2)
        reset = next(c for c in cp.server_calls if c[2] == "Reset")
        await cp.send_raw(json.dumps([3, reset[1], {"status": "Accepted"}]))
        await still_alive(cp)
    rows = await audit_rows(server, "CP-SLOW")
    late = [r for r in rows if r.unique_id == reset[1] and r.direction == "in"]
    assert late and "after its timeout" in (late[0].error_description or "")
    assert late[0].action == "Reset"


async def test_a_call_nested_deeper_than_any_ocpp_message_gets_formation_violation(
    server: RunningServer,
) -> None:
    async with raw_station(server.station_url("CP-DEEP")) as cp:
        await cp.send_raw('[2, "d1", "DataTransfer", {"vendorId": "v", "x": '
                          + "[" * 20 + "]" * 20 + "}]")
        answer = await cp.reply()
        assert answer[:3] == [4, "d1", "FormationViolation"]
        assert "nested deeper" in answer[3]
        await still_alive(cp)
    rows = await audit_rows(server, "CP-DEEP")
    assert rows[0].error_code == "FormationViolation" and rows[0].raw.startswith("[2, ")
