"""Smart-charging endpoints: send, read, clear and generate charging profiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, post
from litestar.params import JSONBody, Parameter
from msgspec import UNSET

from app.api.access import OPERATOR, READER
from app.api.deps import ServicesDep, dependencies
from app.api.errors import accepted_response, error_responses
from app.api.schemas import as_utc
from app.api.smart_charging_schemas import (
    MAX_DURATION_S,
    MAX_INT32,
    ClearedProfile,
    ClearResponse,
    CompositeResponse,
    DesiredProfileView,
    PreviewRequest,
    PreviewResponse,
    ProfileRequest,
    ProfileResponse,
    ScenarioRequest,
    ScenarioResponse,
    Unit,
    desired_view,
)
from app.domain.installation import InstalledProfile
from app.domain.ownership import Owner, OwnerKind
from app.domain.profiles import ChargingRateUnit
from app.domain.states import DeliveryStatus
from app.json_types import JsonObject
from app.services.delivery.smart_charging import InvalidProfile, Outcome
from app.services.errors import Invalid
from app.services.fleet.transactions import TransactionQueries
from app.services.schedules import scenarios

StationIdPath = Annotated[str, Parameter(description="Charge point identity")]


def _check_numbers(value: Any, path: str) -> None:
    """Profile numbers as chargers and the database hold them: 32-bit integers, and decimals
    in the same range (OCPP-J leaves sizes open; past this they overflow, not fail)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_numbers(item, f"{path}[{index}]")
    elif (isinstance(value, int | float) and not isinstance(value, bool)
          and not -MAX_INT32 - 1 <= value <= MAX_INT32):
        raise Invalid(path, f"must lie within -{MAX_INT32 + 1} and {MAX_INT32}")


_FORMS = {False: ("connector_id", "profile"), True: ("evse_id", "charging_profile")}
_ONE_FORM = ("connector_id with profile (OCPP 1.6) or evse_id with charging_profile "
             "(OCPP 2.0.1)")


def _check_form(data: ProfileRequest, v201: bool) -> None:
    """Exactly one form, whole: 400 naming the fields at fault."""
    given = [name for name in (*_FORMS[False], *_FORMS[True])
             if getattr(data, name) is not UNSET]
    if not given:
        raise Invalid.all([(name, f"is required: {_ONE_FORM}") for name in
                           ("profile", "charging_profile")])
    if any(name not in _FORMS[v201] for name in given):
        raise Invalid.all([(name, f"one form only: {_ONE_FORM}, not both") for name in given])
    place, profile = _FORMS[v201]
    missing = [(name, f"is required with {other}") for name, other in
               ((place, profile), (profile, place)) if name not in given]
    if missing:
        raise Invalid.all(missing)


def _status_code(outcome: Outcome) -> int:
    # A known station that is offline: the request is stored and carried out later.
    return 202 if outcome.status == DeliveryStatus.PENDING else 200


def invalid_profile(_: Request[Any, Any, Any], exc: InvalidProfile) -> Response[JsonObject]:
    extra = [{"key": v.path, "message": f"{v.rule} ({v.reference})" if v.reference else v.rule}
             for v in exc.violations]
    return Response({"status_code": 400, "detail": f"invalid profile: {exc.rule}",
                     "extra": extra}, status_code=400, media_type=MediaType.JSON)


