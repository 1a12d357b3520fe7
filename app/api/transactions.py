"""/transactions and /stations/{id}/transactions: charging sessions, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Router, delete, get, put
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK

from app.api.access import OPERATOR, READER
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.api.need_schemas import (
    EvScheduleView,
    NeedBody,
    NeedView,
    ev_schedule_view,
    need_view,
)
from app.api.paging import CursorQuery, LimitQuery
from app.api.schemas import (
    CurvePointView,
    MeterCurveView,
    TransactionPageView,
    as_utc,
    transaction_view,
)
from app.services.fleet.transactions import MAX_CURVE_POINTS, TransactionFilter, TransactionQueries
from app.services.messages import NeedsChanged

ConnectorQuery = Annotated[int | None, Parameter(
    ge=0, le=2**31 - 1, description="Only transactions on this connector")]
ActiveQuery = Annotated[bool | None, Parameter(
    description="true: only running ones; false: only stopped ones")]
SinceQuery = Annotated[datetime | None, Parameter(
    description="Started at or after; ISO 8601, without offset read as UTC")]
UntilQuery = Annotated[datetime | None, Parameter(
    description="Started before; ISO 8601, without offset read as UTC")]


async def _page(services: ServicesDep, station_id: str | None, connector_id: int | None,
                active: bool | None, since: datetime | None, until: datetime | None,
                limit: int, cursor: str | None) -> TransactionPageView:
    where = TransactionFilter(station_id=station_id, connector_id=connector_id, active=active,
                              since=as_utc(since, "since"), until=as_utc(until, "until"))
    page = await TransactionQueries(services.db).page(where, limit=limit, cursor=cursor)
    return TransactionPageView(items=[transaction_view(t) for t in page.transactions],
                               next_cursor=page.next_cursor)


@get("/transactions", opt=READER, summary="Transactions of every station, newest first",
     description="Filters combine with AND; page with `cursor` = the `next_cursor` of the "
     "previous page.", responses=error_responses())
async def list_transactions(
    services: ServicesDep,
    station_id: Annotated[str | None, Parameter(description="Only this station")] = None,
    connector_id: ConnectorQuery = None, active: ActiveQuery = None,
    since: SinceQuery = None, until: UntilQuery = None,
    limit: LimitQuery = 100, cursor: CursorQuery = None,
) -> TransactionPageView:
    return await _page(services, station_id, connector_id, active, since, until, limit, cursor)


@get("/stations/{station_id:str}/transactions", opt=READER, summary="One station's transactions",
     description="As GET /transactions?station_id=, and 404 for a station that is not "
     "registered.", responses=error_responses(404))
async def station_transactions(
    services: ServicesDep,
    station_id: Annotated[str, Parameter(description="Charge point identity")],
    connector_id: ConnectorQuery = None, active: ActiveQuery = None,
    since: SinceQuery = None, until: UntilQuery = None,
    limit: LimitQuery = 100, cursor: CursorQuery = None,
) -> TransactionPageView:
    await services.stations.get(station_id)  # 404 for an unknown station
    return await _page(services, station_id, connector_id, active, since, until, limit, cursor)


@get("/transactions/{transaction_id:int}/meter_curve", opt=READER,
     summary="A transaction's energy, power and current over time",
     description="From the stored MeterValues (and StopTransaction transactionData) of the "
     "transaction: one point per sampled instant, oldest first, the newest `limit` ones. "
     "Samples whose time was flagged (future, too_old) are left out.",
     responses=error_responses(404))
async def meter_curve(
    services: ServicesDep,
    transaction_id: Annotated[int, Parameter(ge=1, le=2**31 - 1,
                                             description="The OCPP transactionId")],
    limit: Annotated[int, Parameter(ge=1, le=MAX_CURVE_POINTS,
                                    description="Newest points to return")] = 2000,
) -> MeterCurveView:
    transaction, points = await TransactionQueries(services.db).meter_curve(
        transaction_id, limit=limit)
    return MeterCurveView(
        transaction_id=transaction.id, station_id=transaction.station_id,
        connector_id=transaction.connector_id, active=transaction.stopped_at is None,
        meter_start=transaction.meter_start,
        points=[CurvePointView(at=p.at, energy_wh=p.energy_wh, power_w=p.power_w,
                               current_a=p.current_a) for p in points])


TransactionPath = Annotated[int, Parameter(ge=1, le=2**31 - 1,
                                           description="The OCPP transactionId")]
_NEEDS_RULE = ("The first source that has one wins: ev (what the car said, OCPP 2.0.1 "
               "NotifyEVChargingNeeds) > request (PUT here) > id_tag (the id "
               "tag's default_needs) > history (medians of its last 3 to 10 sessions) > "
               "circuit_default (the circuit's default_dwell_s) > none. 404 for an unknown "
               "transaction, 409 for one that has ended.")


@get("/transactions/{transaction_id:int}/needs", opt=READER,
     summary="What a running session needs: energy by its departure, and from where",
     description=_NEEDS_RULE, responses=error_responses(404, 409))
async def get_needs(services: ServicesDep, transaction_id: TransactionPath) -> NeedView:
    return need_view(await services.needs.get(transaction_id))


@put("/transactions/{transaction_id:int}/needs", opt=OPERATOR,
     summary="Ask for energy by a departure for a running session",
     description="From a driver app or a fleet system: energy_kwh, or target_soc with "
     "battery_kwh and soc (the energy is (target_soc - soc) / 100 x battery_kwh; without soc "
     "it is refused naming soc). A departure in the past or an energy of 0 is kept: the "
     "session then has no plan and gets its fair share (plan false, with the reason). "
     + _NEEDS_RULE + " The session's circuit tree is re-planned.",
     responses=error_responses(404, 409))
async def put_needs(services: ServicesDep, transaction_id: TransactionPath,
                    data: JSONBody[NeedBody]) -> NeedView:
    found = await services.needs.put(transaction_id, data.to_service())
    services.bus.publish(NeedsChanged(found.transaction.station_id, found.transaction.id))
    return need_view(found)


@delete("/transactions/{transaction_id:int}/needs", opt=OPERATOR, status_code=HTTP_200_OK,
        summary="Withdraw a session's request: its need falls back to the next source",
        description=_NEEDS_RULE, responses=error_responses(404, 409))
async def delete_needs(services: ServicesDep, transaction_id: TransactionPath) -> NeedView:
    found = await services.needs.delete(transaction_id)
    services.bus.publish(NeedsChanged(found.transaction.station_id, found.transaction.id))
    return need_view(found)


@get("/transactions/{transaction_id:int}/ev_schedules", opt=READER,
     summary="The schedules the car chose (OCPP 2.0.1) and whether they fit",
     description="Every NotifyEVChargingSchedule of the session, oldest first: accepted "
     "when at or below what chargeplan sent for it at every instant, rejected (with the "
     "first period and instant above, and by how much) otherwise, and the renegotiation a "
     "rejection led to. 404 for an unknown transaction.",
     responses=error_responses(404))
async def ev_schedules(services: ServicesDep,
                       transaction_id: TransactionPath) -> list[EvScheduleView]:
    return [ev_schedule_view(row)
            for row in await services.ev_schedules.of_transaction(transaction_id)]


transactions_router = Router(path="/", route_handlers=[list_transactions, station_transactions,
                                                       meter_curve, get_needs, put_needs,
                                                       delete_needs, ev_schedules],
                             tags=["transactions"], dependencies=dependencies)
