"""/id_tags: the central id-tag list that Authorize and StartTransaction check."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UnsetType

from app.api.access import OPERATOR, READER
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.api.schemas import (
    IdTagCreate,
    IdTagPatch,
    IdTagReplace,
    IdTagView,
    as_utc,
    id_tag_view,
)
from app.domain.needs import DailyDefault

IdTagPath = Annotated[str, Parameter(description="OCPP IdToken")]


class IdTagController(Controller):
    path = "/id_tags"
    tags = ["id tags"]
    dependencies = dependencies

    @get("/", opt=READER, summary="List id tags")
    async def list_id_tags(self, services: ServicesDep) -> list[IdTagView]:
        return [id_tag_view(row) for row in await services.id_tags.list_all()]

    @get("/{id_tag:str}", opt=READER, summary="One id tag", responses=error_responses(404))
    async def get_id_tag(self, services: ServicesDep, id_tag: IdTagPath) -> IdTagView:
        return id_tag_view(await services.id_tags.get(id_tag))

    @post("/", opt=OPERATOR, summary="Add an id tag", status_code=HTTP_201_CREATED,
          responses=error_responses(409))
    async def create_id_tag(self, services: ServicesDep, data: JSONBody[IdTagCreate]) -> IdTagView:
        row = await services.id_tags.create(
            data.id_tag, data.status, as_utc(data.expiry_date, "expiry_date"), data.parent_id_tag
        )
        return id_tag_view(row)

    @put("/{id_tag:str}", opt=OPERATOR, summary="Replace an id tag's status, expiry and parent",
         responses=error_responses(404))
    async def replace_id_tag(
        self, services: ServicesDep, id_tag: IdTagPath, data: JSONBody[IdTagReplace]
    ) -> IdTagView:
        changes = {
            "status": data.status,
            "expiry_date": as_utc(data.expiry_date, "expiry_date"),
            "parent_id_tag": data.parent_id_tag,
        }
        return id_tag_view(await services.id_tags.replace(id_tag, changes))

    @patch("/{id_tag:str}", opt=OPERATOR, summary="Change an id tag's default needs",
           description="default_needs: the energy its sessions need by the first "
           "departure_local (HH:MM, in timezone) after they start, unless a request "
           "(PUT /transactions/{id}/needs) says otherwise; null removes it. Fields left out "
           "stay as they are.", responses=error_responses(404))
    async def patch_id_tag(
        self, services: ServicesDep, id_tag: IdTagPath, data: JSONBody[IdTagPatch]
    ) -> IdTagView:
        if not isinstance(data.default_needs, UnsetType):
            body = data.default_needs
            default = None if body is None else DailyDefault(
                body.energy_kwh, body.departure_local, body.timezone)
            return id_tag_view(await services.id_tags.set_default_needs(id_tag, default))
        return id_tag_view(await services.id_tags.get(id_tag))

    @delete("/{id_tag:str}", summary="Remove an id tag", status_code=HTTP_204_NO_CONTENT,
            opt=OPERATOR,
            responses=error_responses(404))
    async def delete_id_tag(self, services: ServicesDep, id_tag: IdTagPath) -> None:
        await services.id_tags.delete(id_tag)
