"""Bodies of the operator-command endpoints, and each action's request schema for OpenAPI.

Requests are the OCPP 1.6 payloads themselves (camelCase); the official JSON schema of
each action documents its route, so the OpenAPI document shows exactly what the
station will be sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar.openapi.spec import Operation
from msgspec import Meta

from app.db.models import LocalListVersion, Reservation
from app.domain.states import CommandStatus
from app.json_types import JsonObject
from app.services.fleet.commands import CommandResult


@cache
def ocpp_request_schema(action: str) -> JsonObject:
    """The official OCPP 1.6 JSON schema of ``action``'s request (the ``ocpp`` package's)."""
    path = resources.files("ocpp.v16").joinpath("schemas", f"{action}.json")
    schema: JsonObject = json.loads(path.read_text(encoding="utf-8"))
    # Draft-04 bookkeeping that OpenAPI 3.1 does not use.
    schema.pop("$schema", None)
    schema.pop("id", None)
    # The security extension's schemas carry no title; the core ones are "<Action>Request".
    schema.setdefault("title", f"{action}Request")
    # Their "$ref": "#/definitions/..." would point at the root of the OpenAPI document
    # once embedded in it (ReDoc then refuses the whole document): inline them.
    definitions: JsonObject = schema.pop("definitions", {})
    inlined: JsonObject = _inline(schema, definitions)
    return inlined


def _inline(node: Any, definitions: JsonObject) -> Any:
    """``node`` with every local ``#/definitions/`` reference replaced by its target (the
    OCPP schemas have no recursive definitions)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            target = definitions[ref.removeprefix("#/definitions/")]
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**_inline(target, definitions), **_inline(rest, definitions)}
        return {k: _inline(v, definitions) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, definitions) for v in node]
    return node


class OcppRequestOperation(Operation):
    """An operation whose request body is an OCPP 1.6 schema rather than a Python type."""

    action: ClassVar[str] = ""

    def to_schema(self) -> JsonObject:
        result = super().to_schema()
        result["requestBody"] = {
            "required": True,
            "description": f"OCPP 1.6 {self.action}.req, camelCase, exactly as sent",
            "content": {"application/json": {"schema": documented(
                ocpp_request_schema(self.action), f"{self.action}.req")}},
        }
        return result


def documented(schema: JsonObject, where: str) -> JsonObject:
    """A copy of an OCPP schema where every property says which OCPP field it is (the
    official schemas carry no descriptions)."""
    result = dict(schema)
    if "properties" in schema:
        result["properties"] = {
            name: {"description": f"OCPP 1.6 {where} {name}",
                   **documented(field, f"{where} {name}")}
            for name, field in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        result["items"] = documented(schema["items"], where)
    return result


def operation_for(action: str) -> type[Operation]:
    return type(f"{action}Operation", (OcppRequestOperation,), {"action": action})


class CommandErrorView(msgspec.Struct, kw_only=True):
    kind: Annotated[Literal["callerror", "timeout", "offline", "invalid_response"], Meta(
        description="callerror: the station answered CALLERROR; timeout: no answer in time; "
        "offline: not connected (or the socket closed during the call); invalid_response: "
        "the answer broke the OCPP 1.6 schema")]
    reason: Annotated[str, Meta(description="Why, for a person")]
    code: Annotated[str | None, Meta(description="CALLERROR errorCode")] = None
    description: Annotated[str | None, Meta(description="CALLERROR errorDescription")] = None
    details: Annotated[JsonObject | None, Meta(
        description="CALLERROR errorDetails")] = None


class CommandResponse(msgspec.Struct, kw_only=True):
    status: Annotated[CommandStatus, Meta(
        description="success: the station answered with a CALLRESULT (whatever its status "
        "field says); error: it did not, see error")]
    station_id: Annotated[str, Meta(description="Charge point identity")]
    action: Annotated[str, Meta(description="The OCPP 1.6 action sent")]
    request: Annotated[JsonObject, Meta(description="The payload sent (or refused)")]
    response: Annotated[JsonObject | None, Meta(
        description="The station's CALLRESULT payload, verbatim")] = None
    error: Annotated[CommandErrorView | None, Meta(
        description="Why there is no CALLRESULT; null on success")] = None
    pending: Annotated[bool, Meta(
        description="SetChargingProfile/ClearChargingProfile to an offline station: kept as "
        "desired state and carried out when it reconnects")] = False
    warnings: Annotated[list[str], Meta(
        description="Capabilities the station never reported, so not checked")] = []
    desired_profile_id: Annotated[int | None, Meta(
        description="The desired-profile row this command created or serves")] = None
    remote_start_id: Annotated[int | None, Meta(
        description="RemoteStartTransaction with a chargingProfile: the pending remote start "
        "that becomes the transaction's TxProfile when StartTransaction arrives")] = None


def command_response(result: CommandResult) -> CommandResponse:
    error = None
    if result.error is not None:
        e = result.error
        error = CommandErrorView(kind=e.kind,  # type: ignore[arg-type]
                                 reason=e.reason, code=e.code, description=e.description,
                                 details=e.details if isinstance(e.details, dict) else None)
    return CommandResponse(
        status=result.status,  # type: ignore[arg-type]
        station_id=result.station_id, action=result.action, request=result.request,
        response=result.response, error=error, pending=result.pending,
        warnings=result.warnings, desired_profile_id=result.desired_profile_id,
        remote_start_id=result.remote_start_id)


class ReservationView(msgspec.Struct, kw_only=True):
    reservation_id: Annotated[int, Meta(description="ReserveNow.req reservationId")]
    connector_id: Annotated[int, Meta(description="ReserveNow.req connectorId")]
    id_tag: Annotated[str, Meta(description="ReserveNow.req idTag")]
    parent_id_tag: Annotated[str | None, Meta(description="ReserveNow.req parentIdTag")]
    expiry_date: Annotated[datetime, Meta(description="ReserveNow.req expiryDate (UTC)")]
    status: Annotated[str, Meta(
        description="ReserveNow.conf status (Accepted, Faulted, Occupied, Rejected, "
        "Unavailable), or Cancelled after an accepted CancelReservation")]
    expired: Annotated[bool, Meta(description="expiryDate has passed (OCPP 1.6 §5.13)")]
    updated_at: Annotated[datetime, Meta(description="When the status last changed")]


def reservation_view(row: Reservation, now: datetime) -> ReservationView:
    return ReservationView(
        reservation_id=row.reservation_id, connector_id=row.connector_id, id_tag=row.id_tag,
        parent_id_tag=row.parent_id_tag, expiry_date=row.expiry_date.astimezone(UTC),
        status=row.status, expired=row.expiry_date <= now, updated_at=row.updated_at)


class LocalListView(msgspec.Struct, kw_only=True):
    station_id: Annotated[str, Meta(description="Charge point identity")]
    list_version: Annotated[int | None, Meta(
        description="Last version reported by GetLocalListVersion or accepted with "
        "SendLocalList; null when never known")]
    updated_at: Annotated[datetime | None, Meta(description="When it was last learnt")]


def local_list_view(station_id: str, row: LocalListVersion | None) -> LocalListView:
    return LocalListView(station_id=station_id,
                         list_version=row.list_version if row else None,
                         updated_at=row.updated_at if row else None)
