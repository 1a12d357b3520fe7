"""``chargeplan octt-bridge``: the trigger API of the tzi-OCTT conformance suite, answered
by chargeplan's REST API.

The suite's OCPP 2.0.1 tests make the central system send a CALL by POSTing to
``{CSMS_TRIGGER_ADDRESS}/api/octt/2.0.1/{station}/{action}`` (``call/{Action}`` with the
2.0.1 payload, or a named trigger such as ``get-variables``). This bridge listens there
and turns each trigger into one request of chargeplan's REST API
(``POST /stations/{id}/commands/{Action}``): the 2.0.1-only commands go as they are, the
others in the 1.6 form the services speak, which the 2.0.1 adapter translates back.
``set-pending-boot`` is an operator's hold on the station (``PUT`` or ``DELETE
/stations/{id}/hold``). The security triggers: ``update-basic-auth-password`` is a password
rotation (``POST /stations/{id}/password``: SetVariables of
SecurityCtrlr.BasicAuthPassword, A01), ``set-security-profile`` the station's registered
profile (``PUT /stations/{id}/security_profile``, which only ever raises it), and
``/api/octt/set-basic-auth-password`` its registered password (``PATCH /stations/{id}``).
The certificate calls (``call/InstallCertificate``, ``GetInstalledCertificateIds``,
``DeleteCertificate``, ``CertificateSigned``) go with their 2.0.1 payload, which those
commands take for a 2.0.1 station. ``call/UpdateFirmware`` is SignedUpdateFirmware when
signed, else the 1.6 UpdateFirmware; ``call/GetLog`` goes as it is (the security
extension's GetLog has 2.0.1's fields). chargeplan's status code and body are answered as
they are. A trigger with no REST counterpart is answered 501, naming it, and nothing is
sent.

Where 2.0.1 says more than 1.6 (an idToken's type, a connector within an EVSE, Reset
OnIdle and of one EVSE, the triggers only 2.0.1 has), the 1.6 form carries the 2.0.1
meaning in the fields the commands take for a 2.0.1 station
(``app/services/fleet/v201_meanings.py``).
"""

from __future__ import annotations

import argparse
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

from app.cli import octt_bridge_v16
from app.cli.octt_forward import Forward, JsonObject, Unsupported
from app.services.fleet.commands_v201 import V201_ACTIONS

log = logging.getLogger("chargeplan.octt")

PREFIX = "/api/octt/2.0.1/"
PASSWORD_PATH = "/api/octt/set-basic-auth-password"
# 2.0.1 ChargingProfilePurposeEnumType as the 1.6 purpose.
_PURPOSE = {"ChargingStationMaxProfile": "ChargePointMaxProfile",
            "TxDefaultProfile": "TxDefaultProfile", "TxProfile": "TxProfile"}

# The integer transaction id chargeplan gives the station's own (string) one, if known.
TransactionLookup = Callable[[str, str], int | None]


def translate(station_id: str, trigger: str, body: Mapping[str, Any],
              transaction_id: TransactionLookup) -> Forward:
    """The REST request for one trigger of the suite."""
    action = trigger.removeprefix("call/") if trigger.startswith("call/") else {
        "get-variables": "GetVariables", "set-variables": "SetVariables",
        "trigger-message": "TriggerMessage"}.get(trigger)
    if trigger == "set-items-per-message":
        return _command(station_id, "SetVariables", _items_per_message(body))
    if trigger == "set-pending-boot":
        return _hold(station_id, body)
    if trigger == "update-basic-auth-password":
        return Forward(f"{_station(station_id)}/password", None)
    if trigger == "set-security-profile":
        return Forward(f"{_station(station_id)}/security_profile",
                       {"security_profile": body["security_profile"]}, "PUT")
    if action is None:
        raise Unsupported(f"trigger {trigger!r} has no chargeplan counterpart")
    if action in V201_ACTIONS:
        return _command(station_id, action, dict(body))
    mapper = _MAPPERS.get(action)
    if mapper is None:
        raise Unsupported(f"{action} is not sent by chargeplan to OCPP 2.0.1 stations")
    legacy_action, payload = mapper(station_id, body, transaction_id)
    return _command(station_id, legacy_action, payload)


# The suite's names of the DeviceDataCtrlr.ItemsPerMessage instances.
_ITEMS_PER_MESSAGE = {"get_variables": "GetVariables", "set_variables": "SetVariables",
                      "get_report": "GetReport"}


