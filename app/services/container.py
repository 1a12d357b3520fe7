"""Every service of one running server, built once by ``app.bootstrap`` and shared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.clock import Clock
from app.db.engine import Database
from app.events import EventBus
from app.services.debounce import Debounce
from app.services.delivery.ev_schedules import EvScheduleService
from app.services.delivery.smart_charging import SmartChargingService
from app.services.delivery.verification import VerificationService
from app.services.fleet.commands import CommandService
from app.services.fleet.commands_v201 import Commands201
from app.services.fleet.device_model import DeviceModelService
from app.services.fleet.id_tags import IdTagService
from app.services.fleet.job_runs import JobRunService
from app.services.fleet.leases import LeaseService
from app.services.fleet.nodes import NodeService
from app.services.fleet.remote_start import RemoteStartService
from app.services.fleet.remote_transactions import RemoteTransactions
from app.services.fleet.stations import StationService
from app.services.fleet.transactions import TransactionService
from app.services.load.circuits import CircuitService
from app.services.load.ev_needs import EvNeedService
from app.services.load.external_limits import ExternalLimitService
from app.services.load.load_management import LoadManager
from app.services.load.needs import NeedService
from app.services.messagebus import Publisher
from app.services.messages import CircuitsDue, StationsAdmitted, StationsBooted
from app.services.ports import ChargerGateway, Peers
from app.services.schedules.plans import PlanService
from app.services.schedules.ports import JobScheduler
from app.services.schedules.tariffs import TariffService
from app.services.security.api_keys import ApiKeyService, RestAuditService
from app.services.security.security_events import SecurityEvents
from app.services.security.station_security import StationSecurityService
from app.services.webhooks import WebhookService
from app.settings import Settings
from app.tasks import TaskOwner

# Boots and first connections are collected this long and handled together.
BATCH_WINDOW_S = 0.05


@dataclass
class ServerStatus:
    """Live figures of this process that are not in the database: each read from the part
    that keeps it, given at construction."""

    connected_stations: Callable[[], int]
    audit_queue_depth: Callable[[], int]
    audit_rows_written: Callable[[], int]
    # Why the batched writers (audit trail, meter values) are not keeping up; empty if they are.
    writer_problems: Callable[[], list[str]]
    # (action, outcome) -> count of server-initiated calls.
    call_counts: Callable[[], dict[tuple[str, str], int]]
    # Why this node does not take part as it should (database lost, LISTEN connection
    # down); empty when it does.
    node_problems: Callable[[], list[str]]
    # False while the database is out of reach: other nodes may have taken this node's
    # stations meanwhile, so it leaves them alone until it is back.
    acting: Callable[[], bool]
    # (side, outcome) -> count of requests between nodes: "routed" calls this node sent to
    # a station's owner by outcome, "served" requests it carried out for others by kind.
    node_requests: Callable[[], dict[tuple[str, str], int]] = dict
    # Events between nodes: "published" (this node's, for the others), "received" (the
    # others'), "lost" (not published: the outbox overflowed or the database failed).
    node_events: Callable[[], dict[str, int]] = dict
    # A listener of another node wants this node's events now.
    events_wanted_elsewhere: Callable[[], bool] = lambda: False
    # The OCPP listener's state: set by :meth:`listening` once its ports are bound.
    ocpp_listening: bool = False
    ocpp_port: int | None = None
    ocpp_tls_port: int | None = None
    # Websocket handshakes accepted whose authentication is not decided yet.
    handshakes_in_progress: Callable[[], int] = lambda: 0

    def listening(self, port: int | None, tls_port: int | None,
                  handshakes: Callable[[], int]) -> None:
        """The OCPP listener is open on these ports (known once they are bound)."""
        self.ocpp_listening = True
        self.ocpp_port = port
        self.ocpp_tls_port = tls_port
        self.handshakes_in_progress = handshakes


@dataclass(frozen=True)
class Debounces:
    """The happenings collected for a short window before they are handled together (the
    reactions of ``app/reactions.py`` add to them)."""

    # Boots and first connections: a reconnect storm costs one query per batch.
    boots: Debounce
    admitted: Debounce
    # Sessions that start, stop, pause or change what caps them re-plan their circuit tree.
    replans: Debounce
    # Sessions' meter samples re-plan it too, collected for longer: they come every few
    # seconds.
    meter_replans: Debounce

    @classmethod
    def of(cls, bus: Publisher, settings: Settings) -> Debounces:
        return cls(
            boots=Debounce(bus, BATCH_WINDOW_S, StationsBooted),
            admitted=Debounce(bus, BATCH_WINDOW_S, StationsAdmitted),
            replans=Debounce(bus, settings.circuit_debounce_s,
                             lambda ids: CircuitsDue(ids, "transaction")),
            meter_replans=Debounce(bus, settings.circuit_meter_replan_s,
                                   lambda ids: CircuitsDue(ids, "meter")))

    def cancel(self) -> None:
        for debounce in (self.boots, self.admitted, self.replans, self.meter_replans):
            debounce.cancel()


@dataclass
class Services:
    """Built complete, once, by ``app.bootstrap.bootstrap``: every field is given there."""

    settings: Settings
    clock: Clock
    db: Database
    # Where happenings are published; the message bus hands them to ``app/reactions.py``.
    bus: Publisher
    # The tasks the bus and the scheduler start, cancelled at shutdown.
    tasks: TaskOwner
    debounce: Debounces
    events: EventBus
    gateway: ChargerGateway
    # The other nodes on the same PostgreSQL (app.cluster); none on SQLite.
    peers: Peers
    status: ServerStatus
    nodes: NodeService
    stations: StationService
    id_tags: IdTagService
    needs: NeedService
    remote_starts: RemoteStartService
    smart_charging: SmartChargingService
    transactions: TransactionService
    job_runs: JobRunService
    leases: LeaseService
    security_events: SecurityEvents
    verification: VerificationService
    api_keys: ApiKeyService
    rest_audit: RestAuditService
    station_security: StationSecurityService
    commands: CommandService
    scheduler: JobScheduler
    plans: PlanService
    tariffs: TariffService
    circuits: CircuitService
    load: LoadManager
    webhooks: WebhookService
    # What OCPP 2.0.1 stations report beyond 1.6: their device model, limits set outside
    # chargeplan, string transaction ids and the car's own needs.
    device_model: DeviceModelService
    # Commands only 2.0.1 has.
    commands_v201: Commands201
    external_limits: ExternalLimitService
    remote_transactions: RemoteTransactions
    ev_needs: EvNeedService
    # The schedules cars choose, checked against what their sessions were sent.
    ev_schedules: EvScheduleService
