"""/stations/{id}/variables and /stations/{id}/external_limits: what a station reports of
itself beyond OCPP 1.6 (its device model, limits set outside chargeplan)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from app.api.access import READER
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.api.station_model_schemas import (
    DeviceModelView,
    ExternalLimitView,
    device_model_view,
    external_limit_view,
)

StationIdPath = Annotated[str, Parameter(description="Charge point identity")]


class StationModelController(Controller):
    path = "/stations"
    tags = ["stations"]
    dependencies = dependencies

    @get("/{station_id:str}/variables", opt=READER,
         summary="A station's device model: the variables it reported",
         description="What the station reported with NotifyReport (GetBaseReport, in "
         "pages; a new base report replaces the old one when its last page comes) and "
         "GetVariables (OCPP 2.0.1 B06-B08). SmartChargingCtrlr variables give the "
         "station's capabilities (GET /stations/{id}: capabilities).",
         responses=error_responses(404))
    async def variables(
        self, services: ServicesDep, station_id: StationIdPath,
        component: Annotated[str | None, Parameter(
            description="Only this component, e.g. SmartChargingCtrlr")] = None,
        variable: Annotated[str | None, Parameter(
            description="Only this variable, e.g. PeriodsPerSchedule")] = None,
    ) -> DeviceModelView:
        found = await services.device_model.model(station_id, component, variable)
        return device_model_view(station_id, found)

    @get("/{station_id:str}/external_limits", opt=READER,
         summary="Charging limits set on a station outside chargeplan",
         description="What the station reported with NotifyChargingLimit and has not "
         "cleared with ClearedChargingLimit (OCPP 2.0.1 K12, K13). Load management caps "
         "the sessions they bound; a session held down by one is bound by "
         '"external limit (SOURCE)".',
         responses=error_responses(404))
    async def external_limits(self, services: ServicesDep,
                              station_id: StationIdPath) -> list[ExternalLimitView]:
        return [external_limit_view(r)
                for r in await services.external_limits.of_station(station_id)]
