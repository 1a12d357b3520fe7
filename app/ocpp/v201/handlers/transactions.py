"""OCPP 2.0.1 C (Authorization), E (Transactions) and J (Meter values), charging station
to CSMS, on the services that keep 1.6 sessions: one transaction row, one meter curve.

A TransactionEvent names its transaction by the station's string; the services give it
an integer id (``RemoteTransactions``), which every meter value, need and profile keys
on. The model keeps no transaction before it is authorized (docs/architecture.md): a
station that starts one when the cable is plugged in and names the idToken in a later
event has the session start then, on the EVSE, at the time and with the energy register
of its first event (the EVSE is named in the first event after the EV connected). Until
then its meter values are kept as the EVSE's, outside any transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.json_types import JsonObject
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.router import CallContext, Handler, Reply
from app.ocpp.v201 import convert
from app.ocpp.v201.remote_ids import FirstEvent, RemoteIds
from app.services.errors import Invalid
from app.services.messages import (
    ChargingStateChanged,
    CircuitChanged,
    SessionMetered,
    TransactionEventsMissing,
    TransactionReported,
)
from app.timefmt import parse_timestamp

_CHARGING = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE"})


def _id_token(payload: dict[str, Any]) -> str | None:
    """The idToken's value (the schema bounds it to 36 characters, as the services keep
    it)."""
    token = payload.get("idToken")
    return None if token is None else str(token["idToken"])


async def authorize(ctx: CallContext, payload: dict[str, Any]) -> Reply:
    """C01: the token's information, as the services decide it for a 1.6 idTag."""
    token = _id_token(payload)
    assert token is not None  # idToken is required by the schema
    info = await ctx.services.id_tags.id_tag_info(token)
    return Reply({"idTokenInfo": convert.id_token_info(info)})


async def _token_answer(ctx: CallContext, payload: dict[str, Any],
                        token: str | None) -> JsonObject:
    """An event that names an idToken is answered with what the CSMS knows of it; one of
    type NoAuthorization (a station that charges without authorizing) asks nothing."""
    if token is None or payload["idToken"]["type"] == "NoAuthorization":
        return {}
    return {"idTokenInfo": convert.id_token_info(await ctx.services.id_tags.id_tag_info(token))}


