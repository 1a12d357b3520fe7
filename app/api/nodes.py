"""/nodes: the server processes on this database, their heartbeats and stations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import get
from msgspec import Meta

from app.api.access import READER
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses


class NodeView(msgspec.Struct, kw_only=True):
    id: Annotated[str, Meta(description="The node's id (chargeplan serve --node-id)")]
    started_at: Annotated[datetime, Meta(description="When the process started (UTC)")]
    heartbeat_at: Annotated[datetime, Meta(description="Its last heartbeat (UTC)")]
    alive: Annotated[bool, Meta(description="Beating: a node silent for three heartbeats "
                                            "holds no station any more")]
    stations: Annotated[int, Meta(description="Online stations whose websocket it holds")]
    this_node: Annotated[bool, Meta(description="The node that answered this request")]


@get("/nodes", opt=READER, tags=["health"], dependencies=dependencies,
     summary="Server processes sharing this database, their heartbeats and stations",
     responses=error_responses())
async def list_nodes(services: ServicesDep) -> list[NodeView]:
    return [NodeView(id=n.id, started_at=n.started_at, heartbeat_at=n.heartbeat_at,
                     alive=n.alive, stations=n.stations, this_node=n.this_node)
            for n in await services.nodes.listing()]
