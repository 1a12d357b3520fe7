"""/transactions/{id}/needs over real HTTP, with transactions made over a real websocket
(a real SQLite file, and PostgreSQL): each source of a session's need, their precedence,
and the error paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.db.engine import Database
from app.services.load.needs import NeedService
from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.integration.test_fleet_reconcile import counted_statements
from tests.integration.test_load_management import ACCEPTING
from tests.ocpp_client import RawStation, raw_station


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest) -> Settings:
    # The history's window function and the JSON default on both databases.
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_head_url"
    url: str = request.getfixturevalue(fixture)
    return make_settings(url, circuit_debounce_s=0.05, reconcile_interval_s=3600,
                         verify_interval_s=3600, circuit_replan_interval_s=1700,
                         circuit_lease_s=3600)


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


async def begin(cp: RawStation, tag: str, at: datetime, *, connector: int = 1,
                meter_start: int = 0) -> int:
    answer = await cp.ok("StartTransaction", {"connectorId": connector, "idTag": tag,
                                              "meterStart": meter_start,
                                              "timestamp": stamp(at)})
    return int(answer["transactionId"])


async def past_session(cp: RawStation, tag: str, started: datetime, hours: float,
                       wh: int) -> None:
    tx_id = await begin(cp, tag, started, connector=2)
    await cp.ok("StopTransaction", {"transactionId": tx_id, "meterStop": wh,
                                    "timestamp": stamp(started + timedelta(hours=hours))})


async def needs(http: httpx.AsyncClient, tx_id: int) -> dict[str, Any]:
    answer = await http.get(f"/transactions/{tx_id}/needs")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_each_source_overrides_the_next_and_deleting_the_request_falls_back(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/id_tags", json={"id_tag": "VAN"})
    started = datetime.now(UTC).replace(microsecond=0)
    async with raw_station(server.station_url("CP-A"), answers=dict(ACCEPTING)) as cp:
        await cp.boot()
        tx_id = await begin(cp, "VAN", started)

        nothing = await needs(http, tx_id)
        assert (nothing["source"], nothing["energy_kwh"], nothing["plan"]) == \
            ("none", None, False)

        # The circuit's default stay: as much as it can take by start + 8 h.
        await http.post("/circuits", json={"id": "work", "max_current_a": 32,
                                           "default_dwell_s": 8 * 3600})
        await http.patch("/stations/CP-A", json={"circuit_id": "work"})
        circuit = await needs(http, tx_id)
        assert (circuit["source"], circuit["energy_kwh"], circuit["remaining_kwh"],
                circuit["plan"]) == ("circuit_default", None, None, True)
        assert when(circuit["departure"]) == started + timedelta(hours=8)
        assert circuit["detail"] == {"circuit_id": "work", "default_dwell_s": 8 * 3600}

        # Three ended sessions of the tag: the medians of 8/10/9 h and 20/30/25 kWh.
        for days, hours, wh in ((3, 8, 20_000), (2, 10, 30_000), (1, 9, 25_000)):
            await past_session(cp, "VAN", started - timedelta(days=days), hours, wh)
        history = await needs(http, tx_id)
        assert (history["source"], history["energy_kwh"]) == ("history", 25.0)
        assert when(history["departure"]) == started + timedelta(hours=9)
        assert history["detail"] == {"id_tag": "VAN", "sessions": 3,
                                     "median_dwell_s": 9 * 3600}

        # The tag's default: 60 kWh by the next 06:00 in Berlin after the start.
        default = {"energy_kwh": 60, "departure_local": "06:00", "timezone": "Europe/Berlin"}
        patched = await http.patch("/id_tags/VAN", json={"default_needs": default})
        assert patched.status_code == 200, patched.text
        assert (await http.get("/id_tags/VAN")).json()["default_needs"] == \
            {**default, "energy_kwh": 60.0}
        local = started.astimezone(ZoneInfo("Europe/Berlin"))
        six = local.replace(hour=6, minute=0, second=0)
        six = six if six > local else (local + timedelta(days=1)).replace(
            hour=6, minute=0, second=0)
        tagged = await needs(http, tx_id)
        assert (tagged["source"], tagged["energy_kwh"]) == ("id_tag", 60.0)
        assert when(tagged["departure"]) == six.astimezone(UTC)
        assert tagged["detail"]["id_tag"] == "VAN"

        # A request beats them all; withdrawing it falls back to the tag's default.
        leaves = started + timedelta(hours=3)
        put = await http.put(f"/transactions/{tx_id}/needs",
                             json={"energy_kwh": 12.5, "departure": stamp(leaves)})
        assert put.status_code == 200, put.text
        assert (put.json()["source"], put.json()["energy_kwh"], put.json()["plan"]) == \
            ("request", 12.5, True)
        assert when(put.json()["departure"]) == leaves
        assert (await needs(http, tx_id))["source"] == "request"
        dropped = await http.delete(f"/transactions/{tx_id}/needs")
        assert dropped.status_code == 200, dropped.text
        assert (dropped.json()["source"], dropped.json()["requested"]) == ("id_tag", None)

        await http.patch("/id_tags/VAN", json={"default_needs": None})
        assert (await needs(http, tx_id))["source"] == "history"


async def test_delivered_follows_the_energy_register_less_meter_start(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/id_tags", json={"id_tag": "CAR"})
    started = datetime.now(UTC).replace(microsecond=0)
    async with raw_station(server.station_url("CP-A"), answers=dict(ACCEPTING)) as cp:
        await cp.boot()
        tx_id = await begin(cp, "CAR", started, meter_start=1000)
        await http.put(f"/transactions/{tx_id}/needs", json={
            "energy_kwh": 10, "departure": stamp(started + timedelta(hours=4))})
        assert ((await needs(http, tx_id))["delivered_kwh"]) == 0.0

        for value, unit, delivered in (("3500", "Wh", 2.5), ("5.0", "kWh", 4.0)):
            await cp.ok("MeterValues", {"connectorId": 1, "transactionId": tx_id,
                                        "meterValue": [{"timestamp": stamp(datetime.now(UTC)),
                                                        "sampledValue": [{"value": value,
                                                                          "unit": unit}]}]})
            need = await needs(http, tx_id)
            assert (need["delivered_kwh"], need["remaining_kwh"]) == (delivered, 10 - delivered)

        # A state of charge is measured now: its gap comes on top of what was delivered.
        soc = await http.put(f"/transactions/{tx_id}/needs", json={
            "target_soc": 80, "soc": 30, "battery_kwh": 60,
            "departure": stamp(started + timedelta(hours=4))})
        assert (soc.json()["energy_kwh"], soc.json()["remaining_kwh"]) == (34.0, 30.0)


async def test_a_past_departure_or_no_energy_is_kept_without_a_plan_and_soc_gives_energy(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    started = datetime.now(UTC).replace(microsecond=0)
    async with raw_station(server.station_url("CP-A"), answers=dict(ACCEPTING)) as cp:
        await cp.boot()
        tx_id = await begin(cp, "ANY", started)
        path = f"/transactions/{tx_id}/needs"
        later = stamp(started + timedelta(hours=5))

        gone = await http.put(path, json={"energy_kwh": 10,
                                          "departure": stamp(started - timedelta(hours=1))})
        assert gone.status_code == 200, gone.text
        assert (gone.json()["plan"], gone.json()["reason"]) == (False, "departure has passed")

        zero = await http.put(path, json={"energy_kwh": 0, "departure": later})
        assert (zero.json()["plan"], zero.json()["reason"]) == (False, "energy_kwh is 0")

        soc = await http.put(path, json={"target_soc": 80, "soc": 30, "battery_kwh": 60,
                                         "departure": later})
        assert soc.status_code == 200, soc.text
        assert (soc.json()["energy_kwh"], soc.json()["plan"]) == (30.0, True)
        assert soc.json()["requested"]["target_soc"] == 80.0


@pytest.mark.parametrize(("body", "field"), [
    ({"energy_kwh": -1, "departure": "2030-01-01T06:00:00Z"}, "energy_kwh"),
    ({"energy_kwh": 5, "departure": "2030-01-01T06:00:00"}, "departure"),
    ({"energy_kwh": 5}, "departure"),
    ({"target_soc": 80, "battery_kwh": 60, "departure": "2030-01-01T06:00:00Z"}, "soc"),
    ({"target_soc": 80, "soc": 20, "departure": "2030-01-01T06:00:00Z"}, "battery_kwh"),
    ({"departure": "2030-01-01T06:00:00Z"}, "energy_kwh"),
    ({"target_soc": 120, "soc": 20, "battery_kwh": 60, "departure": "2030-01-01T06:00:00Z"},
     "target_soc"),
])
async def test_a_bad_need_is_400_naming_the_field(
    server: RunningServer, http: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    async with raw_station(server.station_url("CP-A"), answers=dict(ACCEPTING)) as cp:
        await cp.boot()
        tx_id = await begin(cp, "ANY", datetime.now(UTC))
        answer = await http.put(f"/transactions/{tx_id}/needs", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["extra"][0]["key"] == field


@pytest.mark.parametrize(("default", "field"), [
    ({"energy_kwh": 60, "departure_local": "06:00", "timezone": "Mars/Olympus"},
     "default_needs.timezone"),
    ({"energy_kwh": 60, "departure_local": "6am", "timezone": "Europe/Berlin"},
     "default_needs.departure_local"),
    ({"energy_kwh": -1, "departure_local": "06:00", "timezone": "Europe/Berlin"},
     "default_needs.energy_kwh"),
])
async def test_a_bad_id_tag_default_is_400_naming_the_field(
    http: httpx.AsyncClient, default: dict[str, Any], field: str
) -> None:
    await http.post("/id_tags", json={"id_tag": "VAN"})
    answer = await http.patch("/id_tags/VAN", json={"default_needs": default})
    assert answer.status_code == 400, answer.text
    assert answer.json()["extra"][0]["key"] == field
    assert (await http.get("/id_tags/VAN")).json()["default_needs"] is None


async def test_a_circuits_default_dwell_is_kept_changed_and_checked(
    http: httpx.AsyncClient
) -> None:
    created = await http.post("/circuits", json={"id": "work", "max_current_a": 32,
                                                 "default_dwell_s": 28800})
    assert created.json()["default_dwell_s"] == 28800
    changed = await http.patch("/circuits/work", json={"default_dwell_s": None})
    assert (await http.get("/circuits/work")).json()["default_dwell_s"] is None
    assert changed.status_code == 200
    bad = await http.patch("/circuits/work", json={"default_dwell_s": -5})
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "default_dwell_s"


async def test_needs_of_many_sessions_costs_the_same_statements_as_of_one(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    started = datetime.now(UTC).replace(microsecond=0)
    async with raw_station(server.station_url("CP-A"), answers=dict(ACCEPTING)) as cp:
        await cp.boot()
        for days in (1, 2, 3):
            await past_session(cp, "VAN", started - timedelta(days=days), 8, 20_000)
        ids = [await begin(cp, tag, started, connector=connector)
               for connector, tag in enumerate(("VAN", "CAR", "BUS", "VAN"), start=3)]
    # A database of its own on the same file: the server's own statements stay out.
    db = Database(server.settings.database_url)
    service = NeedService(db)
    try:
        with counted_statements(db) as one:
            assert (await service.needs_of(ids[:1]))[ids[0]].source == "history"
        with counted_statements(db) as many:
            found = await service.needs_of(ids)
    finally:
        await db.dispose()
    assert [found[i].source for i in ids] == ["history", "none", "none", "history"]
    assert len(many) == len(one) == 5


async def test_unknown_is_404_and_ended_is_409(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    assert (await http.get("/transactions/99999/needs")).status_code == 404
    async with raw_station(server.station_url("CP-A"), answers=dict(ACCEPTING)) as cp:
        await cp.boot()
        tx_id = await begin(cp, "ANY", datetime.now(UTC))
        await cp.ok("StopTransaction", {"transactionId": tx_id, "meterStop": 10,
                                        "timestamp": stamp(datetime.now(UTC))})
    for method in ("GET", "PUT", "DELETE"):
        answer = await http.request(method, f"/transactions/{tx_id}/needs", json={
            "energy_kwh": 1, "departure": "2030-01-01T00:00:00Z"} if method == "PUT" else None)
        assert answer.status_code == 409, (method, answer.text)
