"""A request the API refuses says, for a person, every field at fault in the client's own
spelling: snake_case at the top level, camelCase inside an OCPP profile."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import RunningServer
from tests.e2e.harness import simulated
from tests.profiles import tx_default_watts

SID = "PY-SIM-0001"


def problems(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["status_code"] == 400
    listed = [(entry["key"], entry["message"]) for entry in body["extra"]]
    assert len(set(listed)) == len(listed), f"a problem listed twice: {listed}"
    return dict(listed)


async def post_raw(http: httpx.AsyncClient, path: str, content: bytes) -> httpx.Response:
    return await http.post(path, content=content, headers={"Content-Type": "application/json"})


async def test_an_empty_body_is_called_empty(http: httpx.AsyncClient) -> None:
    found = problems(await post_raw(http, "/stations", b""))

    assert list(found) == ["body"]
    assert found["body"].startswith("is empty: send a JSON object")


async def test_truncated_json_says_where_it_broke(http: httpx.AsyncClient) -> None:
    found = problems(await post_raw(http, "/stations", b'{"station_id": "CP-1", "pass'))

    assert list(found) == ["body"]
    assert found["body"].startswith("is not valid JSON")
    assert "line 1 column 24" in found["body"]


async def test_every_field_at_fault_is_listed_at_once(http: httpx.AsyncClient) -> None:
    answer = await http.post("/stations", json={"station_id": 5, "password": 7, "colour": 1})
    found = problems(answer)

    assert found == {
        "colour": "is not a known field; known: max_power_w, password, station_id, tags",
        "password": "expected a string or null, got an integer",
        "station_id": "expected a string, got an integer",
    }
    assert "colour" in answer.json()["detail"] and "station_id" in answer.json()["detail"]


async def test_each_missing_field_is_named_once(http: httpx.AsyncClient) -> None:
    answer = await http.post("/plans", json={})

    assert problems(answer) == {"name": "is required", "targets": "is required",
                                "profile": "is required"}
    assert answer.json()["detail"] == (
        "invalid request body: name is required; targets is required; profile is required")


async def test_nested_fields_are_named_by_their_path(http: httpx.AsyncClient) -> None:
    answer = await http.post("/plans", json={"name": "", "targets": {"station_ids": 3},
                                             "profile": tx_default_watts(7000)})

    assert problems(answer) == {
        "name": "must have at least 1 character(s)",
        "targets.station_ids": "expected an array, got an integer",
    }
    preview = await http.post(f"/stations/{SID}/composite_schedule/preview",
                              json={"profiles": [{"connector_id": "1"}], "duration": 0})
    assert problems(preview) == {
        "connector_id": "is required",
        "duration": "must be > 0",
        "profiles[0].connector_id": "expected an integer, got a string",
        "profiles[0].profile": "is required",
    }


async def test_a_scenario_names_every_missing_parameter(http: httpx.AsyncClient) -> None:
    await http.post("/stations", json={"station_id": SID})
    answer = await http.post(f"/stations/{SID}/test_profiles",
                             json={"scenario": "time_of_use", "connector_id": 1, "peak_w": 4000})

    assert set(problems(answer)) == {"off_peak_w", "peak_start_hour", "peak_end_hour"}


async def test_the_connector_is_named_as_the_client_sent_it(
        server: RunningServer, http: httpx.AsyncClient) -> None:
    async with simulated(server, http):  # reports NumberOfConnectors 2
        rest: dict[str, Any] = {"connector_id": 9, "profile": tx_default_watts(7000)}
        found = problems(await http.post(f"/stations/{SID}/charging_profile", json=rest))
        assert list(found) == ["connector_id"]
        assert "NumberOfConnectors (2)" in found["connector_id"]

        # Inside an OCPP payload the same rule names the payload's own camelCase field.
        command = {"connectorId": 9, "csChargingProfiles": {
            "chargingProfileId": 5, **tx_default_watts(7000)}}
        found = problems(await http.post(f"/stations/{SID}/commands/SetChargingProfile",
                                         json=command))
        assert list(found) == ["connectorId"]


async def test_an_ocpp_command_payload_lists_every_problem(http: httpx.AsyncClient) -> None:
    await http.post("/stations", json={"station_id": SID})
    answer = await http.post(f"/stations/{SID}/commands/ReserveNow", json={
        "connectorId": "one", "expiryDate": "2030-01-01T00:00:00Z", "reservationId": 1,
        "colour": "red"})

    found = problems(answer)
    assert found["connectorId"] == "expected an integer, got a string"
    assert found["idTag"] == "is required"
    assert "colour" in found
