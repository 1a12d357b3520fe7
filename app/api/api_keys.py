"""/api_keys: REST API keys (admin only). The command line does the same:
``chargeplan apikey create|list|revoke``."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from app.api.access import ADMIN
from app.api.access_schemas import (
    ApiKeyCreate,
    ApiKeyView,
    CreatedApiKeyView,
    api_key_view,
)
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses

KeyName = Annotated[str, Parameter(description="The key's name")]


class ApiKeyController(Controller):
    path = "/api_keys"
    tags = ["security"]
    dependencies = dependencies

    @get("/", opt=ADMIN, summary="API keys (never the keys themselves)")
    async def list_keys(self, services: ServicesDep) -> list[ApiKeyView]:
        return [api_key_view(k) for k in await services.api_keys.list()]

    @post("/", opt=ADMIN, summary="Create an API key; the answer shows it once",
          status_code=HTTP_201_CREATED, responses=error_responses(409))
    async def create_key(self, services: ServicesDep,
                         data: JSONBody[ApiKeyCreate]) -> CreatedApiKeyView:
        created = await services.api_keys.create(data.name, data.role)
        view = api_key_view(created.key)
        return CreatedApiKeyView(**{f: getattr(view, f) for f in view.__struct_fields__},
                                 key=created.secret)

    @delete("/{name:str}", opt=ADMIN, summary="Revoke an API key (kept, marked revoked)",
            status_code=200, responses=error_responses(404))
    async def revoke_key(self, services: ServicesDep, name: KeyName) -> ApiKeyView:
        return api_key_view(await services.api_keys.revoke(name))
