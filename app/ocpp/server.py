"""The OCPP 1.6J websocket listener: admission before the upgrade, then one connection.

Stations connect at ``ws://HOST:PORT/<station_id>`` or ``/ocpp/<station_id>``. Before
the websocket opens (so a refused client never gets a socket):
- subprotocol ``ocpp1.6`` must be offered (OCPP-J 1.6 §3.1.2), else 400;
- the station must be known (or admitted by setting), else 404;
- when it has a password, HTTP Basic with user = station id (OCPP security profile 1),
  else 401; repeated failures per station and per address are throttled with 429.
Only then does a new connection replace an existing one for the same station: an
unauthenticated newcomer never displaces the real charger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHeader
from websockets.headers import parse_authorization_basic
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from app.db.security_models import SecurityEventKind
from app.domain.station_ids import RULE as STATION_ID_RULE
from app.domain.station_ids import is_valid_station_id
from app.ocpp.batch_writer import BatchWriter
from app.ocpp.connection import ConnectionLimits, StationConnection, remote_host
from app.ocpp.ratelimit import WindowCounter
from app.ocpp.registry import ConnectionRegistry
from app.ocpp.router import Router
from app.services.container import Services
from app.services.stations import Admission

log = logging.getLogger("chargeplan.ocpp")
SUBPROTOCOL = "ocpp1.6"
# Failed authentications tolerated per station and per address in the window.
AUTH_FAILURES_ALLOWED = 5
AUTH_WINDOW_S = 60.0


def path_segment(path: str) -> str | None:
    """The one segment after ``/`` or ``/ocpp/``, percent-decoded; None for another shape."""
    parts = [unquote(p) for p in urlsplit(path).path.split("/") if p]
    if len(parts) == 2 and parts[0] == "ocpp":
        parts = parts[1:]
    return parts[0] if len(parts) == 1 else None


def station_id_from_path(path: str) -> str | None:
    segment = path_segment(path)
    return segment if segment is not None and is_valid_station_id(segment) else None


def offered_subprotocols(headers: Headers) -> list[str]:
    return [p.strip() for value in headers.get_all("Sec-WebSocket-Protocol")
            for p in value.split(",") if p.strip()]


class AuthThrottle:
    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        for key in keys:
            window = self._failures.get(key)
            if window is None:
                continue
            while window and now - window[0] > AUTH_WINDOW_S:
                window.popleft()
            if len(window) >= AUTH_FAILURES_ALLOWED:
                return True
        return False

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._failures[key].append(now)


class OcppServer:
    def __init__(self, services: Services, router: Router, registry: ConnectionRegistry,
                 audit: BatchWriter) -> None:
        self._services = services
        self._settings = services.settings
        self._router = router
        self._registry = registry
        self._audit = audit
        self._throttle = AuthThrottle()
        self._limits = ConnectionLimits(
            rate_per_s=self._settings.inbound_rate_per_s, burst=self._settings.inbound_burst,
            raw_max_bytes=self._settings.audit_raw_max_bytes)
        # Malformed frames per station over the last minute, kept across its reconnections.
        self._malformed: dict[str, WindowCounter] = {}
        # Stations registered by their first connection: plans and tariffs that target
        # them (by id) are materialised once they are connected.
        self._new_stations: set[str] = set()
        self._server: Server | None = None
        self.port: int | None = None

    async def start(self) -> None:
        settings = self._settings
        self._server = await serve(
            self._handle,
            settings.ocpp_host,
            settings.ocpp_port,
            process_request=self._process_request,
            select_subprotocol=_select_subprotocol,
            max_size=settings.max_frame_bytes,
            compression="deflate" if settings.ws_compression else None,
            ping_interval=settings.ws_ping_interval_s,
            ping_timeout=settings.ws_ping_interval_s,
            server_header="chargeplan",
        )
        sockets = list(self._server.sockets)
        self.port = sockets[0].getsockname()[1] if sockets else None
        log.info("OCPP 1.6J listening on ws://%s:%s/<station_id>", settings.ocpp_host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close(close_connections=True)
        await self._server.wait_closed()

    async def _process_request(self, connection: ServerConnection,
                               request: Request) -> Response | None:
        station_id = path_segment(request.path)
        if station_id is None:
            return connection.respond(
                HTTPStatus.NOT_FOUND,
                "connect at /<station_id> or /ocpp/<station_id> (one URL-safe path segment)\n")
        if not is_valid_station_id(station_id):
            self._services.security_events.record(
                SecurityEventKind.INVALID_STATION_ID, remote_address=remote_host(connection),
                detail={"station_id": station_id[:100]}, coalesce=True)
            return connection.respond(HTTPStatus.BAD_REQUEST,
                                      f"invalid station id: {STATION_ID_RULE}\n")
        if SUBPROTOCOL not in offered_subprotocols(request.headers):
            return connection.respond(
                HTTPStatus.BAD_REQUEST,
                f"subprotocol {SUBPROTOCOL} required: send Sec-WebSocket-Protocol: "
                f"{SUBPROTOCOL}\n")
        address = _address(connection)
        if self._throttle.blocked(f"station:{station_id}", f"addr:{address}"):
            return connection.respond(HTTPStatus.TOO_MANY_REQUESTS,
                                      "too many failed authentications; try again later\n")
        credentials = None
        header = request.headers.get("Authorization")
        if header is not None:
            try:
                credentials = parse_authorization_basic(header)
            except InvalidHeader:
                credentials = ("", "")
        admission = await self._services.stations.admit(station_id, credentials)
        if admission is Admission.ADMITTED_NEW:
            self._new_stations.add(station_id)
            return None
        if admission is Admission.ACCEPTED:
            return None
        if admission is Admission.UNKNOWN_STATION:
            log.warning("refused unknown station %s from %s", station_id, address)
            return connection.respond(HTTPStatus.NOT_FOUND,
                                      f"unknown station {station_id}: register it first\n")
        self._throttle.fail(f"station:{station_id}", f"addr:{address}")
        self._services.security_events.record(
            SecurityEventKind.AUTH_FAILED, station_id=station_id,
            remote_address=remote_host(connection), detail={"reason": admission.value},
            coalesce=True)
        log.warning("refused %s from %s: %s", station_id, address, admission.value)
        response = connection.respond(HTTPStatus.UNAUTHORIZED,
                                      "HTTP Basic credentials required or wrong "
                                      "(user = station id)\n")
        response.headers["WWW-Authenticate"] = 'Basic realm="chargeplan", charset="UTF-8"'
        return response

    async def _handle(self, ws: ServerConnection) -> None:
        station_id = station_id_from_path(ws.request.path if ws.request else "")
        if station_id is None:  # process_request refused it already
            return
        services = self._services
        malformed = self._malformed.get(station_id)
        if malformed is None:
            malformed = WindowCounter(self._settings.malformed_frames_per_minute)
            self._malformed[station_id] = malformed
        connection = StationConnection(
            station_id, ws, router=self._router, audit_sink=self._audit.put,
            clock=services.clock, call_timeout=self._settings.call_timeout_s,
            limits=self._limits, malformed=malformed, security_events=services.security_events,
        )
        old = self._registry.replace(connection)
        if old is not None:
            log.info("%s reconnected: closing its previous connection", station_id)
            await old.close(1000, "replaced by a new connection of the same station")
        await services.stations.connected(station_id, self._settings.node_id, _address(ws))
        log.info("%s connected from %s", station_id, _address(ws))
        if station_id in self._new_stations:
            self._new_stations.discard(station_id)
            services.scheduler.station_registered(station_id)
        try:
            await connection.serve()
        finally:
            if malformed.idle() and self._malformed.get(station_id) is malformed:
                del self._malformed[station_id]
            if self._registry.remove(connection):
                await asyncio.shield(services.stations.disconnected(
                    station_id, self._settings.node_id, services.clock()))
            log.info("%s disconnected (%s)", station_id, ws.close_code)


def _select_subprotocol(_connection: ServerConnection,
                        offered: Sequence[Subprotocol]) -> Subprotocol | None:
    # process_request has refused clients that do not offer ocpp1.6 already.
    return Subprotocol(SUBPROTOCOL) if SUBPROTOCOL in offered else None


def _address(connection: ServerConnection) -> str:
    remote: Any = connection.remote_address
    if isinstance(remote, tuple) and remote:
        return f"{remote[0]}:{remote[1]}"
    return str(remote)
