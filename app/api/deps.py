"""Dependencies the controllers receive: the server's services, built once by the lifespan."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from app.services.container import Services
from app.services.fleet.audit_log import AuditLogService

# Handler parameters marked as named dependencies (Litestar stops inferring them in 3.0).
ServicesDep = NamedDependency[Services]
AuditLogDep = NamedDependency[AuditLogService]


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


def provide_audit_log(services: ServicesDep) -> AuditLogService:
    # Stateless over the shared Database: cheap to build per request.
    return AuditLogService(services.db, page_max_bytes=services.settings.audit_page_max_bytes)


dependencies = {
    "services": Provide(provide_services, sync_to_thread=False),
    "audit_log": Provide(provide_audit_log, sync_to_thread=False),
}
