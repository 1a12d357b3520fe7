"""/id_tags over real HTTP: the central list Authorize checks, and its error paths."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import RunningServer


async def test_a_created_tag_is_listed_and_read_back(http: httpx.AsyncClient) -> None:
    created = await http.post(
        "/id_tags",
        json={"id_tag": "TAG-1", "status": "Accepted", "expiry_date": None, "parent_id_tag": None},
    )

    assert created.status_code == 201
    body = created.json()
    assert (body["id_tag"], body["status"], body["expiry_date"]) == ("TAG-1", "Accepted", None)
    assert [t["id_tag"] for t in (await http.get("/id_tags")).json()] == ["TAG-1"]
    assert (await http.get("/id_tags/TAG-1")).json() == body


async def test_status_defaults_to_accepted(http: httpx.AsyncClient) -> None:
    created = await http.post("/id_tags", json={"id_tag": "TAG-2"})

    assert created.json()["status"] == "Accepted"


async def test_an_expiry_without_offset_is_utc_and_authorize_honours_it(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    created = await http.post(
        "/id_tags", json={"id_tag": "OLD", "expiry_date": "2020-01-01T10:00:00"}
    )

    assert created.status_code == 201
    expiry = datetime.fromisoformat(created.json()["expiry_date"])
    assert expiry == datetime(2020, 1, 1, 10, 0, tzinfo=UTC)
    info = await server.services.id_tags.id_tag_info("OLD")
    assert info["status"] == "Expired"


async def test_put_replaces_the_whole_entry(http: httpx.AsyncClient) -> None:
    await http.post(
        "/id_tags",
        json={"id_tag": "TAG-3", "expiry_date": "2030-01-01T00:00:00Z", "parent_id_tag": "FLEET"},
    )

    replaced = await http.put("/id_tags/TAG-3", json={"status": "Blocked"})

    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["status"], body["expiry_date"], body["parent_id_tag"]) == ("Blocked", None, None)
    assert (await http.get("/id_tags/TAG-3")).json()["status"] == "Blocked"


async def test_a_deleted_tag_is_gone(http: httpx.AsyncClient) -> None:
    await http.post("/id_tags", json={"id_tag": "TAG-4"})

    deleted = await http.delete("/id_tags/TAG-4")

    assert deleted.status_code == 204
    assert (await http.get("/id_tags/TAG-4")).status_code == 404


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("GET", None),
        ("PUT", {"status": "Accepted"}),
        ("DELETE", None),
    ],
)
async def test_an_unknown_tag_is_404_naming_it(
    shared_http: httpx.AsyncClient, method: str, body: object
) -> None:
    response = await shared_http.request(method, "/id_tags/NOPE", json=body)

    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": "id_tag 'NOPE' not found"}


async def test_adding_a_tag_twice_is_a_conflict(http: httpx.AsyncClient) -> None:
    await http.post("/id_tags", json={"id_tag": "TAG-5"})

    again = await http.post("/id_tags", json={"id_tag": "TAG-5", "status": "Blocked"})

    assert again.status_code == 409
    assert (await http.get("/id_tags/TAG-5")).json()["status"] == "Accepted"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id_tag": "X" * 37}, "id_tag"),
        ({"id_tag": ""}, "id_tag"),
        ({}, "id_tag"),
        ({"id_tag": "T", "status": "Maybe"}, "status"),
        ({"id_tag": "T", "status": "ConcurrentTx"}, "status"),
        ({"id_tag": "T", "expiry_date": "soon"}, "expiry_date"),
    # Valid ISO 8601, but past the last instant UTC can represent.
    ({"id_tag": "T", "expiry_date": "9999-12-31T23:00:00-05:00"}, "expiry_date"),
        ({"id_tag": "T", "parent_id_tag": "P" * 37}, "parent_id_tag"),
    ],
)
async def test_a_bad_tag_is_400_naming_the_field(
    shared_http: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await shared_http.post("/id_tags", json=body)

    assert response.status_code == 400
    assert field in [entry.get("key") for entry in response.json()["extra"]]
    assert (await shared_http.get("/id_tags")).json() == []


async def test_a_bad_replacement_is_400_and_changes_nothing(http: httpx.AsyncClient) -> None:
    await http.post("/id_tags", json={"id_tag": "TAG-6"})

    response = await http.put("/id_tags/TAG-6", json={"parent_id_tag": "P" * 37})

    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "parent_id_tag"
    assert (await http.get("/id_tags/TAG-6")).json()["parent_id_tag"] is None