class SmartChargingController(Controller):
    path = "/stations/{station_id:str}"
    tags = ["smart charging"]
    dependencies = dependencies
    exception_handlers = {InvalidProfile: invalid_profile}

    @post("/charging_profile", summary="Store a charging profile and send it", status_code=200,
          opt=OPERATOR,
          responses={**accepted_response(ProfileResponse, "the profile"),
                     **error_responses(404)},
          description="The profile comes in one of two forms, for a station of either "
          "version: `connector_id` with `profile` (OCPP 1.6 ChargingProfile), or `evse_id` "
          "with `charging_profile` (OCPP 2.0.1 ChargingProfileType; its transactionId is "
          "the station's own id of the transaction, a 1.6 station's integer id in decimal). "
          "A 2.0.1 profile is kept in its 1.6 form: what that form cannot keep (several "
          "schedules, salesTariff, phaseToUse, ChargingStationExternalConstraints) is "
          "refused. The profile is validated with the rules of the OCPP version the "
          "station speaks and the station's known limits, every refusal naming the field "
          "as the request spells it, stored as desired state, then sent with "
          "SetChargingProfile. 200 with the station's answer, or 202 `pending` when the "
          "station is offline.")
    async def send_profile(self, services: ServicesDep, station_id: StationIdPath,
                           data: JSONBody[ProfileRequest]) -> Response[ProfileResponse]:
        v201 = data.evse_id is not UNSET or data.charging_profile is not UNSET
        _check_form(data, v201)
        if v201:
            evse_id, profile = cast(int, data.evse_id), cast(JsonObject, data.charging_profile)
            _check_numbers(profile, "charging_profile")
            submitted = await services.smart_charging.submit_v201(station_id, evse_id, profile)
        else:
            connector_id, profile = cast(int, data.connector_id), cast(JsonObject, data.profile)
            _check_numbers(profile, "profile")
            submitted = await services.smart_charging.submit(station_id, connector_id, profile)
        outcome = submitted.outcome
        body = ProfileResponse(
            status=outcome.status,
            station_id=station_id, message=outcome.message, error=outcome.error,
            profile_id=submitted.profile_id, connector_id=submitted.connector_id,
            warnings=submitted.warnings,
            evse_id=submitted.connector_id if v201 else UNSET)
        return Response(body, status_code=_status_code(outcome))

    @get("/composite_schedule", summary="The station's composite schedule, and the expected one",
         opt=READER,
         description="Asks the station with GetCompositeSchedule and computes the composite it "
         "should report. A station that is offline or fails to answer gives status `error`, "
         "with the expected composite all the same.",
         responses=error_responses(404))
    async def composite(
        self, services: ServicesDep, station_id: StationIdPath,
        connector_id: Annotated[int, Parameter(
            ge=0, le=MAX_INT32, description="0 = whole station")],
        duration: Annotated[int, Parameter(
            gt=0, le=MAX_DURATION_S, description="Seconds, at most 31 days")],
        charging_rate_unit: Annotated[Unit, Parameter(description="A or W")] = "W",
    ) -> CompositeResponse:
        report = await services.smart_charging.composite(
            station_id, connector_id, duration, ChargingRateUnit(charging_rate_unit))
        return CompositeResponse(
            status=report.outcome.status,
            station_id=station_id, message=report.outcome.message, error=report.outcome.error,
            schedule=report.schedule, expected=report.expected, matches=report.matches)

    @delete("/charging_profile", summary="Clear charging profiles (filters combine with AND)",
            opt=OPERATOR,
            status_code=200, responses={**accepted_response(ClearResponse, "the clear request"),
                                        **error_responses(404)})
    async def clear(
        self, services: ServicesDep, station_id: StationIdPath,
        profile_id: Annotated[int | None, Parameter(
            ge=0, le=MAX_INT32, description="Only the profile with this chargingProfileId")] = None,
        connector_id: Annotated[int | None, Parameter(
            ge=0, le=MAX_INT32,
            description="Only profiles on this connector; 0 = the whole station")] = None,
        purpose: Annotated[str | None, Parameter(
            description="ChargePointMaxProfile | TxDefaultProfile | TxProfile")] = None,
        stack_level: Annotated[int | None, Parameter(
            ge=0, le=MAX_INT32, description="Only profiles at this stackLevel")] = None,
    ) -> Response[ClearResponse]:
        cleared = await services.smart_charging.clear(
            station_id, profile_id=profile_id, connector_id=connector_id, purpose=purpose,
            stack_level=stack_level)
        outcome = cleared.outcome
        body = ClearResponse(
            status=outcome.status,
            station_id=station_id, message=outcome.message, error=outcome.error,
            filters=cleared.filters,
            cleared=[ClearedProfile(profile_id=r.charging_profile_id,
                                    connector_id=r.connector_id, purpose=r.purpose,
                                    stack_level=r.stack_level) for r in cleared.removed])
        return Response(body, status_code=_status_code(outcome))

    @post("/test_profiles", summary="Generate a scenario profile, store it and send it",
          opt=OPERATOR,
          status_code=200, responses={**accepted_response(ScenarioResponse, "the profile"),
                                      **error_responses(404, 409)},
          description="energy_cap makes a TxProfile for `transaction_id`: 409 when that "
          "transaction is not running on the station (GET /stations/{id}/transactions?"
          "active=true lists the running ones).")
    async def test_profile(self, services: ServicesDep, station_id: StationIdPath,
                           data: JSONBody[ScenarioRequest]) -> Response[ScenarioResponse]:
        params = msgspec.structs.asdict(data)
        scenario = scenarios.build(data.scenario, data.connector_id, params, services.clock())
        transaction_id = scenario.profile.transaction_id
        if transaction_id is not None:
            # A TxProfile is for a running transaction (OCPP 1.6 §3.13.1): say so before
            # the station answers a bare Rejected.
            await services.stations.get(station_id)
            running = await TransactionQueries(services.db).running(station_id, transaction_id)
            if running.connector_id != scenario.connector_id:
                raise Invalid("connector_id", f"transaction {transaction_id} runs on connector "
                              f"{running.connector_id}, not {scenario.connector_id}")
        profile_json = scenario.profile.to_ocpp()
        del profile_json["chargingProfileId"]  # allocated by the database
        submitted = await services.smart_charging.submit(
            station_id, scenario.connector_id, profile_json, owner=Owner(OwnerKind.SCENARIO))
        outcome = submitted.outcome
        message = outcome.message if scenario.note is None else (
            f"{scenario.note}; {outcome.message}")
        body = ScenarioResponse(
            status=outcome.status,
            station_id=station_id, message=message, error=outcome.error,
            profile_id=submitted.profile_id, connector_id=submitted.connector_id,
            warnings=submitted.warnings, scenario=data.scenario, profile=submitted.profile)
        return Response(body, status_code=_status_code(outcome))

    @get("/charging_profiles", opt=READER, summary="Desired profiles and their delivery state",
         responses=error_responses(404))
    async def desired(self, services: ServicesDep,
                      station_id: StationIdPath) -> list[DesiredProfileView]:
        return [desired_view(row, sent) for row, sent
                in await services.smart_charging.desired_as_sent(station_id)]

    @post("/composite_schedule/preview", opt=READER, status_code=200,
          summary="The composite the station would have with these profiles added (dry run)",
          responses=error_responses(404))
    async def preview(self, services: ServicesDep, station_id: StationIdPath,
                      data: JSONBody[PreviewRequest]) -> PreviewResponse:
        extra: list[InstalledProfile] = []
        for index, item in enumerate(data.profiles):
            _check_numbers(item.profile, f"profiles[{index}].profile")
            try:
                profile, _ = await services.smart_charging.check_profile(
                    station_id, item.connector_id, item.profile)
            except InvalidProfile as exc:
                raise InvalidProfile([v.prefixed(f"profiles[{index}]")
                                      for v in exc.violations]) from None
            extra.append(InstalledProfile(item.connector_id, profile))
        start = as_utc(data.start, "start") or services.clock()
        if start > datetime.max.replace(tzinfo=UTC) - timedelta(seconds=data.duration):
            raise Invalid("start", "the window must end before the year 10000")
        composite = await services.smart_charging.expected(
            station_id, data.connector_id, start, data.duration,
            ChargingRateUnit(data.charging_rate_unit), extra=extra, from_desired=True)
        return PreviewResponse(station_id=station_id, composite=composite)
