"""API documentation pages: Swagger UI at /docs, ReDoc at /redoc, the OpenAPI schema."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(("path", "marker"), [("/docs", "swagger-ui"), ("/redoc", "Redoc")])
async def test_documentation_pages_are_html(
    http: httpx.AsyncClient, path: str, marker: str
) -> None:
    response = await http.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert marker in response.text
    assert "<title>chargeplan</title>" in response.text


async def test_the_schema_lists_every_endpoint_with_descriptions(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/docs/openapi.json")).json()

    assert schema["info"]["title"] == "chargeplan"
    assert {
        "/stations", "/stations/{station_id}", "/stations/{station_id}/logs",
        "/id_tags", "/id_tags/{id_tag}", "/audit", "/health",
    } <= set(schema["paths"])
    station = schema["components"]["schemas"]["StationView"]["properties"]
    assert "password_hash" not in station
    assert all(field.get("description") for field in station.values() if "$ref" not in field)