def _items_per_message(body: Mapping[str, Any]) -> JsonObject:
    """The suite's "the station reports N items per message" as the SetVariables that sets
    DeviceDataCtrlr.ItemsPerMessage on the station: what the station accepts is kept in
    its device model, which GetVariables and SetVariables split by."""
    data = [{"component": {"name": "DeviceDataCtrlr"},
             "variable": {"name": "ItemsPerMessage", "instance": instance},
             "attributeValue": str(body[key])}
            for key, instance in _ITEMS_PER_MESSAGE.items() if body.get(key) is not None]
    if not data:
        raise Unsupported("set-items-per-message names no message")
    return {"setVariableData": data}


def _hold(station_id: str, body: Mapping[str, Any]) -> Forward:
    """The suite's "answer this station's boots Pending" (or no more) as an operator's hold
    on it, set or released."""
    path = f"/stations/{quote(station_id, safe='')}/hold"
    if body.get("pending", True):
        return Forward(path, {"reason": "tzi-OCTT set-pending-boot"}, "PUT")
    return Forward(path, None, "DELETE")


def _station(station_id: str) -> str:
    return f"/stations/{quote(station_id, safe='')}"


def _command(station_id: str, action: str, payload: JsonObject) -> Forward:
    return Forward(f"{_station(station_id)}/commands/{action}", payload)


def password(body: Mapping[str, Any]) -> Forward:
    """``/api/octt/set-basic-auth-password`` (not a trigger of one station's path): the
    station's registered password, as an admin sets it."""
    return Forward(_station(body["station_id"]), {"password": body["password"]}, "PATCH")


def _given(**fields: Any) -> JsonObject:
    return {k: v for k, v in fields.items() if v is not None}


def _reset(_: str, body: Mapping[str, Any], __: TransactionLookup) -> tuple[str, JsonObject]:
    # The 2.0.1 types and evseId, which the command takes for a 2.0.1 station.
    return "Reset", _given(type=body["type"], evseId=body.get("evseId"))


def _trigger(_: str, body: Mapping[str, Any], __: TransactionLookup
             ) -> tuple[str, JsonObject]:
    evse = body.get("evse") or {}
    return "TriggerMessage", _given(requestedMessage=body["requestedMessage"],
                                    evseId=evse.get("id"), connectorId=evse.get("connectorId"))


def _availability(_: str, body: Mapping[str, Any], __: TransactionLookup
                  ) -> tuple[str, JsonObject]:
    evse = body.get("evse")
    if evse is None:
        return "ChangeAvailability", {"connectorId": 0, "type": body["operationalStatus"]}
    return "ChangeAvailability", {"evseId": evse["id"], "connectorId": evse.get("connectorId", 0),
                                  "type": body["operationalStatus"]}


def _unlock(_: str, body: Mapping[str, Any], __: TransactionLookup) -> tuple[str, JsonObject]:
    return "UnlockConnector", {"evseId": body["evseId"], "connectorId": body["connectorId"]}


def _start(station_id: str, body: Mapping[str, Any], lookup: TransactionLookup
           ) -> tuple[str, JsonObject]:
    profile = body.get("chargingProfile")
    return "RemoteStartTransaction", _given(
        idTag=body["idToken"]["idToken"], idTokenType=body["idToken"].get("type"),
        connectorId=body.get("evseId"),
        chargingProfile=None if profile is None else _profile(station_id, profile, lookup))


def _stop(station_id: str, body: Mapping[str, Any], lookup: TransactionLookup
          ) -> tuple[str, JsonObject]:
    return "RemoteStopTransaction", {
        "transactionId": _transaction(station_id, body["transactionId"], lookup)}


def _transaction(station_id: str, remote_id: str, lookup: TransactionLookup) -> int:
    found = lookup(station_id, remote_id)
    if found is None:
        raise Unsupported(f"transaction {remote_id!r} of {station_id} is not known to "
                          "chargeplan")
    return found


