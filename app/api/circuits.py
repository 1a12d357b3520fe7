"""/circuits: the electrical tree of a site, its limits and meters, and how it is shared."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UnsetType

from app.api.access import ADMIN, OPERATOR, READER
from app.api.circuit_schemas import (
    AllocationView,
    CircuitCreate,
    CircuitUpdate,
    CircuitView,
    ConnectorLimitView,
    MeasurementBody,
    PlanView,
    WindowBody,
    allocation_view,
    circuit_view,
    connector_limit_view,
    phases,
    plan_view,
    windows,
)
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.services.errors import Invalid
from app.services.load.circuits import check_windows
from app.services.messages import CircuitChanged, StationsLeftCircuit

CircuitIdPath = Annotated[str, Parameter(description="The circuit's id")]


class CircuitController(Controller):
    path = "/circuits"
    tags = ["load management"]
    dependencies = dependencies

    @post("/", opt=ADMIN, summary="Create a circuit", status_code=HTTP_201_CREATED,
          description="A grid connection (no parent_id) or a circuit below another. Assign "
          "stations to it with PATCH /stations/{id} {\"circuit_id\": ...}.",
          responses=error_responses(409))
    async def create_circuit(self, services: ServicesDep,
                             data: JSONBody[CircuitCreate]) -> CircuitView:
        body = data.to_service()
        check_windows(body["limits"])
        return circuit_view(await services.circuits.create(body))

    @get("/", opt=READER, summary="List circuits")
    async def list_circuits(self, services: ServicesDep) -> list[CircuitView]:
        return [circuit_view(c) for c in await services.circuits.list_all()]

    @get("/{circuit_id:str}", opt=READER, summary="One circuit", responses=error_responses(404))
    async def get_circuit(self, services: ServicesDep, circuit_id: CircuitIdPath) -> CircuitView:
        return circuit_view(await services.circuits.get(circuit_id))

    @patch("/{circuit_id:str}", opt=ADMIN, summary="Change a circuit's limits or place in the tree",
           responses=error_responses(404))
    async def update_circuit(self, services: ServicesDep, circuit_id: CircuitIdPath,
                             data: JSONBody[CircuitUpdate]) -> CircuitView:
        row = await services.circuits.update(circuit_id, data.changes())
        services.bus.publish(CircuitChanged(circuit_id))
        return circuit_view(row)

    @delete("/{circuit_id:str}", opt=ADMIN, summary="Delete a circuit",
            status_code=HTTP_204_NO_CONTENT,
            description="Refused while circuits hang below it; its stations are unassigned "
                        "and the limits it set on them are cleared from the chargers.",
            responses=error_responses(404, 409))
    async def delete_circuit(self, services: ServicesDep, circuit_id: CircuitIdPath) -> None:
        left = await services.circuits.delete(circuit_id)
        services.bus.publish(StationsLeftCircuit(tuple(left)))

    @put("/{circuit_id:str}/limits", opt=OPERATOR, summary="Replace a circuit's limit windows",
         description="Each window's limits replace the circuit's own while it runs, e.g. a "
         "grid operator's signal; an empty list removes them all.",
         responses=error_responses(404))
    async def put_limits(self, services: ServicesDep, circuit_id: CircuitIdPath,
                         data: JSONBody[list[WindowBody]]) -> CircuitView:
        row = await services.circuits.put_limits(circuit_id, windows(data))
        services.bus.publish(CircuitChanged(circuit_id))
        return circuit_view(row)

    @put("/{circuit_id:str}/measurement", opt=OPERATOR,
         summary="Report what a circuit's meter reads now",
         description="Either other_load_a (what is not a managed session) or total_a (the "
         "meter's total, from which the sessions' metered draw is taken out: only samples "
         "no older than stale_after_s, each at most the session's circuit limit). Older "
         "than stale_after_s, it gives way to worst_case_other_load_a.",
         responses=error_responses(404))
    async def put_measurement(self, services: ServicesDep, circuit_id: CircuitIdPath,
                              data: JSONBody[MeasurementBody]) -> CircuitView:
        if isinstance(data.other_load_a, UnsetType) == isinstance(data.total_a, UnsetType):
            raise Invalid("other_load_a", "give exactly one of other_load_a and total_a")
        if not isinstance(data.other_load_a, UnsetType):
            row = await services.circuits.put_measurement(circuit_id, phases(data.other_load_a))
        else:
            assert not isinstance(data.total_a, UnsetType)
            row = await services.circuits.put_total_measurement(circuit_id, phases(data.total_a))
        services.bus.publish(CircuitChanged(circuit_id))
        return circuit_view(row)

    @get("/{circuit_id:str}/allocation", opt=READER,
         summary="How the circuit's tree is shared now",
         description="Solves the whole tree the circuit belongs to: per circuit and phase "
         "the limit, load and headroom; per running transaction its limit, the constraint "
         "that binds it, whether it was admitted and its safe share, and, when the tree is "
         "planned ahead (a session has a need), its need_source, planned_kwh, "
         "shortfall_kwh, shortfall_reason, decided_by and periods.",
         responses=error_responses(404))
    async def get_allocation(
        self, services: ServicesDep, circuit_id: CircuitIdPath,
        at: Annotated[datetime | None, Parameter(
            description="Instant to solve at, ISO 8601 (default now)")] = None,
    ) -> AllocationView:
        solved = await services.load.allocation(circuit_id, at)
        return allocation_view(solved, services.load.last.get(solved.root_id))

    @get("/{circuit_id:str}/plan", opt=READER,
         summary="The tree's plan over the horizon",
         description="Plans the whole tree the circuit belongs to from `at` (default now), "
         "as its re-plans do: per slot its start, end, price and what each circuit leaves "
         "its sessions per phase; per running transaction its need and planned current "
         "per slot. decided_by says whether the planner or the water level decided.",
         responses=error_responses(404))
    async def get_plan(
        self, services: ServicesDep, circuit_id: CircuitIdPath,
        at: Annotated[datetime | None, Parameter(
            description="Instant to plan from, ISO 8601 (default now)")] = None,
    ) -> PlanView:
        return plan_view(await services.load.allocation(circuit_id, at))



class ConnectorLimitController(Controller):
    path = "/stations"
    tags = ["load management"]
    dependencies = dependencies

    @get("/{station_id:str}/connectors/{connector_id:int}/limit", opt=READER,
         summary="What limits a connector, and why",
         description="The composite of the station's desired profiles at `at` in A, each "
         "profile of the connector and of connector 0 with its owner and its limit then, "
         "the circuit's share for the running transaction and the constraint binding it.",
         responses=error_responses(404))
    async def connector_limit(
        self, services: ServicesDep,
        station_id: Annotated[str, Parameter(description="Charge point identity")],
        connector_id: Annotated[int, Parameter(ge=1, description="The connector, 1 or more")],
        at: Annotated[datetime | None, Parameter(
            description="Instant to explain, ISO 8601 (default now)")] = None,
    ) -> ConnectorLimitView:
        return connector_limit_view(await services.load.explain(station_id, connector_id, at))
