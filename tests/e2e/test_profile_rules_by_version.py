"""A profile refused over REST cites the rules of the OCPP version its station speaks: the
same requests to a simulated 1.6 station and a simulated 2.0.1 one (the real simulator,
on the real server) cite OCPP 1.6 sections and OCPP 2.0.1 requirements, each naming the
field as the request spells it. A plan over both reports each station's own refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, make_settings, start_server, stop_server
from tests.e2e.harness import eventually, simulated

V201 = "OCPP 2.0.1 Part 2"
# What each version cites for the same broken rule.
CITES = {
    "1.6": {"tx_id": "OCPP 1.6 §5.16", "unit": "OCPP 1.6 §9.4", "place": "OCPP 1.6 §3.8"},
    "2.0.1": {"tx_id": f"{V201} K01.FR.03", "unit": f"{V201} K01.FR.26",
              "place": f"{V201} K01.FR.28"},
}


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    # Circuits solve at once after a change.
    running = await start_server(make_settings(sqlite_url, circuit_debounce_s=0.05))
    try:
        yield running
    finally:
        await stop_server(running)


def tx_default(limit: float, *, stack: int = 1, unit: str = "A",
               **changes: Any) -> dict[str, Any]:
    return {"stackLevel": stack, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": unit,
                                 "chargingSchedulePeriod": [{"startPeriod": 0,
                                                             "limit": limit}]},
            **changes}


async def refused(answer: httpx.Response) -> list[tuple[str, str]]:
    assert answer.status_code == 400, answer.text
    return [(e["key"], e["message"]) for e in answer.json()["extra"]]


def station(version: str) -> dict[str, Any]:
    # Both list only A (1.6 ChargingScheduleAllowedChargingRateUnit Current, 2.0.1
    # SmartChargingCtrlr.RateUnit A).
    return {"ocpp_version": version, "allowed_units": "Current", "connectors": 2,
            "id_prefix": f"V{version.replace('.', '')}-"}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_refusals_cite_the_rules_of_the_station_version(
    server: RunningServer, http: httpx.AsyncClient, version: str
) -> None:
    cites = CITES[version]
    async with simulated(server, http, **station(version)) as sim:
        (sid,) = sim.stations
        url = f"/stations/{sid}/charging_profile"
        assert (await http.get(f"/stations/{sid}")).json()["ocpp_version"] == version

        tx = {**tx_default(16), "chargingProfilePurpose": "TxProfile"}
        assert await refused(await http.post(url, json={"connector_id": 1, "profile": tx})) \
            == [("profile.transactionId", _message(version, "transactionId", cites["tx_id"]))]

        watts = await refused(await http.post(url, json={
            "connector_id": 1, "profile": tx_default(7000, unit="W")}))
        assert [(key, message.endswith(f"({cites['unit']})")) for key, message in watts] == [
            ("profile.chargingSchedule.chargingRateUnit", True)]

        beyond = await refused(await http.post(url, json={"connector_id": 3,
                                                          "profile": tx_default(16)}))
        assert [(key, message.endswith(f"({cites['place']})")) for key, message in beyond] == [
            ("connector_id", True)]

        # The command spells the fields as SetChargingProfile does.
        command = await refused(await http.post(
            f"/stations/{sid}/commands/SetChargingProfile",
            json={"connectorId": 1, "csChargingProfiles": {**tx, "chargingProfileId": 90}}))
        assert command == [("csChargingProfiles.transactionId",
                            _message(version, "transactionId", cites["tx_id"]))]


def _message(version: str, field: str, cite: str) -> str:
    if version == "1.6":
        return f"is required for a TxProfile ({cite})"
    # The conversion to 2.0.1 refuses it before anything is sent.
    return f"a 2.0.1 TxProfile names the station's transaction (a string) ({cite})"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_second_profile_on_the_same_stack_level(
    server: RunningServer, http: httpx.AsyncClient, version: str
) -> None:
    async with simulated(server, http, **station(version)) as sim:
        (sid,) = sim.stations
        url = f"/stations/{sid}/charging_profile"
        first = await http.post(url, json={"connector_id": 1, "profile": tx_default(16)})
        assert first.status_code == 200, first.text
        first_id = first.json()["profile_id"]
        second = await http.post(url, json={"connector_id": 1, "profile": tx_default(10)})
        if version == "1.6":
            # The charger's rule (OCPP 1.6 §5.16.3): the second replaces the first.
            assert second.status_code == 200, second.text
        else:
            # A 2.0.1 central system SHALL NOT send it beside the first (K01.FR.06).
            assert await refused(second) == [(
                "profile.stackLevel", f"profile {first_id} has the same stackLevel, purpose "
                f"and evseId, valid at the same time ({V201} K01.FR.06)")]
            # The same profile replaced by its id (K01.FR.05): sent.
            replaced = await http.post(url, json={"connector_id": 1, "profile": {
                **tx_default(10), "chargingProfileId": first_id}})
            assert replaced.status_code == 200, replaced.text
        # Another EVSE: no clash in either version.
        other = await http.post(url, json={"connector_id": 2, "profile": tx_default(10)})
        assert other.status_code == 200, other.text
        rows = (await http.get(f"/stations/{sid}/charging_profiles")).json()
        assert sorted((r["connector_id"], r["profile"]["chargingSchedule"]
                       ["chargingSchedulePeriod"][0]["limit"]) for r in rows) == [(1, 10), (2, 10)]


async def test_a_plan_over_both_versions_reports_each_station_refusal_by_its_rules(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http, **station("1.6")) as old, \
            simulated(server, http, **station("2.0.1")) as new:
        (sid16,), (sid201,) = old.stations, new.stations
        for sid in (sid16, sid201):
            held = await http.post(f"/stations/{sid}/charging_profile", json={
                "connector_id": 0, "profile": tx_default(16)})
            assert held.status_code == 200, held.text
        targets = {"station_ids": [sid16, sid201]}

        # A unit neither lists: each station's refusal, by its own version's rules.
        watts = await http.post("/plans", json={"name": "watts", "targets": targets,
                                                "profile": tx_default(7000, unit="W")})
        assert watts.status_code == 201, watts.text
        problems = {p["station_id"]: (p["key"], p["message"].rsplit(" (", 1)[1])
                    for p in watts.json()["applied"]["problems"]}
        assert problems == {
            sid16: ("profile.chargingSchedule.chargingRateUnit", "OCPP 1.6 §9.4)"),
            sid201: ("profile.chargingSchedule.chargingRateUnit", f"{V201} K01.FR.26)")}

        # The stack level of the profile each already holds: the 1.6 station's is
        # replaced (OCPP 1.6 §5.16.3); the 2.0.1 station cannot be sent it beside it.
        amps = await http.post("/plans", json={"name": "amps", "targets": targets,
                                               "profile": tx_default(10)})
        assert amps.status_code == 201, amps.text
        applied = amps.json()["applied"]
        assert applied["stations"] == [sid16]
        assert [(p["station_id"], p["key"], p["message"].endswith(f"({V201} K01.FR.06)"))
                for p in applied["problems"]] == [(sid201, "profile.stackLevel", True)]

        # What no station of the set could take is refused as a whole: by 1.6's rules
        # while any target speaks 1.6, by 2.0.1's when all do.
        tx = {**tx_default(10, stack=2), "chargingProfilePurpose": "TxProfile"}
        for only_targets, cite in (([sid16, sid201], "OCPP 1.6 §5.16"),
                                   ([sid201], f"{V201} K01.FR.03")):
            whole = await refused(await http.post("/plans", json={
                "name": "tx", "targets": {"station_ids": only_targets}, "profile": tx,
                "connector_id": 1}))
            assert [(key, message.endswith(f"({cite})")) for key, message in whole] == [
                ("profile.transactionId", True)]


def station_max(limit: float, stack: int) -> dict[str, Any]:
    return {**tx_default(limit, stack=stack), "chargingProfilePurpose": "ChargePointMaxProfile"}


async def test_a_circuit_cap_takes_its_stack_level_on_a_201_station_and_keeps_it(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    level = server.settings.circuit_stack_level
    async with simulated(server, http, **station("2.0.1")) as sim:
        (sid,) = sim.stations
        url = f"/stations/{sid}/charging_profile"
        mine = await http.post(url, json={
            "connector_id": 0, "profile": station_max(20, level)})
        assert mine.status_code == 200, mine.text

        # The circuit's fail-safe cap takes the level, as on a 1.6 station: it keeps the
        # station within the circuit's rating.
        answer = await http.post("/circuits", json={"id": "site", "max_current_a": 32,
                                                    "connector_count": 2})
        assert answer.status_code == 201, answer.text
        joined = await http.patch(f"/stations/{sid}", json={"circuit_id": "site"})
        assert joined.status_code == 200, joined.text

        async def capped() -> dict[str, Any] | None:
            rows = (await http.get(f"/stations/{sid}/charging_profiles")).json()
            caps = [r for r in rows
                    if r["profile"]["chargingProfilePurpose"] == "ChargePointMaxProfile"]
            return caps[0] if [c["owner_kind"] for c in caps] == ["circuit"] else None

        cap = await eventually(capped)
        # A request for that level beside it is refused, naming the circuit's profile.
        again = await refused(await http.post(url, json={
            "connector_id": 0, "profile": station_max(20, level)}))
        assert again == [("profile.stackLevel", f"profile {cap['profile_id']} has the same "
                          f"stackLevel, purpose and evseId, valid at the same time "
                          f"({V201} K01.FR.06)")]
