"""POST /stations/{id}/charging_profile in the OCPP 2.0.1 form (`evse_id` with
`charging_profile`, a ChargingProfileType), against the real server and the real
simulator: a 2.0.1 station and a 1.6 one both take it, it is stored as the 1.6 form of
the same profile would be, and every refusal names the field as the request spells it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.simulator.car import Car
from app.simulator.fleet import Simulator
from app.simulator.station import SimulatedStation
from app.simulator.station_v201 import SimulatedStation201
from tests.conftest import RunningServer
from tests.e2e.harness import eventually, only, simulated

START = "2026-01-01T00:00:00Z"
WAIT = 60.0  # bounds a failure only


@pytest.fixture(params=["1.6", "2.0.1"])
async def sim(request: pytest.FixtureRequest, server: RunningServer,
              http: httpx.AsyncClient) -> AsyncIterator[Simulator]:
    """One simulated station of the version the test is parametrised with; both list only
    A (1.6 ChargingScheduleAllowedChargingRateUnit Current, 2.0.1 SmartChargingCtrlr.RateUnit
    A) and have 2 connectors (EVSEs)."""
    version: str = request.param
    async with simulated(server, http, ocpp_version=version, allowed_units="Current",
                         connectors=2, id_prefix=f"F{version.replace('.', '')}-") as simulator:
        yield simulator


def version_of(sim: Simulator) -> str:
    return "2.0.1" if isinstance(only(sim), SimulatedStation201) else "1.6"


def form_201(profile_id: int = 300, *, limit: float = 16.0, **changes: Any) -> dict[str, Any]:
    return {"id": profile_id, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [{"id": 1, "startSchedule": START, "chargingRateUnit": "A",
                                  "chargingSchedulePeriod": [
                                      {"startPeriod": 0, "limit": limit},
                                      {"startPeriod": 3600, "limit": 8.0}]}],
            **changes}


def form_16(profile_id: int = 300, *, limit: float = 16.0) -> dict[str, Any]:
    return {"chargingProfileId": profile_id, "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": {"startSchedule": START, "chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [
                                     {"startPeriod": 0, "limit": limit},
                                     {"startPeriod": 3600, "limit": 8.0}]}}


def tx_201(transaction_id: str, profile_id: int = 310) -> dict[str, Any]:
    return {"id": profile_id, "stackLevel": 2, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative", "transactionId": transaction_id,
            "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                                  "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}]}


def held(sim: Any) -> dict[int, tuple[int, str | int | None]]:
    """What the simulated station holds: by profile id, its place and transactionId."""
    station = only(sim)
    if isinstance(station, SimulatedStation201):
        return {h.profile.charging_profile_id: (h.evse_id, h.profile.transaction_id)
                for h in station.smart_charging.held}
    assert isinstance(station, SimulatedStation)
    return {p.profile.charging_profile_id: (p.connector_id, p.profile.transaction_id)
            for p in station.installed_profiles}


async def rows(http: httpx.AsyncClient, sid: str) -> dict[int, dict[str, Any]]:
    answer = await http.get(f"/stations/{sid}/charging_profiles")
    assert answer.status_code == 200, answer.text
    return {r["profile_id"]: r for r in answer.json()}


async def refused(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 400, answer.text
    return {e["key"]: e["message"] for e in answer.json()["extra"]}


async def running_transaction(http: httpx.AsyncClient, sid: str) -> int:
    async def found() -> int | None:
        items = (await http.get(f"/stations/{sid}/transactions",
                                params={"active": "true"})).json()["items"]
        return int(items[0]["id"]) if items else None

    tx_id: int = await eventually(found, timeout=WAIT)
    return tx_id


async def test_a_station_of_either_version_takes_the_201_form(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    version = version_of(sim)
    (sid,) = sim.stations
    url = f"/stations/{sid}/charging_profile"
    sent = await http.post(url, json={"evse_id": 1, "charging_profile": form_201()})
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert (body["status"], body["profile_id"], body["evse_id"], body["connector_id"]) == (
        "success", 300, 1, 1)
    assert held(sim)[300] == (1, None)
    row = (await rows(http, sid))[300]
    assert (row["state"], row["last_answer"]) == ("accepted", {"status": "Accepted"})
    assert row["profile"] == form_16()
    # A 2.0.1 station is shown the form it is sent: here the one the request gave.
    assert row["charging_profile"] == (form_201() if version == "2.0.1" else None)

    # A TxProfile names the station's transaction: a 2.0.1 station's own string, a
    # 1.6 station's integer id in decimal.
    added = await http.post("/id_tags", json={"id_tag": "EV-TX"})
    assert added.status_code == 201, added.text
    await only(sim).plug_in(1, Car("EV-TX", max_current_a=32.0))
    tx_id = await running_transaction(http, sid)
    station_tx = only(sim).transactions[1].transaction_id
    assert str(station_tx) == (str(tx_id) if version == "1.6" else station_tx)
    tx = await http.post(url, json={"evse_id": 1, "charging_profile": tx_201(
        str(station_tx))})
    assert tx.status_code == 200, tx.text
    assert tx.json()["status"] == "success", tx.text
    assert held(sim)[310] == (1, station_tx)
    # Stored in its 1.6 form, naming the transaction by chargeplan's integer id.
    assert (await rows(http, sid))[310]["profile"]["transactionId"] == tx_id

    unknown = await http.post(url, json={"evse_id": 1, "charging_profile": tx_201(
        "424242", profile_id=311)})
    assert list(await refused(unknown)) == ["charging_profile.transactionId"]


@pytest.mark.parametrize("sim", ["2.0.1"], indirect=True)
async def test_both_forms_give_the_same_stored_row(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    (sid,) = sim.stations
    url = f"/stations/{sid}/charging_profile"
    fields = ("profile_id", "connector_id", "purpose", "stack_level", "owner_kind",
              "state", "profile", "charging_profile")

    first = await http.post(url, json={"connector_id": 2, "profile": form_16()})
    assert first.status_code == 200, first.text
    assert "evse_id" not in first.json()
    as_16 = (await rows(http, sid))[300]
    cleared = await http.delete(url, params={"profile_id": 300})
    assert cleared.status_code == 200, cleared.text
    assert 300 not in held(sim)

    second = await http.post(url, json={"evse_id": 2, "charging_profile": form_201()})
    assert second.status_code == 200, second.text
    as_201 = (await rows(http, sid))[300]
    assert {f: as_201[f] for f in fields} == {f: as_16[f] for f in fields}
    assert held(sim)[300] == (2, None)


def bad_requests(version: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Bodies and the fields their refusal names, with a part of each message."""
    two = form_201()
    two["chargingSchedule"] = two["chargingSchedule"] * 2
    wrong_limit = form_201()
    wrong_limit["chargingSchedule"][0]["chargingSchedulePeriod"][1]["limit"] = "eight"
    tariff = form_201()
    tariff["chargingSchedule"][0]["salesTariff"] = {"id": 1, "salesTariffEntry": []}
    phase = form_201()
    phase["chargingSchedule"][0]["chargingSchedulePeriod"][0].update(numberPhases=1,
                                                                     phaseToUse=2)
    watts = form_201()
    watts["chargingSchedule"][0]["chargingRateUnit"] = "W"
    backwards = form_201()
    backwards["chargingSchedule"][0]["chargingSchedulePeriod"][1]["startPeriod"] = 0
    unit_cite = "K01.FR.26" if version == "2.0.1" else "OCPP 1.6 §9.4"
    return [
        ({"evse_id": 1, "charging_profile": two},
         {"charging_profile.chargingSchedule": "chargeplan keeps one schedule per profile"}),
        ({"evse_id": 1, "charging_profile": wrong_limit},
         {"charging_profile.chargingSchedule[0].chargingSchedulePeriod[1].limit": "number"}),
        ({"evse_id": 1, "charging_profile": tariff},
         {"charging_profile.chargingSchedule[0].salesTariff": "not kept"}),
        ({"evse_id": 1, "charging_profile": phase},
         {"charging_profile.chargingSchedule[0].chargingSchedulePeriod[0].phaseToUse":
          "not kept"}),
        ({"evse_id": 0, "charging_profile": form_201(
            chargingProfilePurpose="ChargingStationExternalConstraints")},
         {"charging_profile.chargingProfilePurpose": "K01.FR.22"}),
        ({"evse_id": 1, "charging_profile": {**form_201(), "id": "three"}},
         {"charging_profile.id": "integer"}),
        # The rules of the station's version, named in the 2.0.1 spelling.
        ({"evse_id": 1, "charging_profile": watts},
         {"charging_profile.chargingSchedule[0].chargingRateUnit": unit_cite}),
        ({"evse_id": 1, "charging_profile": backwards},
         {"charging_profile.chargingSchedule[0].chargingSchedulePeriod[1].startPeriod": ""}),
        ({"evse_id": 3, "charging_profile": form_201()}, {"evse_id": ""}),
        # One form, whole.
        ({"evse_id": 1, "charging_profile": form_201(), "connector_id": 1},
         {"evse_id": "one form only", "charging_profile": "one form only",
          "connector_id": "one form only"}),
        ({}, {"profile": "is required", "charging_profile": "is required"}),
        ({"evse_id": 1}, {"charging_profile": "is required with evse_id"}),
        ({"profile": form_16()}, {"connector_id": "is required with profile"}),
    ]


async def test_refusals_name_the_field_as_the_201_form_spells_it(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    (sid,) = sim.stations
    for body, expected in bad_requests(version_of(sim)):
        found = await refused(await http.post(f"/stations/{sid}/charging_profile",
                                              json=body))
        assert sorted(found) == sorted(expected), (body, found)
        for key, part in expected.items():
            assert part in found[key], (body, found)
    assert await rows(http, sid) == {}
    assert held(sim) == {}
