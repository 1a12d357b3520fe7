"""Operator commands: POST /stations/{station_id}/commands/{Action}, one route per action.

One route per OCPP 1.6 action, generated from the list, so the OpenAPI document shows
each action's own request schema. The status code says whose fault a failure is; the
body has the same shape whatever happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from litestar import MediaType, Request, Response, Router, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_202_ACCEPTED,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_502_BAD_GATEWAY,
    HTTP_504_GATEWAY_TIMEOUT,
)

from app.api.access import ADMIN, OPERATOR, READER, caller_of
from app.api.command_schemas import (
    CommandResponse,
    LocalListView,
    ReservationView,
    command_response,
    local_list_view,
    operation_for,
    request_problems_201,
    reservation_view,
)
from app.api.deps import ServicesDep, dependencies
from app.api.errors import ErrorView, accepted_response, error_responses
from app.api.smart_charging import invalid_profile
from app.domain.access import Role, permits
from app.json_types import JsonObject
from app.services.delivery.smart_charging import InvalidProfile
from app.services.errors import Invalid
from app.services.fleet.commands import ADMIN_ACTIONS, COMMAND_ACTIONS, CommandResult, UnknownAction
from app.services.fleet.commands_v201 import V201_ACTIONS, V201_ADMIN_ACTIONS
from app.services.security.station_security import SECURITY_KEYS

StationIdPath = Annotated[str, Parameter(description="Charge point identity")]

_ERROR_STATUS = {
    "offline": HTTP_409_CONFLICT,
    "timeout": HTTP_504_GATEWAY_TIMEOUT,
    "callerror": HTTP_502_BAD_GATEWAY,
    "invalid_response": HTTP_502_BAD_GATEWAY,
}

_DESCRIPTION = (
    "Sends OCPP 1.6 {action}.req with the body as payload, after checking it against the "
    "official schema (400 naming the field; nothing is sent). 200 with the station's "
    "CALLRESULT verbatim in `response`; on failure the same body with `status` `error`: "
    "409 offline (no queueing), 504 timeout, 502 CALLERROR or an answer that broke the "
    "schema."
)
_SMART_CHARGING = (
    " Goes through the desired-state path like the smart-charging endpoints (stored, "
    "delivered, mirrored, audited): the reconcile job does not undo it. To an offline "
    "station: 202, kept and carried out when it reconnects."
)
_REMOTE_START = (
    " A `chargingProfile` (TxProfile without transactionId, errata §3.41) is checked with "
    "the OCPP 1.6 rules and becomes the desired TxProfile of the transaction it starts."
)
# What a body may also say to an OCPP 2.0.1 station (app/services/fleet/v201_meanings.py).
_MEANINGS_201 = {
    "RemoteStartTransaction": " To an OCPP 2.0.1 station (RequestStartTransaction): "
    "`idTokenType`, the idToken's IdTokenEnumType (Central when absent).",
    "Reset": " To an OCPP 2.0.1 station: `type` Immediate or OnIdle too (Hard and Soft are "
    "Immediate), and `evseId` to reset one EVSE.",
    "ChangeAvailability": " To an OCPP 2.0.1 station: `evseId`, the EVSE, with "
    "`connectorId` the connector within it (0: the whole EVSE); without it `connectorId` "
    "is the EVSE (0: the whole station).",
    "UnlockConnector": " To an OCPP 2.0.1 station: `evseId`, the EVSE, with `connectorId` "
    "the connector within it; without it `connectorId` is the EVSE (its connector 1).",
    "ReserveNow": " To an OCPP 2.0.1 station: `idTokenType` and `groupIdTokenType`, the "
    "IdTokenEnumType of `idTag` and `parentIdTag` (Central when absent), and "
    "`connectorType` (ConnectorEnumType); `connectorId` is the EVSE (0: any EVSE).",
    "SendLocalList": " To an OCPP 2.0.1 station: in each entry `idTokenType`, the "
    "IdTokenEnumType of its `idTag` (Central when absent), and an `idTagInfo.status` of "
    "the AuthorizationStatusEnumType values only 2.0.1 has (NoCredit, NotAtThisTime, ...).",
    "TriggerMessage": " To an OCPP 2.0.1 station: `requestedMessage` of the values only "
    "2.0.1 has too (TransactionEvent, LogStatusNotification, PublishFirmwareStatusNotification, "
    "SignChargingStationCertificate, SignV2GCertificate, SignCombinedCertificate), and "
    "`evseId` with `connectorId` the connector within it.",
}
_MEANINGS_TAIL = " A 1.6 station: 400 naming each such field."
# How a firmware or log command goes to an OCPP 2.0.1 station (app/ocpp/v201/outgoing.py).
_FORMS_201 = {
    "SignedUpdateFirmware": " To an OCPP 2.0.1 station: UpdateFirmware, the same fields (L01).",
    "UpdateFirmware": " To an OCPP 2.0.1 station: UpdateFirmware without signature (L02) of "
    "a requestId of chargeplan's; the answer has its `status` and `statusInfo`; `location` "
    "at most 512 characters.",
    "GetLog": " To an OCPP 2.0.1 station: GetLog, the same fields (N01).",
    "GetDiagnostics": " To an OCPP 2.0.1 station: GetLog of the DiagnosticsLog of a requestId "
    "of chargeplan's; the answer has its `status` and `statusInfo` beside `fileName`; "
    "`location` at most 512 characters.",
}


# A command that got no CALLRESULT answers in the same shape as one that did.
_FAILED_RESPONSES = {
    code: ResponseSpec(data_container=CommandResponse, generate_examples=False,
                       description=f"`status` `error`: {meaning}")
    for code, meaning in ((HTTP_409_CONFLICT, "the station is offline or went offline"),
                          (HTTP_502_BAD_GATEWAY, "CALLERROR, or an answer breaking the schema"),
                          (HTTP_504_GATEWAY_TIMEOUT, "no answer in time"))
}


# A 2.0.1 command's 409 is also the refusal of a station that speaks 1.6 (nothing sent).
_FAILED_RESPONSES_201 = {
    **_FAILED_RESPONSES,
    HTTP_409_CONFLICT: ResponseSpec(
        data_container=CommandResponse | ErrorView,
        generate_examples=False,
        description="`status` `error`: the station is offline or went offline; or, in the "
        "error shape, the station speaks OCPP 1.6 (nothing is sent)"),
}


def _status_code(result: CommandResult) -> int:
    if result.error is None:
        return HTTP_200_OK
    if result.pending:
        return HTTP_202_ACCEPTED
    return _ERROR_STATUS.get(result.error.kind, HTTP_502_BAD_GATEWAY)


def unknown_action(_: Request[Any, Any, Any], exc: UnknownAction) -> Response[JsonObject]:
    valid = [*exc.valid, *V201_ACTIONS]
    return Response(
        {"status_code": HTTP_404_NOT_FOUND,
         "detail": f"unknown action {exc.key!r}; valid actions: {', '.join(valid)}",
         "extra": [{"key": "action", "message": "not a central-system action of OCPP 1.6, "
                    "nor one only OCPP 2.0.1 has that chargeplan sends",
                    "valid_actions": valid}]},
        status_code=HTTP_404_NOT_FOUND, media_type=MediaType.JSON)


def require_admin_for_security_settings(request: Request[Any, Any, Any], action: str,
                                        data: Mapping[str, Any]) -> None:
    """Passwords and security profiles are admin business even through the commands
    endpoint, which operators may otherwise use."""
    caller = caller_of(request.scope)
    if (caller is not None and action == "ChangeConfiguration"
            and data.get("key") in SECURITY_KEYS and not permits(caller.role, Role.ADMIN)):
        raise PermissionDeniedException(
            detail=f"changing {data.get('key')} needs the admin role; key {caller.name!r} "
            f"has {caller.role.value}")


def _command_route(action: str) -> HTTPRouteHandler:
    async def send_command(services: ServicesDep, station_id: StationIdPath,
                           data: JSONBody[JsonObject], request: Request[Any, Any, Any]
                           ) -> Response[CommandResponse]:
        require_admin_for_security_settings(request, action, data)
        result = await services.commands.send(station_id, action, data)
        return Response(command_response(result), status_code=_status_code(result))

    description = _DESCRIPTION.format(action=action)
    responses = {**error_responses(HTTP_404_NOT_FOUND), **_FAILED_RESPONSES}
    if action in ("SetChargingProfile", "ClearChargingProfile"):
        description += _SMART_CHARGING
        responses.update(accepted_response(CommandResponse, "the request"))
    if action == "RemoteStartTransaction":
        description += _REMOTE_START
    if action in _MEANINGS_201:
        description += _MEANINGS_201[action] + _MEANINGS_TAIL
    description += _FORMS_201.get(action, "")
    return post(f"/commands/{action}", summary=f"Send {action}", description=description,
                opt=ADMIN if action in ADMIN_ACTIONS else OPERATOR,
                operation_class=operation_for(action), operation_id=f"command{action}",
                name=f"command-{action}", status_code=HTTP_200_OK,
                responses=responses)(send_command)


_DESCRIPTION_201 = (
    "OCPP 2.0.1 stations only (a 1.6 station: 409 naming its version). Sends OCPP 2.0.1 "
    "{action}Request with the body as payload, after checking it against the official "
    "2.0.1 schema (400 naming each field; nothing is sent). 200 with the station's "
    "CALLRESULT verbatim in `response`; on failure the same body with `status` `error`: "
    "409 offline, 504 timeout, 502 CALLERROR or an answer that broke the schema."
)
_AFTER_201 = {
    "GetVariables": " Each Accepted result is stored in the device model "
    "(GET /stations/{station_id}/variables).",
    "SetVariables": " Each value the station Accepted is stored in the device model "
    "(GET /stations/{station_id}/variables).",
    "GetBaseReport": " The station then sends its report in NotifyReport pages; the last "
    "one replaces the stored device model (GET /stations/{station_id}/variables).",
    "GetReport": " The station then sends the variables asked for in NotifyReport pages; "
    "when the last one comes they update the stored device model (only the attributes "
    "they name). The station's status EmptyResultSet: nothing matched.",
    "GetChargingProfiles": " Waits, at most the call timeout, for the ReportChargingProfiles "
    "pages of the requestId and returns their profiles in `reported`.",
    "GetTransactionStatus": " transactionId is the station's own (`remote_id` of "
    "GET /transactions).",
    "SetNetworkProfile": " Admin only: it says where and how the station connects.",
    "SetDisplayMessage": " A message the station shows its drivers (O01, O02): its id "
    "replaces an earlier one of the same id.",
    "GetDisplayMessages": " The station then sends the messages it holds in "
    "NotifyDisplayMessages pages of the requestId, kept in the audit trail "
    "(GET /audit?station_id=...&action=NotifyDisplayMessages). The station's status "
    "Unknown: no message matched.",
    "ClearDisplayMessage": " Removes the message of that id from the station's display.",
    "SetVariableMonitoring": " Monitors on the station's variables (N04); their events "
    "come as NotifyEvent, kept in the audit trail.",
    "ClearVariableMonitoring": " Removes monitors by id (N06).",
    "SetMonitoringBase": " All, FactoryDefault or HardWiredOnly monitors (N03).",
    "SetMonitoringLevel": " The least severe event the station reports (N05).",
    "GetMonitoringReport": " The station then sends its monitors in NotifyMonitoringReport "
    "pages of the requestId, kept in the audit trail.",
    "CustomerInformation": " Admin only: what the station keeps of a customer (N09), sent "
    "as NotifyCustomerInformation pages kept in the audit trail, or cleared (N10).",
    "PublishFirmware": " A local controller publishes a firmware file for the stations "
    "behind it (L03); its progress comes as PublishFirmwareStatusNotification.",
    "UnpublishFirmware": " Stops publishing the firmware file of that checksum (L04).",
}


def _command_route_201(action: str) -> HTTPRouteHandler:
    async def send_command(services: ServicesDep, station_id: StationIdPath,
                           data: JSONBody[JsonObject]) -> Response[CommandResponse]:
        problems = request_problems_201(action, data)
        if problems:
            raise Invalid.all(problems)
        result = await services.commands_v201.send(station_id, action, data)
        return Response(command_response(result), status_code=_status_code(result))

    return post(f"/commands/{action}", summary=f"Send {action} (OCPP 2.0.1)",
                description=_DESCRIPTION_201.format(action=action) + _AFTER_201[action],
                opt=ADMIN if action in V201_ADMIN_ACTIONS else OPERATOR,
                operation_class=operation_for(action, "2.0.1"),
                operation_id=f"command{action}", name=f"command-{action}",
                status_code=HTTP_200_OK,
                responses={**error_responses(HTTP_404_NOT_FOUND), **_FAILED_RESPONSES_201})(
                    send_command)


@post("/commands/{action:str}", include_in_schema=False, status_code=HTTP_404_NOT_FOUND,
      opt=OPERATOR)
async def unknown_command(action: FromPath[str]) -> None:
    raise UnknownAction(action)


@get("/reservations", summary="Reservations sent with ReserveNow and what became of them",
     opt=READER,
     responses=error_responses(HTTP_404_NOT_FOUND))
async def reservations(services: ServicesDep,
                       station_id: StationIdPath) -> list[ReservationView]:
    now = services.clock()
    return [reservation_view(r, now) for r in await services.commands.reservations(station_id)]


@get("/local_list", opt=READER, summary="The station's local authorization list version",
     responses=error_responses(HTTP_404_NOT_FOUND))
async def local_list(services: ServicesDep, station_id: StationIdPath) -> LocalListView:
    return local_list_view(station_id, await services.commands.local_list_version(station_id))


commands_router = Router(
    path="/stations/{station_id:str}",
    route_handlers=[*(_command_route(a) for a in COMMAND_ACTIONS),
                    *(_command_route_201(a) for a in V201_ACTIONS), unknown_command,
                    reservations, local_list],
    dependencies=dependencies,
    tags=["commands"],
    exception_handlers={InvalidProfile: invalid_profile, UnknownAction: unknown_action},
)
