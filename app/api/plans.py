"""/plans: one charging profile as desired state on many stations at once."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.api.access import OPERATOR, READER
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.api.plan_schemas import (
    PlanBody,
    PlanPreview,
    PlanStatus,
    PlanView,
    plan_preview,
    plan_view,
    status_views,
)
from app.api.smart_charging import invalid_profile
from app.services.delivery.smart_charging import InvalidProfile

PlanIdPath = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="The plan's id")]


class PlanController(Controller):
    path = "/plans"
    tags = ["plans"]
    dependencies = dependencies
    exception_handlers = {InvalidProfile: invalid_profile}

    @post("/", opt=OPERATOR, summary="Create a plan", status_code=HTTP_201_CREATED,
          description="Stores the plan and, when enabled, one desired profile per target "
          "station; the reconcile job delivers them. Stations that cannot take the profile "
          "are listed in `applied.problems`.",
          responses=error_responses())
    async def create_plan(self, services: ServicesDep, data: JSONBody[PlanBody]) -> PlanView:
        result = await services.plans.create(data.to_service())
        return plan_view(result.plan, result.outcome)

    @get("/", opt=READER, summary="List plans")
    async def list_plans(self, services: ServicesDep) -> list[PlanView]:
        return [plan_view(p) for p in await services.plans.list_all()]

    @get("/{plan_id:int}", opt=READER, summary="One plan",
         responses=error_responses(404))
    async def get_plan(self, services: ServicesDep, plan_id: PlanIdPath) -> PlanView:
        return plan_view(await services.plans.get(plan_id))

    @put("/{plan_id:int}", opt=OPERATOR, summary="Replace a plan",
         description="Changed profiles keep their chargingProfileId on each station, so the "
         "station replaces them in place; stations no longer targeted are cleared.",
         responses=error_responses(404))
    async def replace_plan(self, services: ServicesDep, plan_id: PlanIdPath,
                           data: JSONBody[PlanBody]) -> PlanView:
        result = await services.plans.replace(plan_id, data.to_service())
        return plan_view(result.plan, result.outcome)

    @delete("/{plan_id:int}", opt=OPERATOR, summary="Delete a plan and clear it from its stations",
            status_code=HTTP_204_NO_CONTENT,
            responses=error_responses(404))
    async def delete_plan(self, services: ServicesDep, plan_id: PlanIdPath) -> None:
        await services.plans.delete(plan_id)

    @post("/preview", opt=READER, summary="What a plan would do (dry run)", status_code=200,
          description="Per target station, the composite schedule for the next 24 h in W with "
          "the plan's profile added to its desired profiles, or why the station cannot take "
          "it. Nothing is stored or sent.",
          responses=error_responses())
    async def preview_plan(self, services: ServicesDep,
                           data: JSONBody[PlanBody]) -> PlanPreview:
        stations, unknown = await services.plans.preview(data.to_service())
        return plan_preview(stations, unknown)

    @get("/{plan_id:int}/status", opt=READER, summary="Delivery and verification per station",
         responses=error_responses(404))
    async def plan_status(self, services: ServicesDep, plan_id: PlanIdPath) -> PlanStatus:
        return PlanStatus(plan_id=plan_id,
                          stations=status_views(await services.plans.status(plan_id)))