class TransactionHandlers:
    def __init__(self, ids: RemoteIds) -> None:
        self._ids = ids

    async def transaction_event(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        services = ctx.services
        info = payload["transactionInfo"]
        remote_id = info["transactionId"]
        at = parse_timestamp(payload["timestamp"])
        await services.stations.observe_time(ctx.station_id, at)
        token = _id_token(payload)
        evse = (payload.get("evse") or {}).get("id")

        tx_id = await services.remote_transactions.transaction_id(ctx.station_id, remote_id)
        known = tx_id is not None
        if tx_id is None:
            tx_id = await self._start(ctx, payload, token, evse, at)
            if tx_id is None:
                return Reply(await _token_answer(ctx, payload, token))
        self._ids.learn(tx_id, ctx.station_id, remote_id)
        if await services.remote_transactions.reported(ctx.station_id, tx_id) and known:
            # A transaction the station still runs after its boot: what waited for that
            # (its TxProfile) can go now.
            services.bus.publish(TransactionReported(ctx.station_id, tx_id))
        answer = await _token_answer(ctx, payload, token)
        row = next((tx for tx in await services.transactions.active(ctx.station_id)
                    if tx.id == tx_id), None)
        place = self._ids.place(tx_id, evse if evse is not None
                                else row.connector_id if row is not None else None)

        values = payload.get("meterValue") or []
        new = self._ids.first_time(tx_id, payload["seqNo"])
        energy = convert.energy_wh(values)
        if energy is not None and new:
            self._ids.metered(tx_id, energy)
        if place is not None:
            # Else a repeat of a transaction that ended before this process heard of it.
            if values and new:
                await self._meter(ctx, place, tx_id, values)
            await self._status(ctx, place, info.get("chargingState"), payload["eventType"],
                               at)
        if payload["eventType"] == "Ended":
            # meterStop: the event's reading, else the last one heard, else the start.
            meter_stop = self._ids.last_energy(tx_id)
            if meter_stop is None:
                meter_stop = row.meter_start if row is not None else 0
            await services.remote_transactions.ended(
                ctx.station_id, remote_id, meter_stop_wh=meter_stop, stopped_at=at,
                reason=info.get("stoppedReason"))
            missing = self._ids.ended(tx_id, payload["seqNo"])
            if missing:
                services.bus.publish(TransactionEventsMissing(ctx.station_id, tx_id,
                                                              remote_id, missing))
        return Reply(answer)

    async def _start(self, ctx: CallContext, payload: dict[str, Any], token: str | None,
                     evse: int | None, at: datetime) -> int | None:
        """The session of an event of a transaction the services do not know: started
        once an event names the idToken, where and when its first event began; None
        until then (its readings and state are the EVSE's meanwhile)."""
        remote_id = payload["transactionInfo"]["transactionId"]
        values = payload.get("meterValue") or []
        first = self._ids.waiting(ctx.station_id, remote_id, FirstEvent(
            evse, convert.energy_wh(values), at))
        ended = payload["eventType"] == "Ended"
        if token is None or first.evse_id is None or ended:
            if first.evse_id is not None:
                if values:
                    await self._meter(ctx, first.evse_id, None, values)
                await self._status(ctx, first.evse_id,
                                   payload["transactionInfo"].get("chargingState"),
                                   payload["eventType"], at)
            if ended:
                self._ids.started(ctx.station_id, remote_id)
            return None
        try:
            started = await ctx.services.remote_transactions.started(
                ctx.station_id, remote_id, evse_id=first.evse_id, id_token=token,
                meter_start_wh=first.energy_wh or 0, started_at=first.at,
                reservation_id=payload.get("reservationId"))
        except Invalid as exc:
            raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(exc)) from None
        self._ids.started(ctx.station_id, remote_id)
        return started.transaction_id

    @staticmethod
    async def _status(ctx: CallContext, place: int, state: str | None, event_type: str,
                      at: datetime) -> None:
        """The connector's 1.6 status from the event's chargingState, if it says one."""
        status = convert.charging_state_status(state, event_type)
        if status is None:
            return
        await ctx.services.stations.status(ctx.station_id, {
            "connectorId": place, "status": status, "errorCode": "NoError"}, at)
        if status in _CHARGING:
            # A car that pauses or charges again changes what its circuit should share.
            ctx.services.bus.publish(ChargingStateChanged(ctx.station_id))

    @staticmethod
    async def _meter(ctx: CallContext, place: int, tx_id: int | None,
                     values: list[dict[str, Any]]) -> None:
        services = ctx.services
        converted = convert.meter_values(values)
        request: JsonObject = {"connectorId": place, "meterValue": converted}
        if tx_id is not None:
            request["transactionId"] = tx_id
        await services.transactions.meter_values(ctx.station_id, request)
        metered = await services.circuits.meter_sample(ctx.station_id, place, converted)
        if metered is not None:  # the connector is a circuit's meter
            services.bus.publish(CircuitChanged(metered))
        if tx_id is not None:
            services.bus.publish(SessionMetered(ctx.station_id))

    async def meter_values(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        """J01: values of an EVSE outside a transaction's events (0: the main meter)."""
        latest = max(parse_timestamp(m["timestamp"]) for m in payload["meterValue"])
        await ctx.services.stations.observe_time(ctx.station_id, latest)
        await self._meter(ctx, payload["evseId"], None, payload["meterValue"])
        return Reply({})

    def handlers(self) -> dict[str, Handler]:
        return {"Authorize": authorize, "TransactionEvent": self.transaction_event,
                "MeterValues": self.meter_values}
