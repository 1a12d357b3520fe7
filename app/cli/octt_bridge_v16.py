"""The OCPP 1.6J trigger API of the tzi-OCTT suite (its ``1.6/trigger.py``).

``POST /api/octt/1.6/{station}/{action}``, the action in kebab-case
(``remote-start-transaction``) and the body the OCPP 1.6 payload, is the command of that
name, ``POST /stations/{station}/commands/{Action}`` with the body as it is: chargeplan
checks it against the 1.6 schema and sends it. ``POST /api/octt/create-token``
(``{"token_id", "status"}``) sets an id tag's status, its expiry and group kept (``PUT
/id_tags/{tag}``), or adds the tag (``POST /id_tags``). The suite's
``/api/octt/set-basic-auth-password``, which both versions use, is answered beside the
2.0.1 triggers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from app.cli.octt_forward import Forward, JsonObject, Unsupported
from app.services.fleet.commands import COMMAND_ACTIONS

log = logging.getLogger("chargeplan.octt")

PREFIX = "/api/octt/1.6/"
TOKEN_PATH = "/api/octt/create-token"

# Sends one REST request (method, path, body) and returns chargeplan's status and body.
Send = Callable[[str, str, JsonObject | None], tuple[int, Any]]


def handles(path: str) -> bool:
    return path.startswith(PREFIX) or path == TOKEN_PATH


def translate(path: str, body: Mapping[str, Any]) -> Forward:
    """The REST request for one 1.6 trigger."""
    station_id, _, trigger = path.removeprefix(PREFIX).partition("/")
    if not path.startswith(PREFIX) or not station_id or not trigger:
        raise Unsupported(f"no station and action in {path!r}")
    action = "".join(word.capitalize() for word in trigger.split("-"))
    if action not in COMMAND_ACTIONS:
        raise Unsupported(f"trigger {trigger!r} is not a central-system action of OCPP 1.6")
    return Forward(f"{_station(station_id)}/commands/{action}", dict(body))


def _station(station_id: str) -> str:
    return f"/stations/{quote(station_id, safe='')}"


def create_token(token_id: str, status: str, send: Send) -> tuple[int, Any]:
    """The suite's "create or update this token with this status": a known tag keeps its
    expiry and group, an unknown one is added."""
    path = f"/id_tags/{quote(token_id, safe='')}"
    found, current = send("GET", path, None)
    if found == HTTPStatus.NOT_FOUND:
        return send("POST", "/id_tags", {"id_tag": token_id, "status": status})
    if found != HTTPStatus.OK:
        return found, current
    return send("PUT", path, {"status": status, "expiry_date": current["expiry_date"],
                              "parent_id_tag": current["parent_id_tag"]})


def answer(path: str, body: Any, send: Send) -> tuple[int, Any] | None:
    """chargeplan's status and body for a call of the 1.6 trigger API; None for a path
    that is not one."""
    if not handles(path):
        return None
    try:
        if path == TOKEN_PATH:
            return create_token(body["token_id"], body["status"], send)
        forward = translate(path, body)
    except Unsupported as exc:
        log.info("%s: %s", path, exc)
        return HTTPStatus.NOT_IMPLEMENTED, {"error": str(exc)}
    except (KeyError, TypeError, AttributeError) as exc:
        return HTTPStatus.BAD_REQUEST, {"error": f"missing field {exc}"}
    status, answered = send(forward.method, forward.path, forward.body)
    log.info("%s -> %s %d", path, forward.path, status)
    return status, answered
