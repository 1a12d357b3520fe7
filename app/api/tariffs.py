"""/tariffs: time-of-use tariffs in local time, regenerated into TxDefaultProfiles daily."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.api.access import OPERATOR, READER
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.api.plan_schemas import (
    PricesBody,
    TariffBody,
    TariffDraftPreview,
    TariffPreview,
    TariffStatus,
    TariffView,
    plan_preview,
    status_views,
    tariff_view,
)
from app.domain import tariffs as tou
from app.services.errors import Invalid
from app.services.schedules.plans import PlanSpec

TariffIdPath = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="The tariff's id")]
DateQuery = Annotated[str | None, Parameter(
    description="Local YYYY-MM-DD the profile starts; default: today")]


def local_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return tou.parse_date(text)
    except tou.TariffError as exc:
        raise Invalid(exc.field, exc.rule) from None


class TariffController(Controller):
    path = "/tariffs"
    tags = ["tariffs"]
    dependencies = dependencies

    @post("/", opt=OPERATOR, summary="Create a time-of-use tariff", status_code=HTTP_201_CREATED,
          description="Generates today's and tomorrow's TxDefaultProfile (Absolute, from local "
          "midnight) for every target at once, and again every day at 00:05 local time.",
          responses=error_responses())
    async def create_tariff(self, services: ServicesDep,
                            data: JSONBody[TariffBody]) -> TariffView:
        result = await services.tariffs.create(data.to_service())
        return tariff_view(result.tariff, result.outcome)

    @get("/", opt=READER, summary="List tariffs")
    async def list_tariffs(self, services: ServicesDep) -> list[TariffView]:
        return [tariff_view(t) for t in await services.tariffs.list_all()]

    @get("/{tariff_id:int}", opt=READER, summary="One tariff",
         responses=error_responses(404))
    async def get_tariff(self, services: ServicesDep, tariff_id: TariffIdPath) -> TariffView:
        return tariff_view(await services.tariffs.get(tariff_id))

    @put("/{tariff_id:int}", opt=OPERATOR, summary="Replace a tariff",
         responses=error_responses(404))
    async def replace_tariff(self, services: ServicesDep, tariff_id: TariffIdPath,
                             data: JSONBody[TariffBody]) -> TariffView:
        result = await services.tariffs.replace(tariff_id, data.to_service())
        return tariff_view(result.tariff, result.outcome)

    @delete("/{tariff_id:int}", summary="Delete a tariff and clear it from its stations",
            opt=OPERATOR,
            status_code=HTTP_204_NO_CONTENT,
            responses=error_responses(404))
    async def delete_tariff(self, services: ServicesDep, tariff_id: TariffIdPath) -> None:
        await services.tariffs.delete(tariff_id)

    @post("/{tariff_id:int}/prices", summary="Day-ahead hourly prices for one local date",
          opt=OPERATOR,
          status_code=200,
          responses=error_responses(404))
    async def set_prices(self, services: ServicesDep, tariff_id: TariffIdPath,
                         data: JSONBody[PricesBody]) -> TariffView:
        result = await services.tariffs.set_prices(tariff_id, data.date, data.prices)
        return tariff_view(result.tariff, result.outcome)

    @post("/preview", opt=READER, summary="What a tariff would do (dry run)", status_code=200,
          description="The TxDefaultProfile an unsaved tariff generates for a local date and "
          "the next, and per target station the composite for the next 24 h in W with that "
          "profile in place, or why the station cannot take it. Nothing is stored or sent.",
          responses=error_responses(404))
    async def preview_draft(
        self, services: ServicesDep, data: JSONBody[TariffBody], date: DateQuery = None,
        prices_of: Annotated[int | None, Parameter(
            ge=1, le=2**31 - 1,
            description="A stored tariff whose day-ahead prices the preview uses")] = None,
    ) -> TariffDraftPreview:
        spec = data.to_service()
        profile = await services.tariffs.draft_profile(spec, local_date(date),
                                                       prices_of=prices_of)
        start = profile.schedule.start_schedule
        assert start is not None  # always set by the generator
        body = profile.to_ocpp()
        del body["chargingProfileId"]  # allocated per station
        stations, unknown = await services.plans.preview(PlanSpec(
            name=spec.name, targets=spec.targets, profile=body,
            connector_id=spec.connector_id))
        result = plan_preview(stations, unknown)
        return TariffDraftPreview(
            date=start.astimezone(tou.zone(spec.timezone)).date().isoformat(), profile=body,
            stations=result.stations, problems=result.problems)

    @get("/{tariff_id:int}/preview", opt=READER, summary="The profile generated for a local date",
         responses=error_responses(404))
    async def preview_tariff(
        self, services: ServicesDep, tariff_id: TariffIdPath, date: DateQuery = None,
    ) -> TariffPreview:
        profile = await services.tariffs.profile(tariff_id, local_date(date))
        start = profile.schedule.start_schedule
        assert start is not None  # always set by the generator
        tariff = await services.tariffs.get(tariff_id)
        local = start.astimezone(tou.zone(tariff.timezone)).date()
        body = profile.to_ocpp()
        del body["chargingProfileId"]  # allocated per station
        return TariffPreview(tariff_id=tariff_id, date=local.isoformat(), profile=body)

    @get("/{tariff_id:int}/status", opt=READER, summary="Delivery and verification per station",
         responses=error_responses(404))
    async def tariff_status(self, services: ServicesDep,
                            tariff_id: TariffIdPath) -> TariffStatus:
        return TariffStatus(tariff_id=tariff_id,
                          stations=status_views(await services.tariffs.status(tariff_id)))
