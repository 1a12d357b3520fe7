"""What follows each happening: the one table (:data:`REACTIONS`) from a message type to
its handlers, in the order they run.

"What happens when a transaction stops?" is the row of ``TransactionStopped``. OCPP
handlers, REST controllers, jobs and services publish messages
(``app/services/messages.py``); the message bus (``app/services/messagebus.py``) hands
each to the handlers below, one after the other, each called with the services and the
message; one that fails is logged and the next still runs. A handler is a function of a
dozen lines that calls a service; debouncing is its own policy (``services.debounce``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from app.domain.protocol_rules import OcppVersion
from app.events import EventType
from app.services.container import Services
from app.services.messages import (
    AllCircuitsDue,
    ChargingStateChanged,
    CircuitChanged,
    CircuitsDue,
    DesiredChanged,
    EvScheduleRejected,
    ExternalLimitChanged,
    JobRequested,
    LiveEvent,
    Message,
    NeedsChanged,
    SessionMetered,
    StationAdmitted,
    StationBooted,
    StationChanged,
    StationRegistered,
    StationReleased,
    StationsAdmitted,
    StationsBooted,
    StationsLeftCircuit,
    TransactionEventsMissing,
    TransactionReported,
    TransactionStarted,
    TransactionStopped,
)
from app.services.ports import StationCallError
from jobs.reconcile import JOBS, after_boot

log = logging.getLogger("chargeplan.reactions")

Reaction = Callable[[Services, Any], Awaitable[None]]

# Fields of a station whose change re-plans its circuit.
_CIRCUIT_FIELDS = frozenset({"circuit_id", "phase_rotation", "max_current_a"})


# --- stations --------------------------------------------------------------------------
async def read_configuration_and_reconcile(services: Services, m: StationBooted) -> None:
    """Read the station's configuration (its smart-charging limits) and have its profiles
    delivered and verified soon, for a charger that rebooted may have lost them (OCPP 1.6
    does not say it keeps them). An unmanaged station (PATCH /stations/{id}
    {"managed": false}) gets nothing, not even the read."""
    if not await services.stations.is_managed(m.station_id):
        return
    if services.settings.read_configuration_on_boot:
        await services.commands.read_configuration(m.station_id)
    if services.settings.scheduler_enabled:
        services.debounce.boots.add(m.station_id)


async def read_device_model(services: Services, m: StationBooted) -> None:
    """A 2.0.1 station with no base report yet is asked for one (GetBaseReport
    FullInventory), so its smart-charging capabilities are known; once, not every boot."""
    if (m.ocpp_version is OcppVersion.V201 and services.settings.read_configuration_on_boot
            and await services.stations.is_managed(m.station_id)):
        await services.commands_v201.base_report_after_boot(m.station_id)


async def reconcile_booted(services: Services, m: StationsBooted) -> None:
    await after_boot(services, m.station_ids)


async def apply_plans_and_tariffs(services: Services,
                                  m: StationRegistered | StationChanged) -> None:
    """Plans and tariffs that name the station or one of its tags apply from now on."""
    if isinstance(m, StationChanged) and "tags" not in m.fields:
        return
    await services.plans.sync_station(m.station_id)
    await services.tariffs.sync_station(m.station_id)


async def apply_plans_and_tariffs_soon(services: Services, m: StationAdmitted) -> None:
    services.debounce.admitted.add(m.station_id)


async def apply_plans_and_tariffs_to_all(services: Services, m: StationsAdmitted) -> None:
    await services.plans.sync_stations(m.station_ids)
    await services.tariffs.sync_stations(m.station_ids)


async def replan_if_circuit_fields(services: Services, m: StationChanged) -> None:
    if _CIRCUIT_FIELDS & m.fields:
        services.debounce.replans.add(m.station_id)  # its sessions re-planned


async def release_if_moved(services: Services, m: StationChanged) -> None:
    if "circuit_id" in m.fields:
        services.bus.publish(StationsLeftCircuit((m.station_id,)))


async def reconcile_if_managed_again(services: Services, m: StationChanged) -> None:
    if m.managed_again:
        # Managed again: deliver what was kept back meanwhile.
        services.scheduler.request_reconcile([m.station_id], "managed")


async def reconcile_reported(services: Services, m: TransactionReported) -> None:
    """A transaction its station still runs after its boot gets what waited for that
    report (its TxProfile: app.services.delivery.delivery_rules.runs_after_boot)."""
    services.scheduler.request_reconcile([m.station_id], "transaction")


async def ask_transaction_status(services: Services, m: TransactionEventsMissing) -> None:
    """Events of a transaction that ended were not heard: the station is asked whether it
    still queues messages of it (OCPP 2.0.1 E14, GetTransactionStatus). Queued, they come
    as it delivers them (each stored once it does); not queued, they are lost, which is
    logged with their seqNos."""
    try:
        answer = await services.gateway.call(m.station_id, "GetTransactionStatus",
                                             {"transactionId": m.remote_id})
    except StationCallError as exc:
        log.info("%s: status of transaction %s not known (%s); seqNo %s not heard",
                 m.station_id, m.transaction_id, exc.reason, list(m.missing))
        return
    if answer.get("messagesInQueue"):
        log.info("%s: transaction %s ended with seqNo %s still queued on the station",
                 m.station_id, m.transaction_id, list(m.missing))
    else:
        log.warning("%s: transaction %s ended without seqNo %s, and the station queues none "
                    "of it: those events are lost", m.station_id, m.transaction_id,
                    list(m.missing))


async def boot_again(services: Services, m: StationReleased) -> None:
    """A released station connected here is asked to boot again now instead of after its
    Pending interval (OCPP 1.6 §4.2: not earlier unless a TriggerMessage asks; B02)."""
    if await services.gateway.reachable(m.station_id):
        await services.gateway.call(m.station_id, "TriggerMessage",
                                    {"requestedMessage": "BootNotification"})


# --- charging sessions ----------------------------------------------------------------
async def notify_started(services: Services, m: TransactionStarted) -> None:
    services.events.emit(EventType.TRANSACTION_STARTED, station_id=m.station_id,
                         connector_id=m.connector_id, transaction_id=m.transaction_id,
                         id_tag=m.id_tag, status=m.status, meter_start=m.meter_start)


async def link_remote_start(services: Services, m: TransactionStarted) -> None:
    if m.status == "Accepted":
        await services.remote_starts.transaction_started(m.station_id, m.connector_id,
                                                          m.id_tag, m.transaction_id)


async def use_reservation(services: Services, m: TransactionStarted) -> None:
    # OCPP 1.6 §5.13 (StartTransaction.req reservationId), 2.0.1 TransactionEvent
    # reservationId: the reservation the transaction ends, whatever its authorization.
    if m.reservation_id is not None:
        await services.commands.reservation_ended(m.station_id, m.reservation_id, "Used")


async def drop_superseded_tx_profiles(services: Services, m: TransactionStarted) -> None:
    if m.superseded:
        await services.smart_charging.transactions_ended(m.station_id, m.superseded)


async def drop_tx_profile(services: Services, m: TransactionStopped) -> None:
    await services.smart_charging.transactions_ended(m.station_id, [m.transaction_id])


async def notify_stopped(services: Services, m: TransactionStopped) -> None:
    services.events.emit(EventType.TRANSACTION_STOPPED, station_id=m.station_id,
                         connector_id=m.connector_id, transaction_id=m.transaction_id,
                         meter_stop=m.meter_stop, reason=m.reason)


async def replan_soon(services: Services,
                      m: TransactionStarted | TransactionStopped | ChargingStateChanged
                      ) -> None:
    """The station's circuit tree is re-planned soon: happenings of a tree are collected
    for ``circuit_debounce_s`` into one re-plan."""
    services.debounce.replans.add(m.station_id)


async def replan_metered_soon(services: Services, m: SessionMetered) -> None:
    """What a charging car draws decides its unused capacity and whether its charger
    keeps to its limit: its tree is re-planned, at most once in
    ``circuit_meter_replan_s`` (samples come every few seconds)."""
    services.debounce.meter_replans.add(m.station_id)


async def replan_for_needs(services: Services, m: NeedsChanged) -> None:
    """A need changes the plan of the session's whole tree: re-planned now."""
    await services.load.replan_stations((m.station_id,), "needs changed")


