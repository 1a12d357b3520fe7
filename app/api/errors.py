"""Service errors to HTTP responses, in one place.

Every body has Litestar's error shape ``{"status_code", "detail"[, "extra"]}`` so clients
parse one format whether the request failed Litestar's own validation or a service rule.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import ClientException, ValidationException
from litestar.exceptions.responses import create_exception_response
from litestar.openapi import ResponseSpec
from litestar.status_codes import (
    HTTP_202_ACCEPTED,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_502_BAD_GATEWAY,
    HTTP_504_GATEWAY_TIMEOUT,
)
from litestar.types import Empty, ExceptionHandlersMap
from litestar.utils.scope.state import ScopeState
from msgspec import Meta

from app.api.request_body import Problem, body_problems
from app.json_types import JsonObject
from app.services.errors import Conflict, Invalid, NotFound
from app.services.ports import CallTimeout, StationCallError, StationOffline

ErrorBody = JsonObject


class ErrorDetail(msgspec.Struct, kw_only=True):
    """One thing wrong with a request, or why a station call failed."""

    key: Annotated[str, Meta(description="The field, parameter or station at fault")]
    message: Annotated[str, Meta(description="What is wrong with it")]
    source: Annotated[str | None, Meta(
        description="Where the field was: body, query, path, header or cookie "
        "(request validation only)")] = None
    kind: Annotated[str | None, Meta(
        description="offline, timeout, callerror or invalid_response (failed station "
        "calls only)")] = None
    action: Annotated[str | None, Meta(
        description="The OCPP action that failed (failed station calls only)")] = None


class ErrorView(msgspec.Struct, kw_only=True):
    """Every error answer, whether Litestar's validation or a service rule refused."""

    status_code: Annotated[int, Meta(description="The HTTP status code, repeated")]
    detail: Annotated[str, Meta(description="What went wrong, for a person")]
    extra: Annotated[list[ErrorDetail] | None, Meta(
        description="One entry per field at fault, when known")] = None


_ERROR_MEANINGS = {
    HTTP_400_BAD_REQUEST: "The request is invalid; `extra` names each field at fault",
    HTTP_404_NOT_FOUND: "Not found: `detail` names what (station, id tag, plan, tariff...)",
    HTTP_409_CONFLICT: "It exists already, the station is not connected, or the transaction "
    "is not running",
    HTTP_502_BAD_GATEWAY: "The station answered with a CALLERROR or an invalid answer",
    HTTP_504_GATEWAY_TIMEOUT: "The station did not answer in time",
}


def error_responses(*status_codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error answers an operation can give, all in ErrorView shape."""
    return {code: ResponseSpec(data_container=ErrorView, description=_ERROR_MEANINGS[code],
                               generate_examples=False)
            for code in (HTTP_400_BAD_REQUEST, *status_codes)}


def accepted_response(body: type[Any], what: str) -> dict[int, ResponseSpec]:
    """The 202 of an operation on an offline station: stored, carried out on reconnect."""
    return {HTTP_202_ACCEPTED: ResponseSpec(
        data_container=body, generate_examples=False,
        description=f"The station is offline: {what} is stored (status `pending`) and "
        "carried out when it reconnects")}


def _error(status_code: int, detail: str, extra: list[JsonObject] | None = None
           ) -> Response[ErrorBody]:
    body: ErrorBody = {"status_code": status_code, "detail": detail}
    if extra is not None:
        body["extra"] = extra
    return Response(content=body, status_code=status_code, media_type=MediaType.JSON)


def not_found(_: Request[Any, Any, Any], exc: NotFound) -> Response[ErrorBody]:
    return _error(HTTP_404_NOT_FOUND, str(exc))


def invalid(_: Request[Any, Any, Any], exc: Invalid) -> Response[ErrorBody]:
    # Same "extra" entries as Litestar's ValidationException: key = the field, message = rule.
    problems = exc.problems
    detail = "; ".join(f"{field}: {rule}" for field, rule in problems)
    return _error(HTTP_400_BAD_REQUEST, f"invalid {detail}",
                  [{"key": field, "message": rule} for field, rule in problems])


def conflict(_: Request[Any, Any, Any], exc: Conflict) -> Response[ErrorBody]:
    return _error(HTTP_409_CONFLICT, str(exc))


# msgspec reports a missing or unknown body field against the whole body ("data"); the
# message names the field, so the key can too.
_FIELD_IN_MESSAGE = re.compile(r"(?:missing required|contains unknown) field `([^`]+)`")
_MISSING_PARAMETER = re.compile(
    r"Missing required (?:query|path|header|cookie) parameter '([^']+)'")


def _request_body_problems(request: Request[Any, Any, Any]) -> list[Problem]:
    """Every problem of the body the failed request sent, if it sent one that was read."""
    raw = ScopeState.from_scope(request.scope).body
    if raw is Empty or request.method in ("GET", "HEAD", "DELETE"):
        return []
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return []
    return body_problems(raw, data.annotation)


def _body_refused(problems: list[Problem]) -> Response[ErrorBody]:
    detail = "; ".join(f"{p['key']} {p['message']}" for p in problems)
    return _error(HTTP_400_BAD_REQUEST, f"invalid request body: {detail}", problems)


def client_error(request: Request[Any, Any, Any], exc: ClientException) -> Response[Any]:
    """A body that is not there or not JSON: say so for a person, not as msgspec does."""
    problems = _request_body_problems(request) if exc.status_code == 400 else []
    if problems:
        return _body_refused(problems)
    return create_exception_response(request, exc)


def validation_failed(request: Request[Any, Any, Any], exc: ValidationException
                      ) -> Response[ErrorBody]:
    """Litestar's own validation errors, with ``key`` naming the field wherever possible;
    for a body, every field at fault at once."""
    problems = _request_body_problems(request)
    if problems:
        return _body_refused(problems)
    entries: list[JsonObject] = []
    for entry in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(entry, dict):
            entry = dict(entry)
            found = _FIELD_IN_MESSAGE.search(str(entry.get("message", "")))
            if entry.get("key") == "data" and found:
                entry["key"] = found.group(1)
        entries.append(entry)
    missing = _MISSING_PARAMETER.search(exc.detail)
    if not entries and missing:
        entries.append({"key": missing.group(1), "message": "is required"})
    return _error(HTTP_400_BAD_REQUEST, exc.detail, entries or None)


def station_call_failed(_: Request[Any, Any, Any], exc: StationCallError) -> Response[ErrorBody]:
    """A command to a charger failed: say why, and whose fault it is in the status code."""
    extra = [{"key": "station_id", "message": exc.reason, "kind": exc.kind,
              "action": exc.action}]
    if isinstance(exc, StationOffline):
        # The request is fine; the station is not in a state to receive it.
        return _error(HTTP_409_CONFLICT, str(exc), extra)
    if isinstance(exc, CallTimeout):
        return _error(HTTP_504_GATEWAY_TIMEOUT, str(exc), extra)
    # CALLERROR or a CALLRESULT that broke the schema: the upstream (the charger) failed.
    return _error(HTTP_502_BAD_GATEWAY, str(exc), extra)


exception_handlers: ExceptionHandlersMap = {
    NotFound: not_found,
    Invalid: invalid,
    Conflict: conflict,
    ValidationException: validation_failed,
    ClientException: client_error,
    StationCallError: station_call_failed,
}
