"""Service errors to HTTP responses, in one place.

Every body has Litestar's error shape ``{"status_code", "detail"[, "extra"]}`` so clients
parse one format whether the request failed Litestar's own validation or a service rule.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_502_BAD_GATEWAY,
    HTTP_504_GATEWAY_TIMEOUT,
)
from litestar.types import ExceptionHandlersMap

from app.services.errors import Conflict, Invalid, NotFound
from app.services.ports import CallTimeout, StationCallError, StationOffline

ErrorBody = dict[str, Any]


def _error(status_code: int, detail: str, extra: list[dict[str, Any]] | None = None
           ) -> Response[ErrorBody]:
    body: ErrorBody = {"status_code": status_code, "detail": detail}
    if extra is not None:
        body["extra"] = extra
    return Response(content=body, status_code=status_code, media_type=MediaType.JSON)


def not_found(_: Request[Any, Any, Any], exc: NotFound) -> Response[ErrorBody]:
    return _error(HTTP_404_NOT_FOUND, str(exc))


def invalid(_: Request[Any, Any, Any], exc: Invalid) -> Response[ErrorBody]:
    # Same "extra" entries as Litestar's ValidationException: key = the field, message = rule.
    return _error(HTTP_400_BAD_REQUEST, f"invalid {exc.field}: {exc.rule}",
                  [{"key": exc.field, "message": exc.rule}])


def conflict(_: Request[Any, Any, Any], exc: Conflict) -> Response[ErrorBody]:
    return _error(HTTP_409_CONFLICT, str(exc))


# msgspec reports a missing or unknown body field against the whole body ("data"); the
# message names the field, so the key can too.
_FIELD_IN_MESSAGE = re.compile(r"(?:missing required|contains unknown) field `([^`]+)`")
_MISSING_PARAMETER = re.compile(
    r"Missing required (?:query|path|header|cookie) parameter '([^']+)'")


def validation_failed(_: Request[Any, Any, Any], exc: ValidationException
                      ) -> Response[ErrorBody]:
    """Litestar's own validation errors, with ``key`` naming the field wherever possible."""
    entries: list[dict[str, Any]] = []
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
    StationCallError: station_call_failed,
}
