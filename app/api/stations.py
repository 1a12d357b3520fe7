"""/stations: the station registry, and each station's recent OCPP exchanges."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.api.access import ADMIN, OPERATOR, READER
from app.api.deps import AuditLogDep, ServicesDep, dependencies
from app.api.errors import error_responses
from app.api.schemas import (
    AuditItem,
    HoldRequest,
    PasswordRotationView,
    SecurityProfileChange,
    StationCreate,
    StationUpdate,
    StationView,
    audit_item,
    station_view,
)
from app.services.fleet.audit_log import MAX_LIMIT
from app.services.messages import StationChanged, StationRegistered, StationReleased

StationIdPath = Annotated[str, Parameter(description="Charge point identity")]


class StationController(Controller):
    path = "/stations"
    tags = ["stations"]
    dependencies = dependencies

    @get("/", opt=READER, summary="List stations")
    async def list_stations(self, services: ServicesDep) -> list[StationView]:
        return [station_view(s) for s in await services.stations.list_all()]

    @get("/{station_id:str}", opt=READER, summary="One station", responses=error_responses(404))
    async def get_station(self, services: ServicesDep, station_id: StationIdPath) -> StationView:
        return station_view(await services.stations.get(station_id))

    @post("/", opt=ADMIN, summary="Pre-register a station", status_code=HTTP_201_CREATED,
          responses=error_responses(409))
    async def create_station(
        self, services: ServicesDep, data: JSONBody[StationCreate]
    ) -> StationView:
        # Tags are a set, kept sorted, as PATCH stores them.
        tags = sorted(set(data.tags))
        station = await services.stations.create(data.station_id, data.password, tags,
                                                 data.max_power_w)
        await services.bus.handle(StationRegistered(station.id))
        return station_view(station)

    @patch("/{station_id:str}", opt=ADMIN,
           summary="Change a station's password, tags, circuit or whether chargeplan manages it",
           responses=error_responses(404))
    async def update_station(
        self, services: ServicesDep, station_id: StationIdPath, data: JSONBody[StationUpdate]
    ) -> StationView:
        changes = data.changes()
        station = await services.stations.update(station_id, changes)
        await services.bus.handle(StationChanged(station_id, frozenset(changes),
                                                 managed_again=changes.get("managed") is True))
        return station_view(station)

    @delete("/{station_id:str}", summary="Remove a station", status_code=HTTP_204_NO_CONTENT,
            opt=ADMIN,
            responses=error_responses(404))
    async def delete_station(self, services: ServicesDep, station_id: StationIdPath) -> None:
        await services.stations.delete(station_id)

    @put("/{station_id:str}/security_profile", opt=ADMIN,
         summary="Raise a station's security profile (never lowered)",
         responses=error_responses(404))
    async def set_security_profile(self, services: ServicesDep, station_id: StationIdPath,
                                   data: JSONBody[SecurityProfileChange]) -> StationView:
        await services.station_security.raise_profile(station_id, data.security_profile,
                                                      via="REST")
        return station_view(await services.stations.get(station_id))

    @put("/{station_id:str}/hold", opt=OPERATOR, summary="Hold a station: boots Pending",
         description="Until released, the station's BootNotification is answered Pending "
         "(interval CHARGEPLAN_PENDING_BOOT_INTERVAL_S; OCPP 1.6 §4.2, OCPP 2.0.1 B02), its "
         "other requests are refused with SecurityError, and its desired profiles are kept "
         "and delivered once a boot is accepted; commands (GetVariables, SetVariables, "
         "GetBaseReport, GetConfiguration, ChangeConfiguration, TriggerMessage) still go "
         "out. A station connected and accepted is held from its next boot. Setting it "
         "again changes only the reason.",
         responses=error_responses(404))
    async def hold_station(self, services: ServicesDep, station_id: StationIdPath,
                           data: JSONBody[HoldRequest]) -> StationView:
        return station_view(await services.stations.hold(station_id, data.reason))

    @delete("/{station_id:str}/hold", opt=OPERATOR, status_code=200,
            summary="Release a station's hold: its next boot is accepted",
            description="A station connected here is asked at once (TriggerMessage "
            "BootNotification) to boot again, which is answered Accepted.",
            responses=error_responses(404))
    async def release_station(self, services: ServicesDep,
                              station_id: StationIdPath) -> StationView:
        station = await services.stations.release(station_id)
        services.bus.publish(StationReleased(station_id))
        return station_view(station)

    @post("/{station_id:str}/password", opt=ADMIN, status_code=200,
          summary="Rotate the station's password: a random AuthorizationKey is sent",
          description="Generates 20 random bytes and sends them, as 40 hex digits, with "
          "ChangeConfiguration AuthorizationKey. Until the station connects with the new key "
          "both it and the old password are accepted; the station may send the hex text or "
          "the bytes it encodes. The key is never shown, logged or audited. The station must "
          "be connected (409 otherwise).",
          responses=error_responses(404, 409, 502, 504))
    async def rotate_password(self, services: ServicesDep,
                              station_id: StationIdPath) -> PasswordRotationView:
        rotation = await services.station_security.rotate_password(station_id)
        return PasswordRotationView(station_id=station_id, status=rotation.status,
                                    response=rotation.response)

    @get("/{station_id:str}/logs", summary="A station's recent OCPP exchanges, newest first",
         opt=READER,
         responses=error_responses(404))
    async def station_logs(
        self,
        services: ServicesDep,
        audit_log: AuditLogDep,
        station_id: StationIdPath,
        limit: Annotated[
            int, Parameter(ge=1, le=MAX_LIMIT, description="How many frames, 1 to 1000")
        ] = 100,
    ) -> list[AuditItem]:
        await services.stations.get(station_id)  # 404 for a station that is not registered
        return [audit_item(row) for row in await audit_log.recent(station_id, limit)]