def _profile(station_id: str, profile: Mapping[str, Any], lookup: TransactionLookup
             ) -> JsonObject:
    """A 2.0.1 ChargingProfileType as the 1.6 csChargingProfiles: its first schedule, the
    1.6 purpose, chargeplan's id of the transaction."""
    schedules = profile["chargingSchedule"]
    if len(schedules) != 1:
        raise Unsupported("a profile of several schedules has no 1.6 form")
    schedule = schedules[0]
    remote = profile.get("transactionId")
    return _given(
        chargingProfileId=profile["id"], stackLevel=profile["stackLevel"],
        chargingProfilePurpose=_PURPOSE[profile["chargingProfilePurpose"]],
        chargingProfileKind=profile["chargingProfileKind"],
        recurrencyKind=profile.get("recurrencyKind"), validFrom=profile.get("validFrom"),
        validTo=profile.get("validTo"),
        transactionId=None if remote is None else _transaction(station_id, remote, lookup),
        chargingSchedule=_given(
            duration=schedule.get("duration"), startSchedule=schedule.get("startSchedule"),
            chargingRateUnit=schedule["chargingRateUnit"],
            minChargingRate=schedule.get("minChargingRate"),
            chargingSchedulePeriod=[
                _given(startPeriod=p["startPeriod"], limit=p["limit"],
                       numberPhases=p.get("numberPhases"))
                for p in schedule["chargingSchedulePeriod"]]))


def _set_profile(station_id: str, body: Mapping[str, Any], lookup: TransactionLookup
                 ) -> tuple[str, JsonObject]:
    return "SetChargingProfile", {
        "connectorId": body["evseId"],
        "csChargingProfiles": _profile(station_id, body["chargingProfile"], lookup)}


def _clear_profile(_: str, body: Mapping[str, Any], __: TransactionLookup
                   ) -> tuple[str, JsonObject]:
    criteria = body.get("chargingProfileCriteria") or {}
    purpose = criteria.get("chargingProfilePurpose")
    return "ClearChargingProfile", _given(
        id=body.get("chargingProfileId"), connectorId=criteria.get("evseId"),
        chargingProfilePurpose=None if purpose is None else _PURPOSE[purpose],
        stackLevel=criteria.get("stackLevel"))


def _composite(_: str, body: Mapping[str, Any], __: TransactionLookup
               ) -> tuple[str, JsonObject]:
    return "GetCompositeSchedule", _given(connectorId=body["evseId"],
                                          duration=body["duration"],
                                          chargingRateUnit=body.get("chargingRateUnit"))


def _reserve(_: str, body: Mapping[str, Any], __: TransactionLookup
             ) -> tuple[str, JsonObject]:
    """H01: the reservation in its 1.6 form with the 2.0.1 fields (the EVSE as the
    connector, 0 for any; the token types; connectorType)."""
    group = body.get("groupIdToken") or {}
    return "ReserveNow", _given(
        reservationId=body["id"], expiryDate=body["expiryDateTime"],
        idTag=body["idToken"]["idToken"], idTokenType=body["idToken"].get("type"),
        connectorId=body.get("evseId", 0), connectorType=body.get("connectorType"),
        parentIdTag=group.get("idToken"), groupIdTokenType=group.get("type"))


def _local_list(_: str, body: Mapping[str, Any], __: TransactionLookup
                ) -> tuple[str, JsonObject]:
    """D01/D02: the list in its 1.6 form, each idToken's type beside its idTag."""
    entries = []
    for entry in body.get("localAuthorizationList") or []:
        info = entry.get("idTokenInfo")
        entries.append(_given(
            idTag=entry["idToken"]["idToken"], idTokenType=entry["idToken"].get("type"),
            idTagInfo=None if info is None else _given(
                status=info["status"], expiryDate=info.get("cacheExpiryDateTime"),
                parentIdTag=(info.get("groupIdToken") or {}).get("idToken"))))
    return "SendLocalList", {"listVersion": body["versionNumber"],
                             "updateType": body["updateType"],
                             "localAuthorizationList": entries}


def _update_firmware(_: str, body: Mapping[str, Any], __: TransactionLookup
                     ) -> tuple[str, JsonObject]:
    """L01: a signed update is the security extension's SignedUpdateFirmware, the same
    fields; an unsigned one (L02) the 1.6 UpdateFirmware, of a requestId of chargeplan's."""
    firmware = body["firmware"]
    if "signature" in firmware:
        return "SignedUpdateFirmware", dict(body)
    if "installDateTime" in firmware:
        raise Unsupported("an unsigned UpdateFirmware with installDateTime (1.6 UpdateFirmware "
                          "has no install time)")
    return "UpdateFirmware", _given(location=firmware["location"],
                                    retrieveDate=firmware["retrieveDateTime"],
                                    retries=body.get("retries"),
                                    retryInterval=body.get("retryInterval"))


