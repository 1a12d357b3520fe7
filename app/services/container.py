"""Every service of one running server, built once by the lifespan and shared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.events import EventBus
from app.services.api_keys import ApiKeyService, RestAuditService
from app.services.circuits import CircuitService
from app.services.commands import CommandService
from app.services.device_model import DeviceModelService
from app.services.ev_needs import EvNeedService
from app.services.external_limits import ExternalLimitService
from app.services.id_tags import IdTagService
from app.services.job_runs import JobRunService
from app.services.leases import LeaseService
from app.services.load_management import LoadManager
from app.services.needs import NeedService
from app.services.nodes import NodeService
from app.services.plans import PlanService
from app.services.ports import ChargerGateway, JobScheduler, NoPeers, Peers
from app.services.remote_transactions import RemoteTransactions
from app.services.security_events import SecurityEvents
from app.services.smart_charging import SmartChargingService
from app.services.station_security import StationSecurityService
from app.services.stations import StationService
from app.services.tariffs import TariffService
from app.services.transactions import TransactionService
from app.services.verification import VerificationService
from app.services.webhooks import WebhookService
from app.settings import Settings


@dataclass
class ServerStatus:
    """Live figures of this process that are not in the database."""

    ocpp_listening: bool = False
    ocpp_port: int | None = None
    ocpp_tls_port: int | None = None
    connected_stations: Callable[[], int] = lambda: 0
    audit_queue_depth: Callable[[], int] = lambda: 0
    audit_rows_written: Callable[[], int] = lambda: 0
    # Websocket handshakes accepted whose authentication is not decided yet.
    handshakes_in_progress: Callable[[], int] = lambda: 0
    # Why the batched writers (audit trail, meter values) are not keeping up; empty if they are.
    writer_problems: Callable[[], list[str]] = list
    # Why this node does not take part as it should (database lost, LISTEN connection
    # down); empty when it does.
    node_problems: Callable[[], list[str]] = list
    # False while the database is out of reach: other nodes may have taken this node's
    # stations meanwhile, so it leaves them alone until it is back.
    acting: Callable[[], bool] = lambda: True
    # (side, outcome) -> count of requests between nodes: "routed" calls this node sent to
    # a station's owner by outcome, "served" requests it carried out for others by kind.
    node_requests: Callable[[], dict[tuple[str, str], int]] = dict
    # Events between nodes: "published" (this node's, for the others), "received" (the
    # others'), "lost" (not published: the outbox overflowed or the database failed).
    node_events: Callable[[], dict[str, int]] = dict
    # A listener of another node wants this node's events now.
    events_wanted_elsewhere: Callable[[], bool] = lambda: False
    # (action, outcome) -> count of server-initiated calls.
    call_counts: Callable[[], dict[tuple[str, str], int]] = dict


@dataclass
class Services:
    settings: Settings
    db: Database
    stations: StationService
    id_tags: IdTagService
    transactions: TransactionService
    gateway: ChargerGateway
    smart_charging: SmartChargingService
    job_runs: JobRunService
    leases: LeaseService
    security_events: SecurityEvents
    verification: VerificationService
    needs: NeedService
    # Set by app.main right after construction: it is built from the services above.
    commands: CommandService = field(init=False)
    scheduler: JobScheduler = field(init=False)
    plans: PlanService = field(init=False)
    tariffs: TariffService = field(init=False)
    station_security: StationSecurityService = field(init=False)
    api_keys: ApiKeyService = field(init=False)
    rest_audit: RestAuditService = field(init=False)
    circuits: CircuitService = field(init=False)
    load: LoadManager = field(init=False)
    nodes: NodeService = field(init=False)
    status: ServerStatus = field(default_factory=ServerStatus)
    clock: Clock = utcnow
    events: EventBus = field(default_factory=EventBus)
    webhooks: WebhookService = field(init=False)
    # The other nodes on the same PostgreSQL (app.cluster); none on SQLite.
    peers: Peers = field(default_factory=NoPeers)
    # What OCPP 2.0.1 stations report beyond 1.6: their device model, limits set
    # outside chargeplan.
    device_model: DeviceModelService = field(init=False)
    external_limits: ExternalLimitService = field(init=False)
    remote_transactions: RemoteTransactions = field(init=False)
    ev_needs: EvNeedService = field(init=False)
