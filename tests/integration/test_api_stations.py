"""/stations over real HTTP: registry CRUD, the station view, and every error path."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import RunningServer

PASSWORD = "s3cret-key-16bytes"  # 18 bytes: inside the 16..20 rule


async def test_a_pre_registered_station_is_listed_with_unknown_capabilities(
    http: httpx.AsyncClient,
) -> None:
    created = await http.post("/stations",
                              json={"station_id": "CP-1", "tags": ["depot", "ac", "depot"]})
    assert created.status_code == 201
    listed = (await http.get("/stations")).json()

    assert [s["station_id"] for s in listed] == ["CP-1"]
    station = listed[0]
    assert station["online"] is False
    assert station["has_password"] is False
    assert station["tags"] == ["ac", "depot"]
    assert station["connectors"] == []
    assert station["configuration"] is None
    # Never reported is null (unknown), not false.
    assert station["capabilities"] == {
        "supported_feature_profiles": None,
        "charge_profile_max_stack_level": None,
        "charging_schedule_allowed_charging_rate_unit": None,
        "charging_schedule_max_periods": None,
        "max_charging_profiles_installed": None,
        "number_of_connectors": None,
        "smart_charging": None,
    }


async def test_station_view_shows_what_the_station_reported(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await http.post("/stations", json={"station_id": "CP-2"})
    stations = server.services.stations
    await stations.boot(
        "CP-2",
        {
            "chargePointVendor": "Acme",
            "chargePointModel": "Wall",
            "chargePointSerialNumber": "SN1",
            "firmwareVersion": "1.2",
        },
    )
    seen = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    await stations.status(
        "CP-2", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"}, seen
    )
    await stations.store_configuration(
        "CP-2",
        [
            {"key": "SupportedFeatureProfiles", "value": "Core,SmartCharging", "readonly": True},
            {"key": "ChargeProfileMaxStackLevel", "value": "8", "readonly": True},
            {
                "key": "ChargingScheduleAllowedChargingRateUnit",
                "value": "Current",
                "readonly": True,
            },
        ],
        unknown=[],
    )

    body = (await http.get("/stations/CP-2")).json()

    assert (body["vendor"], body["model"], body["serial_number"]) == ("Acme", "Wall", "SN1")
    assert body["firmware_version"] == "1.2"
    assert body["last_boot_at"] is not None
    [connector] = body["connectors"]
    assert connector["connector_id"] == 1
    assert connector["status"] == "Charging"
    assert connector["error_code"] == "NoError"
    assert datetime.fromisoformat(connector["status_timestamp"]) == seen
    caps = body["capabilities"]
    assert caps["smart_charging"] is True
    assert caps["supported_feature_profiles"] == ["Core", "SmartCharging"]
    assert caps["charge_profile_max_stack_level"] == 8
    assert caps["charging_schedule_allowed_charging_rate_unit"] == ["Current"]
    assert caps["max_charging_profiles_installed"] is None
    assert body["configuration"]["ChargeProfileMaxStackLevel"] == {"value": "8", "readonly": True}
    assert body["configuration_read_at"].endswith("Z")


async def test_a_station_without_smart_charging_says_so(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await http.post("/stations", json={"station_id": "CP-3"})
    await server.services.stations.store_configuration(
        "CP-3", [{"key": "SupportedFeatureProfiles", "value": "Core", "readonly": True}], []
    )

    caps = (await http.get("/stations/CP-3")).json()["capabilities"]

    assert caps["smart_charging"] is False


async def test_password_is_set_replaced_and_removed_without_touching_tags(
    http: httpx.AsyncClient,
) -> None:
    created = await http.post(
        "/stations", json={"station_id": "CP-4", "password": PASSWORD, "tags": ["a"]}
    )
    assert created.json()["has_password"] is True

    replaced = await http.patch("/stations/CP-4", json={"password": "another-key-16byte"})
    assert replaced.status_code == 200
    assert replaced.json()["has_password"] is True

    removed = await http.patch("/stations/CP-4", json={"password": None})
    assert removed.json()["has_password"] is False
    assert removed.json()["tags"] == ["a"]


async def test_patching_tags_keeps_the_password(http: httpx.AsyncClient) -> None:
    await http.post("/stations", json={"station_id": "CP-5", "password": PASSWORD})

    patched = (await http.patch("/stations/CP-5", json={"tags": ["b", "a", "b"]})).json()

    assert patched["tags"] == ["a", "b"]
    assert patched["has_password"] is True


async def test_a_deleted_station_is_gone(http: httpx.AsyncClient) -> None:
    await http.post("/stations", json={"station_id": "CP-6"})

    deleted = await http.delete("/stations/CP-6")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await http.get("/stations/CP-6")).status_code == 404
    assert (await http.get("/stations")).json() == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/stations/NOPE", None),
        ("PATCH", "/stations/NOPE", {"tags": []}),
        ("DELETE", "/stations/NOPE", None),
        ("GET", "/stations/NOPE/logs", None),
    ],
)
async def test_an_unknown_station_is_404_naming_it(
    shared_http: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    response = await shared_http.request(method, path, json=body)

    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": "station 'NOPE' not found"}


async def test_registering_a_station_twice_is_a_conflict(http: httpx.AsyncClient) -> None:
    await http.post("/stations", json={"station_id": "CP-7"})

    again = await http.post("/stations", json={"station_id": "CP-7"})

    assert again.status_code == 409
    assert "CP-7" in again.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"station_id": "CP-8", "password": "short"}, "password"),
        ({"station_id": "CP-8", "password": "x" * 21}, "password"),
        ({"station_id": "has/slash"}, "station_id"),
        ({"station_id": ""}, "station_id"),
        ({"station_id": 42}, "station_id"),
        ({}, "station_id"),
        ({"station_id": "CP-8", "tags": "depot"}, "tags"),
        ({"station_id": "CP-8", "tags": [""]}, "tags"),
        ({"station_id": "CP-8", "colour": "red"}, "colour"),
    ],
)
async def test_bad_registration_is_400_naming_the_field(
    shared_http: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await shared_http.post("/stations", json=body)

    assert response.status_code == 400
    error = response.json()
    assert error["status_code"] == 400
    assert field in [entry["key"].split("[")[0] for entry in error["extra"]]
    assert (await shared_http.get("/stations")).json() == []


@pytest.mark.parametrize("station_id", [
    "..", ".", "ocpp", "';DROP-TABLE-stations;--", "$(id)", "A\n", "x" * 49, "café", "a b",
    "a:b", "a@b",
])
async def test_a_station_id_outside_the_rule_is_400_naming_the_rule(
    shared_http: httpx.AsyncClient, station_id: str
) -> None:
    response = await shared_http.post("/stations", json={"station_id": station_id})

    assert response.status_code == 400
    [entry] = response.json()["extra"]
    assert entry["key"] == "station_id"
    assert "1 to 48 characters" in entry["message"]
    assert "A-Z a-z 0-9 - . _ ~" in entry["message"]
    assert (await shared_http.get("/stations")).json() == []


async def test_a_48_character_station_id_is_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post("/stations", json={"station_id": "S" * 48})

    assert response.status_code == 201


async def test_the_password_rule_is_spelled_out(http: httpx.AsyncClient) -> None:
    response = await http.post("/stations", json={"station_id": "CP-9", "password": "short"})

    [entry] = response.json()["extra"]
    assert entry["key"] == "password"
    assert "16 to 20 bytes" in entry["message"]


async def test_a_body_that_is_not_json_is_400_not_500(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/stations", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 400


async def test_a_bad_password_patch_leaves_the_old_one(http: httpx.AsyncClient) -> None:
    await http.post("/stations", json={"station_id": "CP-10", "password": PASSWORD})

    response = await http.patch("/stations/CP-10", json={"password": "short"})

    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "password"
    assert (await http.get("/stations/CP-10")).json()["has_password"] is True


async def test_the_password_hash_never_leaves_the_server(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    await http.post("/stations", json={"station_id": "CP-11", "password": PASSWORD})
    await http.patch("/stations/CP-11", json={"password": "another-key-16byte"})
    stored = await server.services.stations.get("CP-11")
    assert stored.password_hash is not None

    bodies = [
        (await http.get("/stations")).text,
        (await http.get("/stations/CP-11")).text,
        (await http.patch("/stations/CP-11", json={"tags": ["x"]})).text,
        (await http.get("/docs/openapi.json")).text,
    ]

    for body in bodies:
        assert stored.password_hash not in body
        assert "pbkdf2" not in body
        assert "password_hash" not in body
        assert "another-key-16byte" not in body