async def offer_to_car(services: Services, m: NeedsChanged) -> None:
    """The car's needs were answered Accepted: the schedule chargeplan can provide goes
    out now, as a TxProfile for its transaction (OCPP 2.0.1 K15.FR.03, K17.FR.03), once
    the circuit's re-plan has had its say."""
    if m.by_car:
        done = await services.ev_schedules.offer(m.station_id, m.transaction_id)
        log.info("%s: car's needs for transaction %s: %s", m.station_id, m.transaction_id,
                 done)


async def renegotiate(services: Services, m: EvScheduleRejected) -> None:
    """A car chose above what its session allows: its TxProfile goes out again, and the
    station renegotiates with the car (OCPP 2.0.1 K15.FR.13, K16.FR.08, K17.FR.13)."""
    await services.ev_schedules.renegotiate(m.station_id, m.transaction_id, m.schedule_id)


async def replan_limited_soon(services: Services, m: ExternalLimitChanged) -> None:
    """A limit set outside chargeplan caps the station's sessions: its tree is re-planned
    soon, collected with the tree's other happenings."""
    services.debounce.replans.add(m.station_id)


# --- desired state ---------------------------------------------------------------------
async def replan_capped_soon(services: Services, m: DesiredChanged) -> None:
    """What a plan, a tariff or a manual profile allows caps a circuit's session."""
    for station_id in m.station_ids:
        services.debounce.replans.add(station_id)


