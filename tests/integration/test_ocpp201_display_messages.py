"""The messages an OCPP 2.0.1 station shows its drivers (O01-O06), over REST: set, read
and cleared on a raw 2.0.1 station in their 2.0.1 form, the station's report of what it
shows kept in the audit trail; a bad message is refused naming the field, a 1.6 station
is told its version."""

from __future__ import annotations

import httpx

from tests.conftest import RunningServer, settled_audit_rows
from tests.integration.test_ocpp201_frames import server  # noqa: F401  (the fixture)
from tests.ocpp201 import BOOT_201, RAW_201_ANSWERS, check_201_frames
from tests.ocpp_client import raw_station

SID = "CP-DISPLAY"
MESSAGE = {"id": 7, "priority": "InFront", "state": "Charging",
           "message": {"format": "UTF8", "content": "Reserved for the fleet until 06:00"}}


async def test_a_message_is_set_read_and_cleared_on_a_201_station(
    server: RunningServer, http: httpx.AsyncClient  # noqa: F811
) -> None:
    answers = {**RAW_201_ANSWERS, "SetDisplayMessage": {"status": "Accepted"},
               "GetDisplayMessages": {"status": "Accepted"},
               "ClearDisplayMessage": {"status": "Accepted"}}
    async with raw_station(server.station_url(SID), subprotocols=["ocpp2.0.1"],
                           answers=answers) as cp:
        await cp.ok("BootNotification", BOOT_201)
        missing = await http.post(f"/stations/{SID}/commands/SetDisplayMessage",
                                  json={"message": {"id": 7, "priority": "Soon"}})
        assert missing.status_code == 400, missing.text
        assert {item["key"] for item in missing.json()["extra"]} == {
            "message.message", "message.priority"}

        done = await http.post(f"/stations/{SID}/commands/SetDisplayMessage",
                               json={"message": MESSAGE})
        assert done.status_code == 200, done.text
        assert done.json()["response"] == {"status": "Accepted"}
        asked = await http.post(f"/stations/{SID}/commands/GetDisplayMessages",
                                json={"requestId": 3})
        assert asked.json()["response"] == {"status": "Accepted"}, asked.text
        # What it shows comes as pages of the requestId.
        assert await cp.ok("NotifyDisplayMessages",
                           {"requestId": 3, "messageInfo": [MESSAGE]}) == {}
        cleared = await http.post(f"/stations/{SID}/commands/ClearDisplayMessage",
                                  json={"id": 7})
        assert cleared.json()["response"] == {"status": "Accepted"}, cleared.text
        assert [(f[2], f[3]) for f in cp.server_calls if "DisplayMessage" in f[2]] == [
            ("SetDisplayMessage", {"message": MESSAGE}),
            ("GetDisplayMessages", {"requestId": 3}),
            ("ClearDisplayMessage", {"id": 7})]
    seen = check_201_frames(await settled_audit_rows(server, SID))
    assert ("in", "CALL", "NotifyDisplayMessages") in seen
    shown = (await http.get("/audit", params={"station_id": SID,
                                              "action": "NotifyDisplayMessages"})).json()
    assert [row["payload"]["messageInfo"] for row in shown["items"]
            if row["message_type"] == "CALL"] == [[MESSAGE]]


async def test_a_16_station_is_told_display_messages_are_201(
    server: RunningServer, http: httpx.AsyncClient  # noqa: F811
) -> None:
    async with raw_station(server.station_url("CP-16")) as cp:
        await cp.boot()
        refused = await http.post("/stations/CP-16/commands/SetDisplayMessage",
                                  json={"message": MESSAGE})
        assert refused.status_code == 409, refused.text
        assert "speaks OCPP 1.6" in refused.text
        assert not [f for f in cp.server_calls if f[2] == "SetDisplayMessage"]