def _as_is(action: str) -> Callable[[str, Mapping[str, Any], TransactionLookup],
                                    tuple[str, JsonObject]]:
    return lambda _, body, __: (action, dict(body))


_MAPPERS: dict[str, Callable[[str, Mapping[str, Any], TransactionLookup],
                             tuple[str, JsonObject]]] = {
    "Reset": _reset, "TriggerMessage": _trigger, "ChangeAvailability": _availability,
    "UnlockConnector": _unlock, "RequestStartTransaction": _start,
    "RequestStopTransaction": _stop, "SetChargingProfile": _set_profile,
    "ClearChargingProfile": _clear_profile, "GetCompositeSchedule": _composite,
    "ClearCache": _as_is("ClearCache"), "DataTransfer": _as_is("DataTransfer"),
    "ReserveNow": _reserve, "CancelReservation": _as_is("CancelReservation"),
    "SendLocalList": _local_list, "GetLocalListVersion": _as_is("GetLocalListVersion"),
    # A, M: the 2.0.1 payloads, which these commands take for a 2.0.1 station as they are;
    # N: GetLog is the security extension's, the same fields.
    **{action: _as_is(action) for action in (
        "CertificateSigned", "InstallCertificate", "GetInstalledCertificateIds",
        "DeleteCertificate", "GetLog")},
    "UpdateFirmware": _update_firmware,
}


class RestApi:
    """chargeplan's REST API at ``base`` (with a bearer key when it needs one)."""

    def __init__(self, base: str, api_key: str | None, timeout_s: float) -> None:
        self._base = base.rstrip("/")
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout_s = timeout_s

    def request(self, method: str, path: str, body: JsonObject | None = None
                ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def transaction_id(self, station_id: str, remote_id: str) -> int | None:
        status, body = self.request(
            "GET", f"/stations/{quote(station_id, safe='')}/transactions?active=true")
        if status != HTTPStatus.OK:
            return None
        return next((t["id"] for t in body["items"] if t.get("remote_id") == remote_id), None)


def handler_for(api: RestApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server hook's name)
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError as exc:
                self._answer(HTTPStatus.BAD_REQUEST, {"error": f"body is not JSON: {exc}"})
                return
            # The 1.6 triggers and create-token.
            answered = octt_bridge_v16.answer(self.path, body, api.request)
            if answered is not None:
                self._answer(*answered)
                return
            station_id, _, trigger = self.path.removeprefix(PREFIX).partition("/")
            if self.path == PASSWORD_PATH:
                station_id, trigger = str(body.get("station_id")), "set-basic-auth-password"
            elif not self.path.startswith(PREFIX) or not trigger:
                self._answer(HTTPStatus.NOT_FOUND, {"error": f"no trigger at {self.path}"})
                return
            try:
                forward = (password(body) if self.path == PASSWORD_PATH
                           else translate(station_id, trigger, body, api.transaction_id))
            except Unsupported as exc:
                log.info("%s %s: %s", station_id, trigger, exc)
                self._answer(HTTPStatus.NOT_IMPLEMENTED, {"error": str(exc)})
                return
            except (KeyError, TypeError, AttributeError) as exc:
                self._answer(HTTPStatus.BAD_REQUEST, {"error": f"missing field {exc}"})
                return
            status, answer = api.request(forward.method, forward.path, forward.body)
            log.info("%s %s -> %s %d", station_id, trigger, forward.path, status)
            self._answer(status, answer)

        def _answer(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug(format, *args)

    return Handler


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "octt-bridge", help="answer the tzi-OCTT trigger API with chargeplan's REST API",
        description=f"{__doc__}\n{octt_bridge_v16.__doc__}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:5001",
                        help="host:port of the trigger API (the suite's CSMS_TRIGGER_ADDRESS)")
    parser.add_argument("--api", default="http://127.0.0.1:8000",
                        help="chargeplan's REST API")
    parser.add_argument("--api-key", help="bearer key, when the API needs one")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for each REST answer")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)),
                                 handler_for(RestApi(args.api, args.api_key, args.timeout)))
    log.info("OCTT trigger API on http://%s:%s, forwarding to %s", host, port, args.api)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
