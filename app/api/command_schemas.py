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

from app.api.request_body import schema_problems
from app.db.models import LocalListVersion, Reservation
from app.domain.states import CommandStatus
from app.json_types import JsonObject
from app.services.fleet.commands import CommandResult


@cache
def ocpp_request_schema(action: str) -> JsonObject:
    """The official OCPP 1.6 JSON schema of ``action``'s request (the ``ocpp`` package's)."""
    return _packaged_schema("ocpp.v16", f"{action}.json", f"{action}Request")


@cache
def ocpp201_request_schema(action: str) -> JsonObject:
    """The official OCPP 2.0.1 JSON schema of ``action``'s request."""
    return _packaged_schema("ocpp.v201", f"{action}Request.json", f"{action}Request")


def _packaged_schema(package: str, name: str, title: str) -> JsonObject:
    path = resources.files(package).joinpath("schemas", name)
    schema: JsonObject = json.loads(path.read_text(encoding="utf-8-sig"))
    # Draft-04/06 bookkeeping that OpenAPI 3.1 does not use.
    for key in ("$schema", "id", "$id", "comment"):
        schema.pop(key, None)
    # The security extension's schemas carry no title; the core ones are "<Action>Request".
    schema.setdefault("title", title)
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
    """An operation whose request body is an OCPP schema rather than a Python type."""

    action: ClassVar[str] = ""
    version: ClassVar[str] = "1.6"

    def to_schema(self) -> JsonObject:
        result = super().to_schema()
        if self.version == "1.6":
            schema, where = ocpp_request_schema(self.action), f"OCPP 1.6 {self.action}.req"
        else:
            schema = ocpp201_request_schema(self.action)
            where = f"OCPP {self.version} {self.action}Request"
        result["requestBody"] = {
            "required": True,
            "description": f"{where}, camelCase, exactly as sent",
            "content": {"application/json": {"schema": documented(schema, where)}},
        }
        return result


def documented(schema: JsonObject, where: str) -> JsonObject:
    """A copy of an OCPP schema where every property says which OCPP field it is (the
    official schemas carry no descriptions): ``where`` is the message, ``OCPP 1.6
    SetChargingProfile.req``."""
    result = dict(schema)
    if "properties" in schema:
        result["properties"] = {
            name: {"description": f"{where} {name}", **documented(field, f"{where} {name}")}
            for name, field in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        result["items"] = documented(schema["items"], where)
    return result


def operation_for(action: str, version: str = "1.6") -> type[Operation]:
    return type(f"{action}Operation", (OcppRequestOperation,),
                {"action": action, "version": version})


def request_problems_201(action: str, payload: JsonObject) -> list[tuple[str, str]]:
    """Every (field, rule) by which ``payload`` breaks the OCPP 2.0.1 request schema of
    ``action``, fields spelt as the client wrote them (camelCase)."""
    return schema_problems(ocpp201_request_schema(action), payload)


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
    action: Annotated[str, Meta(
        description="The OCPP action sent (1.6, or 2.0.1 for the actions only it has)")]
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
    reported: Annotated[list[JsonObject] | None, Meta(
        description="GetChargingProfiles (OCPP 2.0.1): every profile the station reported "
        "in its ReportChargingProfiles pages for the requestId, each as {evseId, "
        "chargingLimitSource, chargingProfile}; null for other actions")] = None
    report_complete: Annotated[bool | None, Meta(
        description="GetChargingProfiles: whether the last page (tbc false) came within "
        "the call timeout; false: `reported` holds the pages that came")] = None


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
        remote_start_id=result.remote_start_id, reported=result.reported,
        report_complete=result.report_complete)


class ReservationView(msgspec.Struct, kw_only=True):
    reservation_id: Annotated[int, Meta(description="ReserveNow.req reservationId")]
    connector_id: Annotated[int, Meta(description="ReserveNow.req connectorId")]
    id_tag: Annotated[str, Meta(description="ReserveNow.req idTag")]
    parent_id_tag: Annotated[str | None, Meta(description="ReserveNow.req parentIdTag")]
    expiry_date: Annotated[datetime, Meta(description="ReserveNow.req expiryDate (UTC)")]
    status: Annotated[str, Meta(
        description="ReserveNow.conf status (Accepted, Faulted, Occupied, Rejected, "
        "Unavailable), Cancelled after an accepted CancelReservation, Used once a "
        "transaction the station started names it (its reservationId), or Expired or "
        "Removed when an OCPP 2.0.1 station ended it (ReservationStatusUpdate)")]
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
