"""API documentation: Swagger UI at /docs, ReDoc at /redoc, and an OpenAPI document in
which every operation, parameter, response and field is typed and described."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.domain.ownership import OwnerKind
from app.domain.states import (
    CommandStatus,
    DeliveryState,
    VerificationOutcome,
    VerificationState,
)
from app.main import create_app
from tests.conftest import make_settings

# The document the server serves, built by the same factory; no server is needed to build
# it, so each operation and schema becomes its own test case.
DOCUMENT: dict[str, Any] = create_app(
    make_settings("sqlite+aiosqlite:///:memory:")).openapi_schema.to_schema()
TYPED = ("type", "$ref", "oneOf", "anyOf", "allOf")
OPERATIONS = {
    f"{method.upper()} {path}": operation
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if isinstance(operation, dict) and "responses" in operation
}


def undocumented_fields(schema: Any, where: str) -> Iterator[str]:
    """Every property, at any depth, that lacks a type or a description. A ``$ref``
    property is described by the schema it points to, which is checked on its own."""
    if not isinstance(schema, dict):
        return
    for name, field in (schema.get("properties") or {}).items():
        at = f"{where}.{name}"
        if not any(key in field for key in TYPED):
            yield f"{at}: no type"
        if "$ref" not in field and not field.get("description"):
            yield f"{at}: no description"
        yield from undocumented_fields(field, at)
    for key in ("items", "additionalProperties"):
        yield from undocumented_fields(schema.get(key), f"{where}[]")
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(key) or []:
            yield from undocumented_fields(branch, where)


@pytest.mark.parametrize(("path", "marker"), [("/docs", "swagger-ui"), ("/redoc", "Redoc")])
async def test_documentation_pages_are_html(
    http: httpx.AsyncClient, path: str, marker: str
) -> None:
    response = await http.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert marker in response.text
    assert "<title>chargeplan</title>" in response.text


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_documentation_pages_work_offline(http: httpx.AsyncClient, path: str) -> None:
    """Every script, style and icon of the page comes from this server: the HTML names no
    outside host, and each asset it references is served."""
    page = (await http.get(path)).text
    # The OpenAPI document is inlined in the Swagger page; the page around it is what loads.
    around = re.sub(r"spec: \{.*?\n\s*\},?\n", "", page, flags=re.DOTALL)
    assert re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", around) == []

    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert any(asset.endswith(".js") for asset in assets), page
    for asset in assets:
        assert asset.startswith("/docs/assets/"), asset
        answer = await http.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 100
    policy = (await http.get(path)).headers["content-security-policy"]
    assert "https:" not in policy


async def test_the_served_schema_lists_every_endpoint(http: httpx.AsyncClient) -> None:
    assert (await http.get("/openapi.json")).json() == (await http.get("/docs/openapi.json")).json()
    schema = (await http.get("/docs/openapi.json")).json()

    assert schema["info"]["title"] == "chargeplan"
    assert schema["paths"] == DOCUMENT["paths"]
    assert {
        "/stations", "/stations/{station_id}", "/stations/{station_id}/logs",
        "/stations/{station_id}/charging_profile", "/stations/{station_id}/charging_profiles",
        "/stations/{station_id}/composite_schedule",
        "/stations/{station_id}/composite_schedule/preview",
        "/stations/{station_id}/test_profiles",
        "/id_tags", "/id_tags/{id_tag}", "/audit", "/health", "/transactions",
        "/stations/{station_id}/transactions", "/plans", "/tariffs",
    } <= set(schema["paths"])
    # The description covers the whole product, not its first three parts.
    for part in ("transactions", "plans", "tariffs", "commands", "jobs", "audit"):
        assert part in schema["info"]["description"]
    assert "password_hash" not in schema["components"]["schemas"]["StationView"]["properties"]


@pytest.mark.parametrize("name", sorted(DOCUMENT["components"]["schemas"]))
def test_every_field_of_a_schema_is_typed_and_described(name: str) -> None:
    schema = DOCUMENT["components"]["schemas"][name]

    assert list(undocumented_fields(schema, name)) == []


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_is_summarised_with_its_answers_documented(label: str) -> None:
    operation = OPERATIONS[label]
    gaps = [] if operation.get("summary") else ["no summary"]
    for parameter in operation.get("parameters", []):
        if not parameter.get("description"):
            gaps.append(f"parameter {parameter['name']}: no description")
        if not any(key in parameter.get("schema", {}) for key in TYPED):
            gaps.append(f"parameter {parameter['name']}: no type")
    for media in (operation.get("requestBody") or {}).get("content", {}).values():
        gaps.extend(undocumented_fields(media.get("schema"), "body"))
    for code, response in operation["responses"].items():
        if not response.get("description"):
            gaps.append(f"{code}: no description")
        for media in (response.get("content") or {}).values():
            gaps.extend(undocumented_fields(media.get("schema"), code))

    assert gaps == []


@pytest.mark.parametrize("label", sorted(label for label in OPERATIONS
                                         if "{station_id}" in label or "{id_tag}" in label))
def test_operations_on_one_resource_document_its_absence(label: str) -> None:
    responses = OPERATIONS[label]["responses"]

    assert "404" in responses
    assert responses["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorView"}


def enum_at(schema_name: str, field: str) -> set[str]:
    """The values the document allows for a field (an enum, directly or by $ref)."""
    prop = DOCUMENT["components"]["schemas"][schema_name]["properties"][field]
    for branch in [prop, *(prop.get("oneOf") or prop.get("anyOf") or prop.get("allOf") or [])]:
        if "$ref" in branch:
            branch = DOCUMENT["components"]["schemas"][branch["$ref"].rsplit("/", 1)[1]]
        if "enum" in branch:
            return set(branch["enum"])
    raise AssertionError(f"{schema_name}.{field} has no enum: {prop}")


@pytest.mark.parametrize(("schema_name", "field", "states"), [
    ("DesiredProfileView", "state", set(DeliveryState)),
    ("StationStatusView", "state", set(DeliveryState) | {"missing"}),
    ("StationStatusView", "verification_state", set(VerificationState)),
    ("VerificationView", "state", set(VerificationState)),
    ("ComparisonView", "outcome", set(VerificationOutcome)),
    ("DesiredProfileView", "owner_kind", set(OwnerKind)),
    ("CommandResponse", "status", set(CommandStatus)),
])
def test_the_api_documents_every_state_the_code_writes(
        schema_name: str, field: str, states: set[str]) -> None:
    assert enum_at(schema_name, field) == states


def test_building_the_app_uses_no_deprecated_litestar_style() -> None:
    """Each deprecated declaration warns once per app, and the suite builds hundreds of
    apps: one of them made thousands of warnings. Declare bodies with JSONBody, path
    parameters with FromPath, renamed query parameters with QueryParameter(name=...)."""
    from litestar.utils.deprecation import LitestarDeprecationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        create_app(make_settings("sqlite+aiosqlite:///:memory:"))

    assert [str(w.message) for w in caught
            if issubclass(w.category, LitestarDeprecationWarning)] == []


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_every_reference_resolves_inside_the_document() -> None:
    # The security extension's OCPP schemas carry "#/definitions/..." references of their
    # own; embedded as they are, those point at the document's root and ReDoc refuses the
    # whole document.
    refs = set(references(DOCUMENT))
    assert refs, "the document uses components"
    for ref in sorted(refs):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in DOCUMENT["components"]["schemas"], ref