# --- circuits --------------------------------------------------------------------------
async def replan_circuit(services: Services, m: CircuitChanged) -> None:
    await services.load.replan(m.circuit_id, "circuit changed")


async def release_stations(services: Services, m: StationsLeftCircuit) -> None:
    """Drop the limits the circuit set on them and clear them from the chargers."""
    await services.load.release(m.station_ids)


async def replan_circuits(services: Services, m: CircuitsDue) -> None:
    await services.load.replan_stations(m.station_ids, m.trigger)


async def replan_all_circuits(services: Services, m: AllCircuitsDue) -> None:
    """Limits follow the clock's windows, leases are renewed; one node at a time does it
    for the fleet."""
    await services.peers.once("circuits", lambda: services.load.replan_all(m.trigger))


# --- live events for users ---------------------------------------------------------------
async def hand_out(services: Services, m: LiveEvent) -> None:
    """SSE and WebSocket listeners, webhooks and the relay to other nodes subscribe here."""
    services.events.hand_out(m.event)


# --- jobs ------------------------------------------------------------------------------
async def run_job(services: Services, m: JobRequested) -> None:
    """Run the job here for the stations this process holds and, unless told not to, ask
    the nodes holding the others (on one PostgreSQL) to run it for theirs, at once."""
    ids = None if m.station_ids is None else list(m.station_ids)
    here = JOBS[m.job](services, ids, m.trigger)
    elsewhere = None if ids is None else [
        s for s in ids if not services.gateway.is_connected(s)]
    if not m.elsewhere or elsewhere == []:
        await here
        return
    outcomes = await asyncio.gather(
        here, services.peers.run_elsewhere(m.job, elsewhere, m.trigger),
        return_exceptions=True)
    for where, outcome in zip(("here", "elsewhere"), outcomes, strict=True):
        if isinstance(outcome, Exception):
            log.error("%s (%s) %s failed", m.job, m.trigger, where, exc_info=outcome)


REACTIONS: Mapping[type[Message], Sequence[Reaction]] = {
    StationBooted: [read_configuration_and_reconcile, read_device_model],
    StationsBooted: [reconcile_booted],
    StationRegistered: [apply_plans_and_tariffs],
    StationAdmitted: [apply_plans_and_tariffs_soon],
    StationsAdmitted: [apply_plans_and_tariffs_to_all],
    StationChanged: [replan_if_circuit_fields, release_if_moved, apply_plans_and_tariffs,
                     reconcile_if_managed_again],
    StationReleased: [boot_again],
    TransactionStarted: [notify_started, link_remote_start, use_reservation,
                         drop_superseded_tx_profiles, replan_soon],
    TransactionStopped: [drop_tx_profile, replan_soon, notify_stopped],
    TransactionReported: [reconcile_reported],
    TransactionEventsMissing: [ask_transaction_status],
    ChargingStateChanged: [replan_soon],
    SessionMetered: [replan_metered_soon],
    NeedsChanged: [replan_for_needs, offer_to_car],
    EvScheduleRejected: [renegotiate],
    ExternalLimitChanged: [replan_limited_soon],
    DesiredChanged: [replan_capped_soon],
    CircuitChanged: [replan_circuit],
    StationsLeftCircuit: [release_stations],
    CircuitsDue: [replan_circuits],
    AllCircuitsDue: [replan_all_circuits],
    JobRequested: [run_job],
    LiveEvent: [hand_out],
}
